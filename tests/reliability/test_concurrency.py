"""Writes that once failed when several came at once, under gunicorn with several workers
and threads on SQLite (the embedded default) and PostgreSQL: parallel upload appends and
parallel sign-ins, each of which writes its own row or audit entry."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import pytest

from casework import audit as audit_log
from store.models import AuditEntry
from tests import gunicorn, postgres
from tests.instances import DATABASES, instance
from tests.reliability.helpers import ApiVisitor, count, session_of
from tests.review.conftest import Account
from tests.visitor import FORM_TOKEN, Tally, Visitor, token_in

AT_ONCE = 20


def skip_without(database: str) -> None:
    if database == "postgresql" and postgres.server_url() is None:
        pytest.skip(postgres.NOT_SET)


@pytest.mark.parametrize("database", DATABASES)
def test_parallel_upload_appends_all_land(database: str, tmp_path: Path) -> None:
    skip_without(database)
    with (
        instance(database, tmp_path) as place,
        gunicorn.running("submit:create_app()", place.env, tmp_path / "s.log") as server,
    ):
        api = ApiVisitor(server.url)
        uploads = [api.create_upload(4096) for _ in range(AT_ONCE)]
        with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as pool:
            answers = list(pool.map(lambda u: api.append(u, 0, bytes(4096)), uploads))
        assert [answer.status for answer in answers] == [204] * AT_ONCE
        assert [api.offset(upload) for upload in uploads] == [4096] * AT_ONCE


@pytest.mark.parametrize("database", DATABASES)
def test_parallel_sign_ins_are_all_audited_in_one_chain(database: str, tmp_path: Path) -> None:
    """Every account signs in at the same moment as as many wrong passphrases arrive: each
    outcome is decided and audited, and the chain stays whole."""
    skip_without(database)
    with (
        instance(database, tmp_path) as place,
        gunicorn.running(
            "review:create_app()", place.env, tmp_path / "r.log", ready_path="/login"
        ) as server,
    ):
        before = count(place, AuditEntry)
        accounts = list(place.accounts.values())
        tries = [(account, True) for account in accounts]
        tries += [(account, False) for account in accounts]
        prepared = []
        for account, right in tries:
            visitor = Visitor(server.url, Tally())
            prepared.append((visitor, account, right, token_in(visitor.get("/login"), FORM_TOKEN)))

        def attempt(item: tuple[Visitor, Account, bool, str]) -> int:
            visitor, account, right, token = item
            passphrase = account.passphrase if right else "not the passphrase at all"
            fields = [
                ("csrf_token", token),
                ("username", account.username),
                ("passphrase", passphrase),
                ("code", account.code()),
                ("next", "/"),
            ]
            return visitor.post_form("/login", fields).status

        with concurrent.futures.ThreadPoolExecutor(len(prepared)) as pool:
            statuses = list(pool.map(attempt, prepared))
        assert statuses == [303] * len(accounts) + [401] * len(accounts)
        assert count(place, AuditEntry) == before + len(prepared)
        with session_of(place) as session:
            assert audit_log.verify(session).ok
