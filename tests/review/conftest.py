"""A review app on a migrated SQLite copy, with accounts that really open.

``tests.worlds`` gives every person a real key pair; here each also gets a passphrase
that unseals it (cheap Argon2id) and a TOTP secret, as enrolment would. Pages are in
English so that assertions on text do not depend on the Vietnamese catalogue.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from casework import access, transfer, workflow
from casework.profiles import Profile
from casework.records import Sealer
from casework.settings import Settings
from crypto import Argon2Params
from crypto.keyring import seal_with_passphrase
from review import auth, create_app
from store.models import Case
from tests.casework.test_access import SealedCase
from tests.conftest import settings_for
from tests.worlds import World, build_world

TEST_ENV = {
    "MINHBACH_PASSPHRASE_ARGON2": "1,8",
    "MINHBACH_CODE_ARGON2": "1,8",
    "MINHBACH_DEFAULT_LANGUAGE": "en",
}
FAST = Argon2Params(ops=1, memory_kib=8)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Account:
    inspector_id: int
    username: str
    passphrase: str
    totp_secret: str
    private_key: X25519PrivateKey

    def code(self, at: datetime | None = None) -> str:
        return pyotp.TOTP(self.totp_secret).at(at or datetime.now(UTC))

    def wrong_code(self, at: datetime | None = None) -> str:
        """Six digits that are not a valid code now, nor one step before or after."""
        moment = at or datetime.now(UTC)
        valid = {self.code(moment + timedelta(seconds=30 * step)) for step in (-1, 0, 1)}
        return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


class Clock:
    """The review app's idea of now (``auth.now``), movable by tests."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime.now(UTC)
        monkeypatch.setattr(auth, "now", lambda: self.now)

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def review_settings(engine: Engine, tmp_path: Path, **extra: str) -> Settings:
    return settings_for(engine, tmp_path / "instance", **{**TEST_ENV, **extra})


def give_credentials(session: Session, world: World) -> dict[str, Account]:
    """A passphrase-sealed key and a TOTP secret for everyone in ``world``."""
    accounts: dict[str, Account] = {}
    for name, person in world.people.items():
        key = world.keys[person.id]
        passphrase = f"mật khẩu của {name} đủ dài"
        person.sealed_key_passphrase = seal_with_passphrase(key, passphrase, FAST)
        person.totp_secret = pyotp.random_base32()
        accounts[name] = Account(person.id, person.username, passphrase, person.totp_secret, key)
    session.commit()
    return accounts


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return review_settings(engine, tmp_path)


@pytest.fixture
def accounts(session: Session, world: World) -> dict[str, Account]:
    return give_credentials(session, world)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def app(settings: Settings, accounts: dict[str, Account]) -> Flask:
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    # REMOTE_ADDR defaults to 127.0.0.1 in Werkzeug's test client: inside the allow-list.
    # Not used as a context manager: a kept request context would share `g` with the
    # requests of a second client (a second browser) in the same test.
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no anti-forgery token on {path}"
    return match.group(1)


DISPLAY_NAMES = {
    "lan": "Lê Thị Lan",
    "minh": "Phạm Văn Minh",
    "hoa": "Trần Thị Hoa",
    "son": "Ngô Văn Sơn",
    "admin": "Đỗ Văn Quản",
}


def give_names(session: Session, world: World, suffix: str = "") -> dict[str, str]:
    """A name of their own for everyone in ``world`` (the factory gives all the same),
    with ``suffix`` to tell two units' people apart. Returns them by person."""
    names = {name: DISPLAY_NAMES[name] + suffix for name in world.people}
    for name, person in world.people.items():
        person.display_name = names[name]
    session.commit()
    return names


def asked_first(client: FlaskClient, address: str, form_id: str) -> tuple[str, str]:
    """GET the page that asks before an action: it answers 200 with a form ``form_id``
    that posts back to ``address`` with the anti-forgery token. Returns the page's text
    (unescaped) and the inside of the form."""
    asked = client.get(address)
    assert asked.status_code == 200, address
    text = unescape(asked.get_data(as_text=True))
    pattern = rf'<form method="post" action="([^"]+)" id="{form_id}">(.*?)</form>'
    found = re.search(pattern, text, re.S)
    assert found is not None, f"no form {form_id!r} that posts"
    assert found.group(1) == address
    assert 'name="csrf_token"' in found.group(2)
    return text, found.group(2)


def post_login(
    client: FlaskClient,
    account: Account,
    *,
    code: str | None = None,
    passphrase: str | None = None,
    username: str | None = None,
    next_path: str = "/",
    at: datetime | None = None,
) -> TestResponse:
    return client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "username": account.username if username is None else username,
            "passphrase": account.passphrase if passphrase is None else passphrase,
            "code": account.code(at) if code is None else code,
            "next": next_path,
        },
    )


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(auth.COOKIE)
    return None if cookie is None else cookie.value


@pytest.fixture
def forwarded_away(
    session: Session, world: World, sealed: SealedCase, monkeypatch: pytest.MonkeyPatch
) -> World:
    """The case forwarded to another unit, under a profile that lets the sender keep read
    access: the sender's readers still open it, and must not act on it."""
    today = sealed.case.received_on
    keys = world.staff_keys(session, sealed.case, "lan", today)
    grounds = access.seal_note(keys, sealed.case, "grounds", "Thuộc thẩm quyền")
    return forward_keeping_access(
        session, world, sealed.case, keys.case, keys.unit, grounds, monkeypatch
    )


def forward_keeping_access(
    session: Session,
    world: World,
    case: Case,
    case_key: bytes,
    unit_key: bytes | None,
    grounds: bytes | Sealer,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """Forward ``case`` from ``world``'s unit (by lan) to a new commune unit, whose world
    is returned, under a profile that lets the sender keep read access."""
    commune = build_world(session, "ubnd-xa")
    original = workflow.profile_of

    def generous(case: Case) -> Profile:
        found = original(case)
        if case.unit_id == world.unit.id:
            return dataclasses.replace(found, forward_keeps_read_access=True)
        return found

    monkeypatch.setattr(workflow, "profile_of", generous)
    transfer.forward(
        session,
        case,
        to_unit=commune.unit,
        inspector=world.people["lan"],
        case_key=case_key,
        unit_key=unit_key,
        identity_key=None,
        grounds=grounds,
        today=case.received_on,
        now=datetime.now(UTC),
    )
    session.commit()
    return commune
