"""Every response carries the strict headers; cookies are locked down; errors stay polite."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.settings import Settings
from submit import create_app
from web.i18n import safe_local_path
from web.security import BASE_HEADERS

PATHS = [
    "/report",
    "/api/v1/recipients",
    "/static/css/site.css",
    "/no-such-page",
    "/api/v1/no-such-endpoint",
    "/language/vi?next=/report",
]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_has_the_strict_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "Server" not in response.headers
    assert "Strict-Transport-Security" not in response.headers  # not configured for HTTPS


def test_csp_allows_no_inline_code_and_no_third_party() -> None:
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in BASE_HEADERS["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    for value in policy.values():
        assert "unsafe" not in value
        assert "http" not in value
        assert "*" not in value


def test_pages_have_no_inline_script_or_style(client: FlaskClient) -> None:
    html = client.get("/report").get_data(as_text=True)
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert "<style" not in html
    assert " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no event-handler attributes


def test_session_cookie_is_locked_down(client: FlaskClient) -> None:
    response = client.get("/report")  # renders a CSRF token, so a session starts
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("mb_submit=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Expires" not in cookie  # a browser-session cookie


def test_https_deployments_get_secure_cookies_and_hsts(settings: Settings) -> None:
    from dataclasses import replace

    app = create_app(replace(settings, public_https=True))
    response = app.test_client().get("/report")
    assert "Secure" in response.headers.get("Set-Cookie", "")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_onion_location_is_advertised_on_pages_only(settings: Settings) -> None:
    from dataclasses import replace

    app = create_app(replace(settings, onion_location="http://example.onion"))
    client = app.test_client()
    assert client.get("/report").headers["Onion-Location"] == "http://example.onion/report"
    assert "Onion-Location" not in client.get("/static/css/site.css").headers


def test_language_switch_works_without_javascript(client: FlaskClient) -> None:
    response = client.get("/language/en?next=/report")
    assert response.status_code == 303
    assert response.headers["Location"] == "/report"
    assert 'lang="en"' in client.get("/report").get_data(as_text=True)
    client.get("/language/vi?next=/report")
    assert 'lang="vi"' in client.get("/report").get_data(as_text=True)


def test_unknown_language_is_not_found(client: FlaskClient) -> None:
    assert client.get("/language/xx").status_code == 404


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/report", "/report"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
        ("", "/"),
    ],
)
def test_language_switch_never_redirects_away(target: str | None, expected: str) -> None:
    assert safe_local_path(target) == expected


def test_not_found_is_a_page_for_people_and_json_for_the_api(client: FlaskClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    api = client.get("/api/v1/no-such-endpoint")
    assert api.status_code == 404
    assert api.get_json()["error"]["code"] == "not_found"


def test_unexpected_errors_log_no_message(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    secret = "-".join(["secret", "canary", "value"])  # not in the source as one string

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError(secret)

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert secret not in response.get_data(as_text=True)
    assert "RuntimeError" in caplog.text
    assert secret not in caplog.text


def test_state_changes_need_a_csrf_token(client: FlaskClient) -> None:
    response = client.post("/api/v1/uploads", json={"size": 100})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
