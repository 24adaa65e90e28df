"""The embedded default's rate limits and spent challenges hold across every process:
the limit in force is the documented one however many workers there are, and a solved
proof of work is accepted once."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
from pathlib import Path

from casework.settings import LIMITS_SCHEME
from tests import gunicorn
from tests.instances import instance
from tests.reliability.helpers import ApiVisitor
from tests.visitor import FORM_TOKEN, Tally, Visitor, token_in
from web.limit_storage import SqliteStorage

PROCESSES = 4
INCREMENTS = 250


def _count(uri: str) -> int:
    storage = SqliteStorage(uri)
    for _ in range(INCREMENTS):
        storage.incr("shared", 60)
    return storage.get("shared")


def test_processes_counting_at_once_lose_no_count(tmp_path: Path) -> None:
    uri = f"{LIMITS_SCHEME}://{tmp_path / 'limits.sqlite3'}"
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        list(pool.map(_count, [uri] * PROCESSES))
    storage = SqliteStorage(uri)
    assert storage.get("shared") == PROCESSES * INCREMENTS
    assert storage.get_expiry("shared") > 0
    storage.clear("shared")
    assert storage.get("shared") == 0


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
