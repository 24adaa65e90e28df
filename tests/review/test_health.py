"""``GET /health`` of the review app: answered without signing in (a monitor has no
account), with the public app's constant answers, and only inside the allowed networks."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import Engine

from review import auth, create_app
from tests.review.conftest import TEST_ENV
from tests.submit.test_health import assert_reveals_nothing, unreachable_database
from web.health import HEALTHY, PATH, UNHEALTHY

WITHOUT_WAITING = 5.0  # seconds: far below the busy timeout, far above a SELECT


def test_health_is_ok_without_signing_in(client: FlaskClient) -> None:
    assert_reveals_nothing(client.get(PATH), 200, HEALTHY)
    assert client.get_cookie(auth.COOKIE) is None
    assert client.get_cookie("mb_review") is None


def test_health_says_unavailable_without_the_database(tmp_path: Path) -> None:
    app = create_app(unreachable_database(tmp_path, TEST_ENV))
    assert_reveals_nothing(app.test_client().get(PATH), 503, UNHEALTHY)


def test_health_is_refused_outside_the_allowed_networks(client: FlaskClient) -> None:
    response = client.get(PATH, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403
    assert HEALTHY not in response.get_data(as_text=True)


def test_health_does_not_wait_for_a_writer(client: FlaskClient, engine: Engine) -> None:
    """Every request of the review app writes (its sessions, its audit); a probe only
    reads, so it answers while another process holds the write lock."""
    holder = sqlite3.connect(str(engine.url.database), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        response = client.get(PATH)
        waited = time.monotonic() - started
    finally:
        holder.close()
    assert response.status_code == 200
    # A writing session would wait out the busy timeout (10 s), then answer 503.
    assert waited < WITHOUT_WAITING
