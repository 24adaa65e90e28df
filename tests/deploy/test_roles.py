"""The apps' PostgreSQL roles (deploy/postgres/README.md) on the real PostgreSQL: what the
submit role is refused, what the review role may not do to the audit log, and both apps
working under their roles: a report without JavaScript, a follow-up with its code, an
inspector opening the case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from casework import publication
from casework.scope import CASE_SETTING, LOOKUP_SETTING
from casework.settings import Settings
from cli import cli
from cli.roles import load_grants
from review import create_app as create_review
from store.models import Base
from store.models.publications import PUBLIC_COLUMNS
from submit import create_app as create_submit
from tests import postgres
from tests.cli.helpers import assert_refused
from tests.deploy.roles_helpers import Roles, app_roles, as_role, grant, refusal, rows
from tests.instances import Instance, instance
from tests.review.conftest import TEST_ENV as REVIEW_ENV
from tests.review.conftest import post_login
from tests.review.test_registration import parts as registration_parts
from tests.review.test_registration import post as post_registration
from tests.submit.conftest import TEST_ENV as SUBMIT_ENV
from tests.submit.test_followup_pages import form_token, open_case, post_reply
from tests.submit.test_report_form import CODE, FilePart, csrf_token_of, post, report_parts

DENIED = "42501"  # insufficient_privilege, also a row refused by row-level security
WHAT = "Cán bộ địa chính nhận tiền để cấp sổ đỏ"
REPLY = "Tôi có thêm biên lai."
EVIDENCE = ("files", "biên-lai.pdf", "application/pdf", b"%PDF-1.4 receipt " * 100)
SCAN = ("files", "thu-to-cao.pdf", "application/pdf", b"%PDF-1.4 letter " * 100)


@dataclass
class Deployed:
    place: Instance
    roles: Roles
    report_code: str
    public_id: str
    owner: Engine
    submit: Engine
    review: Engine


def test_every_table_of_the_models_has_grants() -> None:
    """A table a migration adds without an entry would be refused by the command; this
    says so before a deployment does. Column lists name real columns."""
    grants = load_grants()
    tables = {table.name: table for table in Base.metadata.sorted_tables}
    assert set(grants) == {*tables, "alembic_version"}
    for name, table in grants.items():
        for privileges in table.privileges.values():
            for privilege in privileges:
                assert set(privilege.columns) <= set(tables[name].columns.keys()), name


def test_the_submit_role_reads_the_public_columns_of_published_conclusions_alone() -> None:
    [select] = load_grants()["published_conclusions"].privileges["submit"]
    assert (select.action, set(select.columns)) == ("SELECT", set(PUBLIC_COLUMNS))


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """A migrated database owned by the suite's role, the two app roles granted by the
    command, and one report sent through the submit app under its role."""
    server = postgres.server_url()
    if server is None:
        pytest.skip(postgres.NOT_SET)
    root = tmp_path_factory.mktemp("roles")
    with app_roles(server) as roles, instance("postgresql", root, server) as place:
        grant(place.database_url, roles)
        grant(place.database_url, roles)  # again: it converges, and refuses nothing
        engines = [
            create_engine(url)
            for url in (
                place.database_url,
                as_role(place.database_url, roles.submit),
                as_role(place.database_url, roles.review),
            )
        ]
        try:
            code, public_id = _report(place, roles)
            yield Deployed(place, roles, code, public_id, *engines)
        finally:
            for engine in engines:
                engine.dispose()


def _settings(place: Instance, role: str, env: dict[str, str]) -> Settings:
    # The blobs in the database too: hosts that share nothing but it (its grants tested).
    return Settings.from_env(
        {**env, "MINHBACH_INSTANCE": str(place.root / "instance"),
         "MINHBACH_DATABASE_URL": as_role(place.database_url, role),
         "MINHBACH_BLOB_STORE": "database"}
    )  # fmt: skip


def _report(place: Instance, roles: Roles) -> tuple[str, str]:
    """A named report through the submit app connected as the submit role: its code and
    its case's public id (read as the owner)."""
    app = create_submit(_settings(place, roles.submit, SUBMIT_ENV))
    app.config["TESTING"] = True
    client = app.test_client()
    token = csrf_token_of(client.get("/report").text)
    identity = {"identity_name": "Nguyễn Văn An", "identity_contact": "0901 234 567"}
    parts = [*report_parts(token, what=WHAT, **identity), FilePart(*EVIDENCE)]
    response = post(client, parts)
    assert response.status_code == 200, response.text[:500]
    [code] = CODE.findall(response.text)
    owner = create_engine(place.database_url)
    try:
        [(public_id,)] = rows(owner.connect(), "SELECT public_id FROM cases")
    finally:
        owner.dispose()
    return code, str(public_id)


def test_the_command_refuses_sqlite_unknown_roles_privileged_roles_and_non_owners(
    deployed: Deployed, tmp_path: Path
) -> None:
    runner = CliRunner()
    roles = deployed.roles

    def run(url: str, submit: str, review: str = roles.review) -> Result:
        options = ["--submit-role", submit, "--review-role", review]
        return runner.invoke(cli, ["database", "grant", *options],
                             env={"MINHBACH_DATABASE_URL": url})  # fmt: skip

    url = deployed.place.database_url
    assert_refused(run(f"sqlite:///{tmp_path / 'x.sqlite3'}", roles.submit), "PostgreSQL only")
    assert_refused(run(url, "nobody_here_at_all"), "there is no role nobody_here_at_all")
    assert_refused(run(url, roles.review), "must be three roles")
    assert_refused(run(as_role(url, roles.review), roles.submit, "postgres"), "does not own")
    bypassing = f"{roles.submit}_bypass"
    with deployed.owner.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{bypassing}" LOGIN BYPASSRLS'))
        connection.commit()
        try:
            assert_refused(run(url, bypassing), "bypasses row security")
        finally:
            connection.execute(text(f'DROP ROLE "{bypassing}"'))
            connection.commit()


# What the submit role must never do: (statement, parameters). Each runs in a transaction
# of its own, rolled back, and must be refused with insufficient_privilege.
FORBIDDEN_TO_SUBMIT = [
    "SELECT sealed_key_passphrase FROM inspectors",
    "SELECT sealed_key_recovery FROM inspectors",
    "SELECT sealed_key_escrow FROM inspectors",
    "SELECT totp_secret FROM inspectors",
    "SELECT notify_email FROM inspectors",
    "SELECT notify_digest, digest_sent_at FROM inspectors",
    "SELECT username FROM inspectors",
    "SELECT failed_logins FROM inspectors",
    "SELECT * FROM inspectors",
    "UPDATE inspectors SET public_key = public_key",
    "SELECT * FROM review_sessions",
    "DELETE FROM review_sessions",
    "SELECT * FROM audit_entries",
    "INSERT INTO audit_entries (seq, at, actor, action, details, prev_hash, entry_hash)"
    " VALUES (1, now(), 'x', 'x', '{}', '\\x00', '\\x01')",
    "DELETE FROM audit_entries",
    "SELECT * FROM case_reads",
    "SELECT * FROM case_exclusions",
    "DELETE FROM cases",
    "UPDATE cases SET body = body",
    "UPDATE cases SET lookup_hash = lookup_hash",
    "UPDATE cases SET unit_id = unit_id",
    "DELETE FROM key_wraps",
    "UPDATE key_wraps SET wrapped = wrapped",
    "DELETE FROM messages",
    "UPDATE messages SET body = body",
    "DELETE FROM attachments",
    "DELETE FROM event_wraps",
    "UPDATE event_wraps SET wrapped = wrapped",
    "INSERT INTO event_wraps (event_id, recipient_kind, wrapped) VALUES (1, 'reporter', '\\x00')",
    "UPDATE units SET escrow_public_key = escrow_public_key",
    "INSERT INTO units (slug, name, profile, categories, reception_schedule, created_at)"
    " VALUES ('x', 'x', 'x', '[]', '', now())",
    "TRUNCATE uploads",
    "TRUNCATE followup_sessions",
    "CREATE TABLE kept_aside (x int)",
    # A published conclusion: its public columns only, never what links it to its case.
    "SELECT case_id FROM published_conclusions",
    "SELECT posted_by_id FROM published_conclusions",
    "SELECT posted_where FROM published_conclusions",
    "SELECT * FROM published_conclusions",
    "UPDATE published_conclusions SET removed_on = NULL",
    "DELETE FROM published_conclusions",
    "INSERT INTO published_conclusions (unit_id, title, summary, concluded_on, posted_on)"
    " VALUES (1, 'x', 'x', current_date, current_date)",
]


def _accepted(engine: Engine, statements: list[str]) -> list[str]:
    """The statements of ``statements`` that ``engine``'s role was not refused."""
    with engine.connect() as connection:
        return [sql for sql in statements if refusal(connection, sql) != DENIED]


def test_the_submit_role_is_refused_every_forbidden_read_and_write(deployed: Deployed) -> None:
    assert _accepted(deployed.submit, FORBIDDEN_TO_SUBMIT) == []


def test_the_submit_role_cannot_list_cases_or_read_identity_wraps(deployed: Deployed) -> None:
    """Row security: nothing of a case until the transaction names it, and then the
    reporter's own wraps only, never the custodian's or the escrow's identity wraps."""
    named = {CASE_SETTING: deployed.public_id}
    with deployed.owner.connect() as connection:
        [(case_row, index)] = rows(connection, "SELECT id, encode(lookup_index, 'hex') FROM cases")
        all_wraps = rows(connection, "SELECT purpose, recipient_kind FROM key_wraps")
    assert ("identity_key", "inspector") in all_wraps  # the report is named: custodians hold it
    with deployed.submit.connect() as connection:
        for table in ("cases", "key_wraps", "messages", "attachments", "case_events",
                      "protection_records", "case_transfers", "event_wraps"):  # fmt: skip
            count = f"SELECT count(*) FROM {table}"  # noqa: S608 (names from the list above)
            assert rows(connection, count) == [(0,)], table
        assert rows(connection, "SELECT public_id FROM cases", named) == [(deployed.public_id,)]
        looked_up = rows(connection, "SELECT public_id FROM cases", {LOOKUP_SETTING: str(index)})
        assert looked_up == [(deployed.public_id,)]
        wraps = rows(connection, "SELECT purpose, recipient_kind FROM key_wraps", named)
        assert sorted(wraps) == [("case_key", "reporter"), ("identity_key", "reporter")]
        # Nor may it write into a case it has not named, even knowing its row number.
        into_case = (
            "INSERT INTO messages (case_id, author, body, created_on, purpose)"
            " VALUES (:case, 'reporter', '\\x00', current_date, 'message')"
        )
        assert refusal(connection, into_case, case=case_row) == DENIED
        readable = rows(connection, "SELECT id, display_name, public_key FROM inspectors")
    assert len(readable) == len(deployed.place.world.people)


def test_the_submit_role_lists_published_conclusions_still_up(deployed: Deployed) -> None:
    """The public page's query under the submit role: the public columns of what is up."""
    with deployed.owner.connect() as connection:
        [(unit, person)] = rows(connection, "SELECT unit_id, id FROM inspectors LIMIT 1")
    with deployed.owner.begin() as connection:
        for title, removed in (("Đang đăng", None), ("Đã gỡ", "2027-03-06")):
            connection.execute(
                text(
                    "INSERT INTO published_conclusions (unit_id, title, summary, concluded_on,"
                    " posted_on, earliest_removal_on, removed_on, posted_where, posted_by_id,"
                    " posted_at) VALUES (:unit, :title, 'Tóm tắt', '2027-02-03', '2027-02-18',"
                    " '2027-03-05', :removed, 'Trụ sở', :person, now())"
                ),
                {"unit": unit, "title": title, "removed": removed, "person": person},
            )
    with Session(deployed.submit) as session:
        page = publication.public_page(session, int(str(unit)), 1)
    assert [item.title for item in page.items] == ["Đang đăng"]


def test_the_audit_log_is_append_only_for_the_review_role(deployed: Deployed) -> None:
    with deployed.review.connect() as connection:
        assert rows(connection, "SELECT count(*) FROM audit_entries") != []
        for sql in ("UPDATE audit_entries SET actor = actor", "DELETE FROM audit_entries",
                    "TRUNCATE audit_entries"):  # fmt: skip
            assert refusal(connection, sql) == DENIED, sql


CHUNK_CHANGES = ["UPDATE blob_chunks SET data = data"]


def test_the_review_role_never_changes_a_blob_chunk_written(deployed: Deployed) -> None:
    """The review side writes the scans of paper reports (chunks added or deleted whole),
    but a chunk once written is never changed, by either side."""
    with deployed.review.connect() as connection:
        assert rows(connection, "SELECT count(*) FROM blob_chunks") != []
    assert _accepted(deployed.review, CHUNK_CHANGES) == []
    assert _accepted(deployed.submit, CHUNK_CHANGES) == []


def test_the_review_role_registers_a_paper_report_with_its_scan(deployed: Deployed) -> None:
    """An inspector registers a letter with a scan, the blobs in the database written
    under the review role; the receipt's code opens the case on the public side."""
    place, roles = deployed.place, deployed.roles
    review = create_review(_settings(place, roles.review, REVIEW_ENV))
    review.config["TESTING"] = True
    inspector = review.test_client()
    # Not lan: a TOTP code is accepted once, and the test below signs lan in.
    assert post_login(inspector, place.accounts["minh"]).status_code == 303
    with deployed.owner.connect() as connection:
        [(before,)] = rows(connection, "SELECT count(*) FROM blob_objects")
    body = registration_parts(csrf_token_of(inspector.get("/register").text))
    body.append(FilePart(*SCAN))
    receipt = post_registration(inspector, body)
    assert receipt.status_code == 200, receipt.text[:500]
    code = CODE.search(receipt.text)
    assert code is not None
    submit = create_submit(_settings(place, roles.submit, SUBMIT_ENV))
    submit.config["TESTING"] = True
    reporter = submit.test_client()
    assert open_case(reporter, code.group(0)).status_code == 303
    reference = re.search(r"MB-[0-9A-F]{8}", receipt.text)
    assert reference is not None
    assert reference.group(0) in reporter.get("/followup/case").text
    with deployed.owner.connect() as connection:
        [(after,)] = rows(connection, "SELECT count(*) FROM blob_objects")
    assert isinstance(before, int)
    assert after == before + 1  # the scan, written under the review role


def test_both_apps_work_under_their_roles(deployed: Deployed) -> None:
    """The reporter follows up with the code and replies (submit role); an inspector signs
    in and reads the report and the reply, decrypted (review role, audited)."""
    place, roles = deployed.place, deployed.roles
    submit = create_submit(_settings(place, roles.submit, SUBMIT_ENV))
    submit.config["TESTING"] = True
    reporter = submit.test_client()
    assert open_case(reporter, deployed.report_code).status_code == 303
    page = reporter.get("/followup/case")
    assert page.status_code == 200
    replied = post_reply(reporter, [("csrf_token", form_token(reporter)), ("reply_text", REPLY)])
    assert replied.status_code == 303, replied.text[:500]

    review = create_review(_settings(place, roles.review, REVIEW_ENV))
    review.config["TESTING"] = True
    inspector = review.test_client()
    assert post_login(inspector, place.accounts["lan"]).status_code == 303
    case_page = inspector.get(f"/cases/{deployed.public_id}")
    assert case_page.status_code == 200
    text = re.sub(r"\s+", " ", case_page.text)
    assert WHAT in text
    assert REPLY in text
    assert EVIDENCE[1] in text  # its description opened; its bytes in blob_chunks
    with deployed.owner.connect() as connection:
        actions = {action for (action,) in rows(connection, "SELECT action FROM audit_entries")}
        [(chunks,)] = rows(connection, "SELECT count(*) FROM blob_chunks")
    assert isinstance(chunks, int)
    assert chunks >= 1
    assert "login" in actions
