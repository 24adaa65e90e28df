"""``GET /health`` of the public app: 200 with a constant body while the database answers,
503 with another constant body when it does not; no cookie, no version, no detail."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import make_url
from werkzeug.test import TestResponse

from casework.settings import Settings
from submit import create_app
from tests import postgres
from tests.programs import require_variable
from tests.submit.conftest import TEST_ENV
from web.health import HEALTHY, PATH, UNHEALTHY
from web.security import BASE_HEADERS

# Besides the security headers every response has (BASE_HEADERS): the body's own.
ALLOWED_HEADERS = {"content-type", "content-length"}


def assert_reveals_nothing(response: TestResponse, status: int, body: str) -> None:
    assert response.status_code == status
    assert response.get_data(as_text=True) == body
    assert response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers  # a probe starts no session
    assert "Server" not in response.headers
    assert response.headers["Cache-Control"] == "no-store, max-age=0"
    for name, _value in response.headers:  # nothing beyond the headers every answer has
        assert name in BASE_HEADERS or name.lower() in ALLOWED_HEADERS, name


def unreachable_database(tmp_path: Path, env: Mapping[str, str] = TEST_ENV) -> Settings:
    """Settings whose database cannot be opened: its path is a folder."""
    missing = tmp_path / "a-folder"
    missing.mkdir()
    return Settings.from_env(
        {
            **env,
            "MINHBACH_INSTANCE": str(tmp_path / "instance"),
            "MINHBACH_DATABASE_URL": f"sqlite:///{missing}",
        }
    )


def test_health_is_ok_while_the_database_answers(client: FlaskClient) -> None:
    assert_reveals_nothing(client.get(PATH), 200, HEALTHY)
    assert client.get_cookie("mb_submit") is None


def test_health_says_unavailable_and_nothing_more_without_the_database(tmp_path: Path) -> None:
    app = create_app(unreachable_database(tmp_path))
    response = app.test_client().get(PATH)
    assert_reveals_nothing(response, 503, UNHEALTHY)
    assert str(tmp_path) not in response.get_data(as_text=True)


def test_health_is_not_rate_limited(client: FlaskClient) -> None:
    """A monitor asking often is never told "too many requests" instead of the truth."""
    client.application.config["MINHBACH_RATE_LIMIT_SCALE"] = 0.001  # every limit at 1
    statuses = {client.get(PATH).status_code for _ in range(30)}
    assert statuses == {200}


def test_health_on_postgresql(tmp_path: Path) -> None:
    """Production's database: the probe's read-only transaction there (READ ONLY) works."""
    server = make_url(require_variable(postgres.SERVER_VARIABLE))
    with postgres.fresh_database(server) as url:
        settings = Settings.from_env(
            {
                **TEST_ENV,
                "MINHBACH_INSTANCE": str(tmp_path / "instance"),
                "MINHBACH_DATABASE_URL": url.render_as_string(hide_password=False),
            }
        )
        assert_reveals_nothing(create_app(settings).test_client().get(PATH), 200, HEALTHY)
