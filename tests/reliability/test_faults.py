"""Faults: a worker killed mid-request, a full disk, a database that goes away. The apps run
under gunicorn with the production settings; afterwards nothing is half-stored, nothing is
left in plaintext, and whatever could be resumed resumes.

A worker is killed at a chosen moment by making it wait there: the test holds the
database's lock (SQLite's write lock, or a PostgreSQL table lock) that the next step needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select, text

from casework import audit as audit_log
from casework.sealing import NewCaseKeys
from cli import cli
from crypto.encoding import b64u_decode
from store.db import make_engine
from store.models import Attachment, Case, CaseEvent
from tests import gunicorn, postgres
from tests.instances import DATABASES, Instance, instance
from tests.reliability.conftest import Cluster
from tests.reliability.helpers import (
    ApiVisitor,
    count,
    evidence,
    report_form,
    sealed_report,
    session_of,
    sign_in,
    store_case,
    store_of,
)
from tests.submit.test_api_support import (
    case_key_of,
    envelope_of,
    open_attachment,
    pending_files,
    seal_file,
)
from tests.visitor import (
    FORM_TOKEN,
    Reply,
    Sending,
    Tally,
    Visitor,
    multipart,
    token_in,
)

MiB = 1024 * 1024
NOT_RECEIVED = "Your report was NOT received"
TRACEBACK_WORDS = ("Traceback", "OperationalError", "psycopg", "sqlite3", 'File "')


# --- helpers ------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def kill_worker(server: gunicorn.Gunicorn) -> None:
    """SIGKILL the one worker and wait for the master to start a fresh one."""
    [worker] = server.workers()
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: server.workers() not in ([], [worker]), "a new worker started")
    wait_until(lambda: Visitor(server.url, Tally()).get("/report").status == 200, "it serves")


@contextlib.contextmanager
def submit_app(
    place: Instance, log: Path, workers: int = 1, settings: Mapping[str, str] | None = None
) -> Iterator[gunicorn.Gunicorn]:
    env = {**place.env, **(settings or {})}
    with gunicorn.running(
        "submit:create_app()", env, log, workers=workers, ready_path="/report"
    ) as server:
        yield server


def run_cli(place: Instance, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=place.env)


def backdate(paths: list[Path], days: int = 3) -> None:
    """As if written ``days`` ago: past the upload lifetime that guards reports on their way."""
    moment = (datetime.now(UTC) - timedelta(days=days)).timestamp()
    for path in paths:
        os.utime(path, (moment, moment))


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def holding(root: Path, canary: bytes) -> list[Path]:
    """Files under ``root`` whose bytes contain ``canary``: none may, ever."""
    found = []
    for path in files_under(root):
        with contextlib.suppress(FileNotFoundError):
            if canary in path.read_bytes():
                found.append(path)
    return found


def finish_quietly(sending: Sending) -> None:
    """The worker was killed: the connection drops, whatever the client was doing."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        sending.finish()


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Instance]:
    with instance("sqlite", tmp_path) as made:
        yield made


# --- a worker killed --------------------------------------------------------------------------


def test_a_worker_killed_while_a_report_streams_in_leaves_no_case_and_no_plaintext(
    place: Instance, tmp_path: Path
) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    with submit_app(place, tmp_path / "submit.log") as server:
        visitor = Visitor(server.url, Tally())
        body, content_type = multipart(report_form(visitor, canary, evidence(canary, 3 * MiB)))
        sending = visitor.start("POST", "/report", {"Content-Type": content_type}, len(body))
        sending.send(body[: len(body) // 2])
        temp = place.blob_root / "tmp"
        wait_until(lambda: any(p.stat().st_size for p in temp.glob("*.part")), "a blob is written")
        kill_worker(server)
        finish_quietly(sending)

    assert count(place, Case) == 0
    assert count(place, Attachment) == 0
    assert holding(place.root, canary.encode()) == []
    unfinished = list(temp.glob("*.part"))
    assert len(unfinished) == 1  # ciphertext a killed process left; collected below
    backdate(unfinished)
    collected = run_cli(place, "uploads", "collect")
    assert "1 unfinished write(s)" in collected.output, collected.output
    assert list(temp.glob("*.part")) == []
    assert run_cli(place, "fsck").exit_code == 0


def test_a_resumable_upload_resumes_after_its_worker_is_killed(
    place: Instance, tmp_path: Path
) -> None:
    keys = NewCaseKeys()
    data = evidence(f"CANARY-{uuid.uuid4().hex}", 3 * MiB)
    sealed = seal_file(
        keys.case_key, keys.case_id, data, "evidence.pdf", "application/pdf", keys.signer
    )
    keys, submission = sealed_report(place, "resumed", keys, pending_files(sealed.meta))
    with submit_app(place, tmp_path / "submit.log") as server:
        api = ApiVisitor(server.url)
        upload = api.create_upload(len(sealed.stream))
        sending = api.start_append(upload, 0, len(sealed.stream))
        sending.send(sealed.stream[: 2 * MiB + 100])
        scratch = place.blob_root / "scratch" / hashlib.sha256(b64u_decode(upload)).hexdigest()
        wait_until(lambda: scratch.stat().st_size >= MiB, "a piece is durable")
        kill_worker(server)
        finish_quietly(sending)

        resumed = api.offset(upload)
        assert MiB <= resumed <= 2 * MiB + 100
        assert api.append(upload, resumed, sealed.stream[resumed:]).status == 204
        document = envelope_of(submission, api.solution("report"), [(upload, sealed.meta)])
        assert api.visitor.post_json("/api/v1/reports", document, api.token).status == 201

    with session_of(place) as session:
        case = session.scalars(select(Case)).one()
        key = case_key_of(case, place.world.people["lan"].id, place.world.key_of("lan"))
        [attachment] = case.attachments
        assert open_attachment(store_of(place), case, key, attachment)[1] == data


@pytest.mark.parametrize("database", DATABASES)
def test_a_worker_killed_between_its_files_and_the_commit_leaves_an_orphan_fsck_finds(
    database: str, tmp_path: Path
) -> None:
    """The blob is written, the case not yet committed: killed there, no half case stays,
    and the blob nobody will claim is reported, then collected."""
    if database == "postgresql" and postgres.server_url() is None:
        pytest.skip(postgres.NOT_SET)
    canary = f"CANARY-{uuid.uuid4().hex}"
    with instance(database, tmp_path) as place, submit_app(place, tmp_path / "s.log") as server:
        visitor = Visitor(server.url, Tally())
        files = evidence(canary, MiB), evidence(canary + "/second", MiB)
        body, content_type = multipart(report_form(visitor, canary, *files))
        # Half-way through the second file the first one's blob is complete.
        cut = len(body) - MiB // 2
        sending = visitor.start("POST", "/report", {"Content-Type": content_type}, len(body))
        sending.send(body[:cut])
        wait_until(lambda: store_of(place).blob_ids() != [], "the first file's blob is written")
        with database_lock(place):
            sending.send(body[cut:])
            both = "both files' blobs are written"
            wait_until(lambda: len(store_of(place).blob_ids()) == 2, both)
            time.sleep(1.0)  # sealing and the lookup hash: then intake waits for the lock
            kill_worker(server)
        finish_quietly(sending)

        assert count(place, Case) == 0
        assert count(place, Attachment) == 0
        orphans = store_of(place).blob_ids()
        assert len(orphans) == 2
        assert holding(place.root, canary.encode()) == []
        backdate([store_of(place).root / "blobs" / blob[:2] / blob for blob in orphans])
        checked = run_cli(place, "fsck")
        assert checked.exit_code == 1
        assert all(f"orphan: blob {blob}" in checked.output for blob in orphans)
        assert "2 orphaned blob(s)" in run_cli(place, "uploads", "collect").output
        assert run_cli(place, "fsck").exit_code == 0


@contextlib.contextmanager
def database_lock(place: Instance) -> Iterator[None]:
    """Hold what intake's commit needs: SQLite's write lock, or PostgreSQL's cases table."""
    if place.database_url.startswith("sqlite"):
        connection = sqlite3.connect(place.database_url.removeprefix("sqlite:///"), timeout=30)
        connection.isolation_level = None
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = make_engine(place.database_url)
    try:
        with engine.connect() as locker:
            locker.execute(text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))
            yield
            locker.rollback()
    finally:
        engine.dispose()


def test_a_review_worker_killed_mid_step_leaves_the_case_and_the_audit_chain_intact(
    tmp_path: Path,
) -> None:
    """The step's changes are written, the audit entry waits: killed there, PostgreSQL
    drops the whole transaction."""
    if postgres.server_url() is None:
        pytest.skip(postgres.NOT_SET)
    with instance("postgresql", tmp_path) as place:
        case_id = store_case(place, "a step")
        account = place.accounts["lan"]
        with gunicorn.running(
            "review:create_app()", place.env, tmp_path / "review.log", workers=1,
            ready_path="/login",
        ) as server:  # fmt: skip
            visitor = Visitor(server.url, Tally())
            sign_in(visitor, account)
            page = visitor.get(f"/cases/{case_id}/workflow")
            token = token_in(page, FORM_TOKEN)
            engine = make_engine(place.database_url)
            try:
                with engine.connect() as lock:
                    lock.execute(text("LOCK TABLE audit_entries IN ACCESS EXCLUSIVE MODE"))
                    step = visitor.start(
                        "POST", f"/cases/{case_id}/status",
                        {"Content-Type": "application/x-www-form-urlencoded"},
                        len(form := f"csrf_token={token}&status=triage&grounds=".encode()),
                    )  # fmt: skip
                    step.send(form)
                    wait_until(lambda: waits_for(engine, "audit_entries"), "the audit entry waits")
                    assert holds(engine, "cases")  # ...after the step itself was written
                    [worker] = server.workers()
                    os.kill(worker, signal.SIGKILL)
                    wait_until(lambda: server.workers() not in ([], [worker]), "a new worker")
                    finish_quietly(step)
                    lock.rollback()
            finally:
                engine.dispose()

        with session_of(place) as session:
            case = session.scalars(select(Case).where(Case.public_id == case_id)).one()
            assert case.status == "received"
            assert session.scalar(select(func.count()).select_from(CaseEvent)) == 0
            assert audit_log.verify(session).ok


def waits_for(engine: Engine, table: str) -> bool:
    """Whether some transaction waits for a lock on ``table`` (PostgreSQL)."""
    return _locks(engine, table, granted=False) > 0


def holds(engine: Engine, table: str) -> bool:
    """Whether a transaction of another process holds a write lock on ``table``."""
    return _locks(engine, table, granted=True, mode="RowExclusiveLock") > 0


def _locks(engine: Engine, table: str, *, granted: bool, mode: str | None = None) -> int:
    query = (
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
        "WHERE c.relname = :table AND l.granted = :granted AND l.pid <> pg_backend_pid() "
        "AND (CAST(:mode AS text) IS NULL OR l.mode = :mode)"
    )
    with engine.connect() as connection:
        parameters = {"table": table, "granted": granted, "mode": mode}
        return int(connection.execute(text(query), parameters).scalar_one())


# --- a full disk ------------------------------------------------------------------------------


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; return it (remove it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as file:  # unbuffered: nothing left to flush
        for block in (65536, 512):  # then the last few small blocks
            with contextlib.suppress(OSError):
                while file.write(b"\0" * block):
                    pass
    return filler


def test_a_full_disk_refuses_clearly_keeps_the_text_and_recovers(
    small_disk: Path, tmp_path: Path
) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    scratch_limit = {"MINHBACH_MAX_SCRATCH_SIZE": str(4 * MiB), "MINHBACH_MAX_FILE_SIZE": str(MiB)}
    with (
        instance("sqlite", small_disk) as place,
        submit_app(place, tmp_path / "s.log", settings=scratch_limit) as server,
    ):
        # Uploads in progress are capped below the disk's size: a flood of them is refused
        # clearly while there is still room, and gives the room back when deleted.
        reserved = ApiVisitor(server.url)
        uploads = [reserved.create_upload(MiB) for _ in range(4)]
        assert all(reserved.append(u, 0, os.urandom(MiB)).status == 204 for u in uploads)
        document = {"size": MiB, "pow": reserved.solution("upload")}
        flood = reserved.visitor.post_json("/api/v1/uploads", document, reserved.token)
        assert flood.status == 503
        assert '"uploads_full"' in flood.text
        for upload in uploads:
            headers = {"X-CSRFToken": reserved.token}
            assert (
                reserved.visitor.request("DELETE", f"/api/v1/uploads/{upload}", b"", headers).status
                == 204
            )

        database = place.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(database) as connection:  # the log back to nothing: every
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # write needs new space
        filler = fill(small_disk)

        visitor = Visitor(server.url, Tally())
        with_file = visitor.post_multipart(
            "/report", report_form(visitor, canary, evidence(canary, MiB))
        )
        text_only = Visitor(server.url, Tally())
        without_file = text_only.post_multipart("/report", report_form(text_only, canary))
        for reply in (with_file, without_file):
            assert reply.status == 503
            assert NOT_RECEIVED in reply.text
            assert canary in reply.text  # what they wrote, back in the form
            assert not any(word in reply.text for word in TRACEBACK_WORDS)
            # Shown at its last step, where the Send button is: nothing to correct.
            assert 'class="step step-current" id="step-send"' in reply.text
        assert "please choose them again" in with_file.text
        api = ApiVisitor(server.url)  # no room for the upload's row: refused, and said so
        document = {"size": MiB, "pow": api.solution("upload")}
        refused = api.visitor.post_json("/api/v1/uploads", document, api.token)
        assert refused.status == 503
        assert '"storage_unavailable"' in refused.text

        assert count(place, Case) == 0
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert list((place.blob_root / "tmp").glob("*")) == []
        assert holding(small_disk, canary.encode()) == []

        filler.unlink()
        again = Visitor(server.url, Tally())
        sent = again.post_multipart("/report", report_form(again, canary, evidence(canary, MiB)))
        assert sent.status == 200, sent.text
        assert count(place, Case) == 1


# --- the database goes away -------------------------------------------------------------------


def test_a_database_that_stops_gives_clear_503s_and_the_apps_recover(
    cluster: Cluster, tmp_path: Path
) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    with instance("postgresql", tmp_path, cluster.url) as place:
        env, logs = place.env, (tmp_path / "submit.log", tmp_path / "review.log")
        with (
            gunicorn.running("submit:create_app()", env, logs[0], ready_path="/report") as submit,
            gunicorn.running("review:create_app()", env, logs[1], ready_path="/login") as review,
        ):
            tipster, api = Visitor(submit.url, Tally()), ApiVisitor(submit.url)
            fields = report_form(tipster, canary, evidence(canary, 4096))
            _keys, submission = sealed_report(place, canary)
            document = envelope_of(submission, api.solution("report"))
            inspector = Visitor(review.url, Tally())
            login_token = token_in(inspector.get("/login"), FORM_TOKEN)

            cluster.stop()
            try:
                answers: list[Reply] = [
                    Visitor(submit.url, Tally()).get("/report"),
                    tipster.post_multipart("/report", fields),
                    api.visitor.post_json("/api/v1/reports", document, api.token),
                    sign_in(inspector, place.accounts["lan"], login_token, expect=None),
                ]
                for answer in answers:
                    assert answer.status == 503, (answer.status, answer.text[:300])
                    assert not any(word in answer.text for word in TRACEBACK_WORDS)
                assert NOT_RECEIVED in answers[1].text
                assert canary in answers[1].text
                assert '"storage_unavailable"' in answers[2].text
                assert all("Retry-After" in answer.headers for answer in answers)

            finally:
                cluster.start()
            wait_until(lambda: Visitor(submit.url, Tally()).get("/report").status == 200, "up")
            again = Visitor(submit.url, Tally())
            sent = again.post_multipart(
                "/report", report_form(again, canary, evidence(canary, 4096))
            )
            assert sent.status == 200
            sent_api = api.visitor.post_json(
                "/api/v1/reports", envelope_of(submission, api.solution("report")), api.token
            )
            assert sent_api.status == 201
            assert sign_in(Visitor(review.url, Tally()), place.accounts["lan"]).status == 303
        assert count(place, Case) == 2
