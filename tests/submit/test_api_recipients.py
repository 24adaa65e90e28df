"""GET /api/v1/recipients: the keys a browser wraps a new report's keys to."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

import crypto
from crypto.encoding import b64u_decode, b64u_encode
from store.models import Inspector, Unit
from tests.submit.test_api_support import Api, api, openapi_checked
from tests.worlds import World

__all__ = ["api", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")


def test_recipients_are_the_active_readers_with_fingerprints_and_the_escrow_key(
    api: Api, session: Session, world: World
) -> None:
    world.people["minh"].active = False
    session.commit()
    body = api.client.get("/api/v1/recipients").get_json()
    assert body["unit"] == world.unit.slug
    # Supervisors and admins read no reports; an inactive inspector gets no new ones.
    assert [(r["id"], r["role"]) for r in body["readers"]] == [
        (world.people["lan"].id, "inspector"),
        (world.people["hoa"].id, "custodian"),
    ]
    for reader in body["readers"]:
        person = session.get(Inspector, reader["id"])
        assert person is not None
        assert b64u_decode(reader["public_key"]) == person.public_key
        assert reader["fingerprint"] == crypto.fingerprint(person.public_key)
        assert reader["display_name"] == person.display_name
    escrow = crypto.public_bytes(world.escrow)
    assert body["escrow"] == {
        "public_key": b64u_encode(escrow),
        "fingerprint": crypto.fingerprint(escrow),
    }


def test_a_unit_without_escrow_says_null(api: Api, session: Session, world: World) -> None:
    world.unit.escrow_public_key = None
    session.commit()
    assert api.client.get("/api/v1/recipients").get_json()["escrow"] is None


def test_no_unit_set_up_is_a_clear_503(api: Api, session: Session, world: World) -> None:
    session.add(
        Unit(slug="second", name="Second", profile="vn-denunciation-2018", categories=["land"])
    )
    session.commit()  # two units and none configured: the app cannot tell which one
    response = api.client.get("/api/v1/recipients")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "no_unit"
