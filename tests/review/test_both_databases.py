"""The review app on both databases (SQLite and PostgreSQL): a lock that holds at its count
when sign-in attempts race, and input PostgreSQL refuses (a NUL in a user name or a case's
address) answered like any wrong name or unknown case, never with a server error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from casework import upgrade
from casework.settings import Settings
from review import create_app, login
from store.db import make_engine, session_factory
from store.models import AuditEntry, Case, Inspector, Unit
from tests import postgres
from tests.instances import DATABASES, instance
from tests.protocol1 import GROUNDS, protocol_1_case
from tests.review.conftest import TEST_ENV, Account, csrf_token, post_login
from tests.review.test_login import race
from tests.worlds import World


@dataclass
class Served:
    app: Flask
    accounts: dict[str, Account]
    engine: Engine
    world: World
    database: str

    def failures(self) -> list[tuple[str, str, str]]:
        with session_factory(self.engine)() as session:
            rows = session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.in_(["login_failed", "recovery_failed"]))
                .order_by(AuditEntry.seq)
            )
            return [(row.actor, row.action, str(row.details["reason"])) for row in rows]

    def account(self, name: str) -> Inspector:
        with Session(self.engine) as session:
            return session.get_one(Inspector, self.accounts[name].inspector_id)


@pytest.fixture(params=DATABASES)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    if request.param == "postgresql" and postgres.server_url() is None:
        pytest.skip(postgres.NOT_SET)
    with instance(request.param, tmp_path) as place:
        settings = Settings.from_env(
            {
                **TEST_ENV,
                "MINHBACH_INSTANCE": str(tmp_path / "instance"),
                "MINHBACH_DATABASE_URL": place.database_url,
            }
        )
        app = create_app(settings)
        app.config["TESTING"] = True
        engine = make_engine(place.database_url)
        try:
            yield Served(app, place.accounts, engine, place.world, request.param)
        finally:
            engine.dispose()


def test_ten_parallel_wrong_passphrases_check_at_most_lock_after(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = served.accounts["lan"]
    wrong = {"username": account.username, "passphrase": "wrong wrong wrong", "code": "123456"}
    assert race(served.app, monkeypatch, [wrong] * 10) == [401] * 10
    reasons = sorted(reason for _, _, reason in served.failures())
    assert reasons == ["locked"] * (10 - login.LOCK_AFTER) + ["passphrase"] * login.LOCK_AFTER
    assert served.account("lan").failed_logins == login.LOCK_AFTER


@pytest.mark.parametrize("username", ["\x00", "lan.thanh-tra-tinh\x00", "lan\x00' OR 1=1"])
def test_a_nul_in_the_user_name_is_a_wrong_user_name_not_a_server_error(
    served: Served, username: str
) -> None:
    account = served.accounts["lan"]
    client = served.app.test_client()
    assert post_login(client, account, username=username).status_code == 401
    recovery = client.post(
        "/account/recover",
        data={
            "csrf_token": csrf_token(client, "/account/recover"),
            "username": username,
            "recovery": "0" * 32,
            "code": "123456",
            "new": "a new passphrase, long enough",
            "confirm": "a new passphrase, long enough",
        },
    )
    assert recovery.status_code == 401
    assert served.failures() == [
        ("unknown", "login_failed", "unknown_user"),
        ("unknown", "recovery_failed", "unknown_user"),
    ]


@pytest.mark.parametrize(
    "path", ["/cases/%00", "/cases/%00/workflow", "/cases/%00/protection", "/cases/a%00b/identity"]
)
def test_a_nul_in_a_case_address_is_no_such_case(served: Served, path: str) -> None:
    client = served.app.test_client()
    assert post_login(client, served.accounts["hoa"]).status_code == 303
    assert client.get(path).status_code == 404


def test_a_passphrase_change_ends_the_other_sessions(served: Served) -> None:
    """One DELETE ... RETURNING on either database: the other browser is out, this one
    stays, and the ended session is audited."""
    lan = served.accounts["lan"]
    here, elsewhere = served.app.test_client(), served.app.test_client()
    assert post_login(elsewhere, lan).status_code == 303
    later = datetime.now(UTC) + timedelta(seconds=30)  # the next code: each works once
    assert post_login(here, lan, at=later).status_code == 303
    new = "a new passphrase, long enough"
    changed = here.post(
        "/account/passphrase",
        data={
            "csrf_token": csrf_token(here, "/account/passphrase"),
            "current": lan.passphrase,
            "new": new,
            "confirm": new,
        },
    )
    assert changed.status_code == 200
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 303
    with Session(served.engine) as session:
        ended = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "session_invalid")
        ).all()
    assert [entry["reason"] for entry in ended] == ["passphrase_changed"]


# --- a protocol 1 case upgraded on opening (docs/crypto.md §13.7) ------------------------------


def old_case(served: Served) -> str:
    """A protocol 1 case of the unit, read by lan and hoa; its public id."""
    with session_factory(served.engine)() as session:
        unit = session.get_one(Unit, served.world.unit.id)
        readers = [session.get_one(Inspector, served.accounts[n].inspector_id) for n in READERS]
        public_id = protocol_1_case(session, unit, readers).case.public_id
        session.commit()
    return public_id


READERS = ("lan", "hoa")


def upgraded(served: Served, public_id: str) -> tuple[int, list[str], list[str]]:
    """The case's protocol, its messages' purposes, and its audited actions."""
    with session_factory(served.engine)() as session:
        case = session.scalar(select(Case).where(Case.public_id == public_id))
        assert case is not None
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.case_public_id == public_id)
            .order_by(AuditEntry.seq)
        )
        return case.protocol, [m.purpose for m in case.messages], list(actions)


def test_opening_a_protocol_1_case_upgrades_it_once(served: Served) -> None:
    public_id = old_case(served)
    for name in READERS:
        client = served.app.test_client()
        assert post_login(client, served.accounts[name]).status_code == 303
        page = client.get(f"/cases/{public_id}")
        assert page.status_code == 200
        assert GROUNDS in client.get(f"/cases/{public_id}/workflow").get_data(as_text=True)
    protocol, purposes, actions = upgraded(served, public_id)
    assert (protocol, purposes) == (2, ["message", "upgrade"])
    assert actions.count("case_upgraded") == 1


def test_two_readers_opening_a_protocol_1_case_at_once_upgrade_it_once(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    if served.database == "sqlite":
        pytest.skip("SQLite's write transaction holds the whole database from its start")
    public_id = old_case(served)
    clients = []
    for name in READERS:
        client = served.app.test_client()
        assert post_login(client, served.accounts[name]).status_code == 303
        clients.append(client)
    barrier = threading.Barrier(len(clients), timeout=20)
    real = upgrade.by_reader

    def together(*args: Any) -> bool:
        barrier.wait()  # both have read the case as protocol 1
        return real(*args)

    monkeypatch.setattr(upgrade, "by_reader", together)
    statuses: list[int] = []

    def open_it(client: FlaskClient) -> None:
        statuses.append(client.get(f"/cases/{public_id}").status_code)

    threads = [threading.Thread(target=open_it, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200, 200]
    protocol, purposes, actions = upgraded(served, public_id)
    assert (protocol, purposes) == (2, ["message", "upgrade"])
    assert actions.count("case_upgraded") == 1
