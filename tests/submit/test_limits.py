"""Rate limits: keyed by subject (never by address), configurable, answered with a clear 429."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse_many

from casework.settings import ConfigError, Settings
from submit import create_app, limits
from submit.limits import CASE, GLOBAL, LIMITS, UPLOAD, Rule
from tests.submit.test_api_support import Api, api, openapi_checked
from tests.worlds import World
from web.limit_storage import SqliteStorage
from web.limits import OVERRIDES, SCALE, effective_limit

__all__ = ["api", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")


def per_second(limit: str) -> dict[int, float]:
    """Allowed requests per window length, to compare two limits window by window."""
    return {item.get_expiry(): item.amount for item in parse_many(limit)}


def state(app: Flask) -> limits.Limits:
    value: limits.Limits = app.extensions[limits.EXTENSION]
    return value


def test_the_table_covers_reports_code_checks_uploads_and_challenges() -> None:
    required = {
        "api.submit_report",
        "report.submit",
        "api.followup_session",
        "followup.open",
        "api.create_upload",
        "api.upload_append",
        "api.pow_challenge",
    }
    assert required <= set(LIMITS)
    for rules in LIMITS.values():
        for rule in rules:
            assert parse_many(rule.limit)  # every string is valid limits notation
    assert {rule.subject for rule in LIMITS["api.upload_append"]} == {GLOBAL, UPLOAD}


@pytest.mark.parametrize(
    ("no_js", "js"),
    [("report.submit", "api.submit_report"), ("followup.open", "api.followup_session")],
)
def test_paths_without_proof_of_work_are_stricter(no_js: str, js: str) -> None:
    strict, lenient = per_second(LIMITS[no_js][0].limit), per_second(LIMITS[js][0].limit)
    assert strict.keys() == lenient.keys()
    assert all(strict[window] < lenient[window] for window in strict)


def test_endpoints_the_app_lacks_are_skipped_explicitly(app: Flask) -> None:
    applied, skipped = state(app).applied, state(app).skipped
    assert set(applied) | set(skipped) == set(LIMITS)
    assert all(endpoint in app.view_functions for endpoint in applied)
    assert not any(endpoint in app.view_functions for endpoint in skipped)
    assert {"api.submit_report", "api.create_upload", "api.pow_challenge"} <= set(applied)


def in_force(config: Mapping[str, object], endpoint: str, rule: Rule) -> str:
    return effective_limit(config, endpoint, rule.subject.value, rule.limit)


def test_overrides_and_scale_change_the_limit_in_force() -> None:
    rule = Rule("10 per minute; 100 per hour", UPLOAD)
    assert in_force({}, "api.x", rule) == rule.limit
    overridden = {OVERRIDES: {"api.x": {"upload": "2 per minute"}}}
    assert in_force(overridden, "api.x", rule) == "2 per minute"
    assert in_force(overridden, "api.y", rule) == rule.limit
    assert in_force({OVERRIDES: {"api.x": {"global": "1/second"}}}, "api.x", rule) == rule.limit
    scaled = in_force({SCALE: 2.5}, "api.x", rule)
    assert per_second(scaled) == {60: 25, 3600: 250}
    assert per_second(in_force({SCALE: 0.001}, "api.x", rule)) == {60: 1, 3600: 1}


def test_limits_are_set_from_the_environment(settings: Settings, world: World) -> None:
    env = {
        "MINHBACH_RATE_LIMIT_SCALE": "1000",
        "MINHBACH_RATE_LIMITS": '{"report.submit": {"global": "7 per minute"}}',
    }
    configured = dataclasses.replace(
        settings,
        rate_limit_scale=Settings.from_env(env).rate_limit_scale,
        rate_limits=Settings.from_env(env).rate_limits,
    )
    app = create_app(configured)
    assert per_second(in_force(app.config, "report.submit", LIMITS["report.submit"][0])) == {
        60: 7000
    }
    assert (
        per_second(in_force(app.config, "api.submit_report", LIMITS["api.submit_report"][0]))[60]
        == 20 * 1000
    )


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ('{"report.submit": {"global": "7 per minute"', "must be JSON"),
        ('{"report.submit": "7 per minute"}', "must be JSON"),
        ('{"report.nothing": {"global": "7 per minute"}}', "no limit report.nothing/global"),
        ('{"report.submit": {"upload": "7 per minute"}}', "no limit report.submit/upload"),
        ('{"report.submit": {"global": "seven a minute"}}', "is not a limit"),
    ],
)
def test_a_limit_setting_that_cannot_be_used_stops_the_app(
    settings: Settings, world: World, raw: str, complaint: str
) -> None:
    def start() -> None:
        limits_of = Settings.from_env({"MINHBACH_RATE_LIMITS": raw}).rate_limits
        create_app(dataclasses.replace(settings, rate_limits=limits_of))

    with pytest.raises(ConfigError, match=complaint):
        start()


def test_a_scale_that_is_not_a_number_is_refused() -> None:
    for raw in ("fast", "0", "nan", "inf", "-2"):
        with pytest.raises(ConfigError, match="MINHBACH_RATE_LIMIT_SCALE"):
            Settings.from_env({"MINHBACH_RATE_LIMIT_SCALE": raw})


def test_the_request_past_a_tiny_limit_gets_429_json(app: Flask, api: Api) -> None:
    app.config[OVERRIDES] = {"api.pow_challenge": {"global": "2 per minute"}}
    for _ in range(2):
        assert api.post("/pow", {"purpose": "report"}).status_code == 200
    response = api.post("/pow", {"purpose": "report"})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert "minute" in response.get_json()["error"]["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert not any(name.startswith("X-RateLimit") for name, _value in response.headers)


def test_the_request_past_a_tiny_limit_gets_a_429_page(
    settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "LIMITS", {"language": (Rule("1 per minute"),)})
    app = create_app(settings)
    client = app.test_client()
    assert client.get("/language/en").status_code == 303
    response = client.get("/language/en")
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert "Too many requests" in page
    assert int(response.headers["Retry-After"]) >= 1


def test_per_upload_limits_count_each_upload_apart(app: Flask, api: Api) -> None:
    app.config[OVERRIDES] = {"api.upload_offset": {"upload": "2 per minute"}}
    first, second = api.create_upload(10), api.create_upload(10)
    assert [api.head(first).status_code for _ in range(3)] == [200, 200, 429]
    assert api.head(second).status_code == 200


def test_global_limits_count_every_upload_together(app: Flask, api: Api) -> None:
    app.config[OVERRIDES] = {"api.upload_append": {"global": "2 per minute"}}
    first, second = api.create_upload(10), api.create_upload(10)
    assert api.patch(first, 0, b"a").status_code == 204
    assert api.patch(second, 0, b"b").status_code == 204
    assert api.patch(first, 1, b"c").status_code == 429


def test_per_case_limits_follow_the_follow_up_session(
    settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "LIMITS", {"language": (Rule("1 per minute", CASE),)})
    app = create_app(settings)

    def client_of(case: str) -> FlaskClient:
        client = app.test_client()
        with client.session_transaction() as session:
            session["followup_case"] = case
        return client

    first, second = client_of("case-a"), client_of("case-b")
    assert [first.get("/language/vi").status_code for _ in range(2)] == [303, 429]
    assert second.get("/language/vi").status_code == 303
    assert client_of("case-a").get("/language/vi").status_code == 429  # same case, new browser


def stored_keys(app: Flask) -> list[str]:
    """The keys in the app's limit storage: the instance's SQLite file by default."""
    storage = state(app).limiter.storage
    assert isinstance(storage, SqliteStorage)
    with sqlite3.connect(storage.path) as connection:
        return [key for (key,) in connection.execute("SELECT key FROM counters")]


def test_the_limit_storage_holds_no_upload_id(app: Flask, api: Api) -> None:
    token = api.create_upload(10)
    api.head(token)
    api.patch(token, 0, b"abc")
    keys = " ".join(stored_keys(app))
    assert "upload:" in keys  # the per-upload counters are there...
    assert token not in keys  # ...under a keyed digest, not the capability


def test_apps_of_one_instance_count_together(settings: Settings, world: World) -> None:
    """Two processes of one instance (two gunicorn workers) share one limit; an app
    configured with storage of its own counts for itself."""
    apps = [create_app(settings), create_app(settings)]
    apps.append(create_app(dataclasses.replace(settings, ratelimit_storage_uri="memory://")))
    for app in apps:
        app.config[OVERRIDES] = {"api.pow_challenge": {"global": "1 per minute"}}
    clients = [Api(app, app.test_client()) for app in apps]
    assert clients[0].post("/pow", {"purpose": "report"}).status_code == 200
    assert clients[0].post("/pow", {"purpose": "report"}).status_code == 429
    assert clients[1].post("/pow", {"purpose": "report"}).status_code == 429
    assert clients[2].post("/pow", {"purpose": "report"}).status_code == 200


def test_spent_challenges_are_recorded_in_the_limit_storage(app: Flask, api: Api) -> None:
    api.create_upload(10)
    spent = [key for key in stored_keys(app) if "minhbach/pow/" in key]
    assert len(spent) == 1
    storage = state(app).limiter.storage
    with app.app_context():
        assert limits.ledger() is storage
