"""Several processes starting at once: the secret keys, ``minhbach init`` and the demo come
out the same as if one had started alone."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import current_revision, head_revision, make_engine, session_factory
from store.models import Unit
from tests import gunicorn, postgres
from tests.reliability.conftest import CHEAP
from tests.visitor import FORM_TOKEN, Tally, Visitor, token_in
from web.secret_key import load_or_create

PROCESSES = 8


def _load(path: str) -> bytes:
    return load_or_create(Path(path))


def test_processes_creating_the_secret_key_at_once_all_get_the_same_one(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "submit-secret.key"
    context = multiprocessing.get_context("spawn")  # separate interpreters, as workers are
    with concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        keys = list(pool.map(_load, [str(path)] * PROCESSES * 4))
    assert len(set(keys)) == 1
    assert len(keys[0]) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["submit-secret.key"]


def minhbach(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    command = [str(Path(sys.executable).with_name("minhbach")), *args]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def run_at_once(env: dict[str, str], *args: str, count: int = 4) -> list[tuple[int, str]]:
    started = [minhbach(env, *args) for _ in range(count)]
    return [(process.wait(timeout=300), process.communicate()[0]) for process in started]


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINHBACH_")}
    return {**env, **CHEAP, "MINHBACH_INSTANCE": str(tmp_path / "instance")}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_init_run_several_times_at_once_migrates_once(database: str, tmp_path: Path) -> None:
    env = base_env(tmp_path)
    if database == "sqlite":
        check(run_at_once(env, "init"), env)
        return
    server = postgres.server_url()
    if server is None:
        pytest.skip(postgres.NOT_SET)
    with postgres.fresh_database(server) as url:
        env["MINHBACH_DATABASE_URL"] = url.render_as_string(hide_password=False)
        check(run_at_once(env, "init"), env)


def check(results: list[tuple[int, str]], env: dict[str, str]) -> None:
    assert all(status == 0 for status, _output in results), results
    url = (
        env.get("MINHBACH_DATABASE_URL") or f"sqlite:///{env['MINHBACH_INSTANCE']}/minhbach.sqlite3"
    )
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_two_demos_at_once_set_up_one_demo(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "MINHBACH_DEMO": "1"}
    assert run_at_once(env, "init", count=1)[0][0] == 0
    results = run_at_once(env, "demo", "--reuse", count=2)
    assert [status for status, _output in results] == [0, 0], results
    outputs = [output for _status, output in results]
    assert outputs[0].count("Follow-up codes") == outputs[1].count("Follow-up codes") == 1
    engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'minhbach.sqlite3'}")
    try:
        with session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Unit)) == 2  # the demo's
    finally:
        engine.dispose()


def test_workers_started_on_a_fresh_instance_share_one_secret_key(tmp_path: Path) -> None:
    """Both workers boot, and a form from either is accepted by either: the follow-up code
    form answers "not found", never "expired" (a token signed with another key)."""
    env = base_env(tmp_path)
    assert run_at_once(env, "init", count=1)[0][0] == 0
    assert run_at_once(env, "unit", "add", "--slug", "so", "--name", "Sở", count=1)[0][0] == 0
    log = tmp_path / "submit.log"
    env["MINHBACH_RATE_LIMIT_SCALE"] = "100"  # code checks are capped at 10 a minute
    with gunicorn.running("submit:create_app()", env, log, workers=4, ready_path="/") as server:
        assert len(server.workers()) == 4
        for _ in range(24):  # each request on a new connection: any worker may take it
            visitor = Visitor(server.url, Tally())
            token = token_in(visitor.get("/followup"), FORM_TOKEN)
            answer = visitor.post_form("/followup", [("csrf_token", token), ("code", "0" * 20)])
            assert answer.status == 400
            assert "expired" not in answer.text
    assert "Worker failed to boot" not in log.read_text(encoding="utf-8", errors="replace")
    secrets = sorted(p.name for p in (tmp_path / "instance").iterdir() if "secret" in p.name)
    assert secrets == ["submit-secret.key"]
