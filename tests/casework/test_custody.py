"""Opening a named report's identity section (casework.custody): custodians only, with a
reason, through the one wrap each of them holds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

import crypto
from casework import access, custody
from casework.custody import CustodyError, NoIdentityAccess
from store.models import RecipientKind, WrapPurpose
from tests.casework.test_access import SealedCase, seal_case
from tests.store.factories import add_inspector
from tests.worlds import World

IDENTITY: dict[str, Any] = {
    "schema": 1,
    "name": "Lê Thị Canary-Name",
    "contact": "0909 000 111",
    "address": "",  # left empty: not shown
    "position": "Kế toán, Sở Tài chính",
    "notes": "Gọi sau 18 giờ\nkhông gọi giờ hành chính",
    "favourite_colour": "unknown keys are ignored",
}
REASON = "  Cần liên hệ người tố cáo để bố trí biện pháp bảo vệ.  "


@pytest.fixture
def named(session: Session, world: World, fast_argon2: crypto.Argon2Params) -> SealedCase:
    return seal_case(session, world, fast_argon2, identity=IDENTITY)


def test_a_custodian_with_a_reason_opens_the_identity(world: World, named: SealedCase) -> None:
    hoa = world.people["hoa"]
    reason, opened = custody.open_identity(named.case, hoa, world.key_of("hoa"), REASON)
    assert reason == REASON.strip()
    assert opened.fields == (
        ("name", "Lê Thị Canary-Name"),
        ("contact", "0909 000 111"),
        ("position", "Kế toán, Sở Tài chính"),
        ("notes", "Gọi sau 18 giờ\nkhông gọi giờ hành chính"),
    )
    assert opened.as_dict()["name"] == "Lê Thị Canary-Name"


@pytest.mark.parametrize("who", ["lan", "minh", "son", "admin"])
def test_nobody_but_a_custodian_holds_or_opens_it(
    world: World, named: SealedCase, who: str
) -> None:
    person = world.people[who]
    assert access.identity_wrap(named.case, person.id) is None
    assert not custody.may_open(named.case, person)
    with pytest.raises(NoIdentityAccess):
        custody.open_identity(named.case, person, world.key_of(who), REASON)


def test_only_custodians_got_identity_wraps(world: World, named: SealedCase) -> None:
    holders = {
        wrap.inspector_id
        for wrap in named.case.key_wraps
        if wrap.purpose is WrapPurpose.IDENTITY_KEY
        and wrap.recipient_kind is RecipientKind.INSPECTOR
    }
    assert holders == {world.people["hoa"].id}


def test_a_wrong_private_key_or_a_deactivated_custodian_opens_nothing(
    session: Session, world: World, named: SealedCase
) -> None:
    hoa = world.people["hoa"]
    with pytest.raises(NoIdentityAccess):
        custody.open_identity(named.case, hoa, world.key_of("lan"), REASON)
    hoa.active = False
    with pytest.raises(NoIdentityAccess):
        custody.open_identity(named.case, hoa, world.key_of("hoa"), REASON)


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("", "no_reason"),
        ("   \n\t ", "no_reason"),
        ("too short", "short_reason"),  # 9 characters
        ("x" * 501, "long_reason"),
    ],
)
def test_a_missing_or_improper_reason_is_refused_before_any_key_is_used(
    world: World, named: SealedCase, reason: str, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_unwrap(*args: object) -> bytes:
        raise AssertionError("a key was unwrapped without a proper reason")

    monkeypatch.setattr(crypto, "unwrap", no_unwrap)
    with pytest.raises(CustodyError) as refused:
        custody.open_identity(named.case, world.people["hoa"], world.key_of("hoa"), reason)
    assert refused.value.code == code


def test_reason_limits_are_inclusive() -> None:
    assert custody.check_reason(" " + "x" * 10 + " ") == "x" * 10
    assert custody.check_reason("x" * 500) == "x" * 500


def test_an_anonymous_case_has_no_identity(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    anonymous = seal_case(session, world, fast_argon2)
    assert not custody.has_identity(anonymous.case)
    with pytest.raises(CustodyError) as refused:
        custody.open_identity(anonymous.case, world.people["hoa"], world.key_of("hoa"), REASON)
    assert refused.value.code == "no_identity"


def test_a_custodian_excluded_by_the_reporter_holds_no_wrap(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    hoa = world.people["hoa"]
    # A second custodian, so that the identity still has a reader in the unit.
    other = add_inspector(session, world.unit, "mai.thanh-tra-tinh", hoa.role)
    other_key = crypto.generate_private_key()
    other.public_key = crypto.public_bytes(other_key)
    session.commit()
    case = seal_case(
        session, world, fast_argon2, identity=IDENTITY, excluded=frozenset({hoa.id})
    ).case
    with pytest.raises(NoIdentityAccess):
        custody.open_identity(case, hoa, world.key_of("hoa"), REASON)
    _reason, opened = custody.open_identity(case, other, other_key, REASON)
    assert opened.as_dict()["name"] == IDENTITY["name"]


def test_a_tampered_identity_record_is_unreadable(
    session: Session, world: World, named: SealedCase
) -> None:
    assert named.case.identity is not None
    named.case.identity = named.case.identity[:-1] + bytes([named.case.identity[-1] ^ 1])
    with pytest.raises(CustodyError) as refused:
        custody.open_identity(named.case, world.people["hoa"], world.key_of("hoa"), REASON)
    assert refused.value.code == "unreadable"
