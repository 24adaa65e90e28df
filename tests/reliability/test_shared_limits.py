"""Rate limits and spent challenges hold across every process: the limit in force is the
documented one however many workers, or public hosts, there are, and a solved proof of work
is accepted once. The embedded default keeps them in a SQLite file of the instance;
production in Redis, shared by public hosts that share nothing else but the database."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import multiprocessing
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits.storage import Storage, storage_from_string

from casework.settings import LIMITS_SCHEME
from tests import gunicorn, redis
from tests.instances import instance
from tests.reliability.helpers import ApiVisitor
from tests.visitor import FORM_TOKEN, Tally, Visitor, token_in
from web.limit_storage import SqliteStorage
from web.secret_key import load_or_create

PROCESSES = 4
INCREMENTS = 250


def _storage(uri: str) -> Storage:
    storage = storage_from_string(uri)
    assert isinstance(storage, Storage)  # not the asyncio flavour
    return storage


def _count(uri: str) -> int:
    storage = _storage(uri)
    for _ in range(INCREMENTS):
        storage.incr("shared", 60)
    return storage.get("shared")


@contextlib.contextmanager
def _storage_uri(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"{LIMITS_SCHEME}://{folder / 'limits.sqlite3'}"
    else:
        with redis.fresh_database() as uri:
            yield uri


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_counting_at_once_lose_no_count(kind: str, tmp_path: Path) -> None:
    with _storage_uri(kind, tmp_path) as uri:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
            list(pool.map(_count, [uri] * PROCESSES))
        storage = _storage(uri)
        assert storage.get("shared") == PROCESSES * INCREMENTS
        assert storage.get_expiry("shared") > 0
        storage.clear("shared")
        assert storage.get("shared") == 0


def test_workers_opening_a_new_file_at_once_all_start(tmp_path: Path) -> None:
    # gunicorn's workers boot together and each opens the limits file; one that was told
    # "database is locked" while another switched the new file to WAL failed to boot, and
    # gunicorn shut down. Threads race the same way as processes, and faster: on the code
    # without the wait, 300 rounds of 8 failed 3 to 10 times.
    failures: list[BaseException] = []
    for round_ in range(300):
        uri = f"{LIMITS_SCHEME}://{tmp_path / f'limits-{round_}.sqlite3'}"
        start = threading.Barrier(8)

        def open_storage(uri: str = uri, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                SqliteStorage(uri)
            except Exception as error:  # every failure is the finding
                failures.append(error)

        threads = [threading.Thread(target=open_storage) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_an_expired_window_starts_again(tmp_path: Path) -> None:
    storage = SqliteStorage(f"{LIMITS_SCHEME}://{tmp_path / 'limits.sqlite3'}")
    assert storage.incr("k", 0) == 1  # expires at once
    assert storage.incr("k", 60) == 1
    assert storage.incr("k", 60, amount=3) == 4
    assert storage.reset() == 1
    assert storage.check()
    assert oct((tmp_path / "limits.sqlite3").stat().st_mode & 0o777) == "0o600"


def test_four_workers_share_one_limit_and_one_ledger(tmp_path: Path) -> None:
    limits = {"followup.open": {"global": "4 per minute"}}
    with instance("sqlite", tmp_path) as place:
        env = {**place.env, "MINHBACH_RATE_LIMITS": json.dumps(limits)}
        env.pop("MINHBACH_RATE_LIMIT_SCALE")
        log = tmp_path / "submit.log"
        with gunicorn.running("submit:create_app()", env, log, workers=4, ready_path="/") as server:
            statuses = []
            for _ in range(10):  # a new connection each time: any worker may answer
                visitor = Visitor(server.url, Tally())
                token = token_in(visitor.get("/followup"), FORM_TOKEN)
                fields = [("csrf_token", token), ("code", "0" * 20)]
                statuses.append(visitor.post_form("/followup", fields).status)
            assert statuses.count(429) == 6, statuses

            api = ApiVisitor(server.url)  # one connection per request: any worker again
            solution = api.solution("upload")
            document = {"size": 100, "pow": solution}
            answers = [
                api.visitor.post_json("/api/v1/uploads", document, api.token) for _ in range(6)
            ]
    assert answers[0].status == 201
    assert all('"pow_replayed"' in answer.text for answer in answers[1:])


def _second_host(env: dict[str, str], root: Path) -> dict[str, str]:
    """Another public host's settings: its own instance folder (no shared disk), and
    otherwise the same, the submit secret key too, which the operator installs on every
    public host (docs/operations.md): forms, sessions and challenges are signed with it."""
    key = Path(env["MINHBACH_INSTANCE"]) / "submit-secret.key"
    load_or_create(key)
    other = root / "host-b" / "instance"
    other.mkdir(parents=True, mode=0o700)
    shutil.copy2(key, other / key.name)
    return {**env, "MINHBACH_INSTANCE": str(other)}


def test_two_public_hosts_share_one_limit_and_one_ledger_in_redis(tmp_path: Path) -> None:
    limits = {"followup.open": {"global": "4 per minute"}}
    with redis.fresh_database() as uri, instance("postgresql", tmp_path) as place:
        env_a = {
            **place.env,
            "MINHBACH_RATE_LIMITS": json.dumps(limits),
            "MINHBACH_RATELIMIT_STORAGE_URI": uri,
        }
        env_a.pop("MINHBACH_RATE_LIMIT_SCALE")
        env_b = _second_host(env_a, tmp_path)
        with (
            gunicorn.running("submit:create_app()", env_a, tmp_path / "a.log") as host_a,
            gunicorn.running("submit:create_app()", env_b, tmp_path / "b.log") as host_b,
        ):
            statuses = []
            for turn in range(10):  # by turns, as a balancer would send them
                visitor = Visitor(host_a.url, Tally())
                token = token_in(visitor.get("/followup"), FORM_TOKEN)
                there = visitor.moved_to(host_b.url) if turn % 2 else visitor
                fields = [("csrf_token", token), ("code", "0" * 20)]
                statuses.append(there.post_form("/followup", fields).status)
            assert statuses.count(429) == 6, statuses

            api = ApiVisitor(host_a.url)
            document = {"size": 100, "pow": api.solution("upload")}
            first = api.visitor.post_json("/api/v1/uploads", document, api.token)
            replayed = api.visitor.moved_to(host_b.url).post_json(
                "/api/v1/uploads", document, api.token
            )
        assert not (Path(env_b["MINHBACH_INSTANCE"]) / "limits.sqlite3").exists()
        assert not (Path(env_a["MINHBACH_INSTANCE"]) / "limits.sqlite3").exists()
    assert first.status == 201, first.text
    assert '"pow_replayed"' in replayed.text, replayed.text
