"""The review app's outer defences: network allow-list, headers, CSRF, no inline code, no
third-party resources, nothing logged about requests."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.settings import Settings
from review import create_app
from review.network import is_allowed
from store.types import MAX_ID as MAX_DATABASE_ID
from tests.review.conftest import Account, csrf_token, post_login
from web.security import BASE_HEADERS

TEMPLATES = Path(__file__).resolve().parents[2] / "review" / "templates"
STATIC = TEMPLATES.parent / "static"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


# --- the allow-list -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/", "/static/css/review.css", "/no-such-page"])
def test_clients_outside_the_allowed_networks_are_refused_everywhere(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 403
    assert "cannot be used from your network" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers  # nothing started for an outsider
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value


def test_a_login_from_outside_is_refused_before_it_is_checked(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    account = accounts["lan"]
    data = {"username": account.username, "passphrase": account.passphrase, "code": account.code()}
    response = client.post("/login", data=data, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 403


def test_configured_networks_are_let_in(settings: Settings, accounts: dict[str, Account]) -> None:
    networks = (ipaddress.ip_network("10.20.0.0/16"),)
    app = create_app(replace(settings, review_allowed_networks=networks))
    client = app.test_client()
    assert client.get("/login", environ_base={"REMOTE_ADDR": "10.20.3.4"}).status_code == 200
    assert client.get("/login", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # a dual-stack socket's view of IPv4 loopback
        ("fe80::1%eth0", False),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("", False),
        (None, False),
        ("localhost", False),
        ("not an address", False),
    ],
)
def test_the_allow_list_reads_addresses_strictly(address: str | None, allowed: bool) -> None:
    assert is_allowed(address, LOOPBACK) is allowed


def test_forwarded_headers_are_not_believed(client: FlaskClient) -> None:
    response = client.get(
        "/login",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
        headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"},
    )
    assert response.status_code == 403


# --- headers, cookies, pages ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/static/css/review.css", "/no-such-page", "/"])
def test_every_response_has_the_strict_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "Server" not in response.headers
    assert "Strict-Transport-Security" not in response.headers


def test_the_flask_session_cookie_is_locked_down(client: FlaskClient) -> None:
    cookie = client.get("/login").headers["Set-Cookie"]
    assert cookie.startswith("mb_review=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Expires" not in cookie


def test_pages_have_no_inline_code_and_load_nothing_from_elsewhere(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    pages = [client.get("/login").get_data(as_text=True)]
    post_login(client, accounts["lan"])
    pages.append(client.get("/").get_data(as_text=True))
    pages.append(client.get("/no-such-page").get_data(as_text=True))
    for html in pages:
        assert "<script" not in html  # the review app needs no JavaScript at all
        assert "<style" not in html
        assert " style=" not in html
        assert re.search(r"\son[a-z]+=", html) is None
        assert re.search(r"""(src|href|action)=["'](https?:)?//""", html) is None


def test_templates_and_stylesheet_reference_no_other_site() -> None:
    files = [*TEMPLATES.glob("*.html"), *STATIC.rglob("*.css")]
    assert len(files) >= 5
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert re.search(r"(?:https?:)?//\w", text) is None, path  # no URL of another site
        assert "@import" not in text, path
        assert "|safe" not in text.replace(" ", ""), path


def test_logout_needs_the_anti_forgery_token(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    post_login(client, accounts["lan"])
    refused = client.post("/logout")
    assert refused.status_code == 400
    assert "This form is out of date" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 200  # still signed in


def test_the_anti_forgery_token_changes_at_login(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    before = csrf_token(client)
    post_login(client, accounts["lan"])
    after = csrf_token(client, "/")
    assert before != after
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400


def test_the_language_can_be_switched_without_javascript(client: FlaskClient) -> None:
    response = client.get("/language/vi?next=/login")
    assert (response.status_code, response.headers["Location"]) == (303, "/login")
    assert 'lang="vi"' in client.get("/login").get_data(as_text=True)


# --- logs -----------------------------------------------------------------------------------


def test_requests_leave_nothing_about_the_client_in_the_logs(
    app: Flask, accounts: dict[str, Account], caplog: pytest.LogCaptureFixture
) -> None:
    account = accounts["lan"]
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    agent = {"User-Agent": "Inspector-Browser/1.0"}
    client.get("/login", headers=agent, environ_base={"REMOTE_ADDR": "127.0.0.99"})
    post_login(client, account, passphrase="a wrong passphrase here")
    post_login(client, account)
    client.get("/", headers=agent)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("127.0.0.99", "Inspector-Browser", account.username, account.passphrase):
        assert secret not in logged
    assert "a wrong passphrase here" not in logged


@pytest.mark.parametrize(
    "path",
    ["/people/{id}", "/audit/person/{id}", "/cases/{case}/files/{id}"],
)
def test_an_id_no_database_can_hold_is_not_found(
    client: FlaskClient, accounts: dict[str, Account], path: str
) -> None:
    """2^63 and above would overflow the query (a 500 once): no route matches them."""
    assert post_login(client, accounts["admin"]).status_code == 303
    for number in (MAX_DATABASE_ID + 1, 2**256):
        url = path.format(id=number, case="00000000-0000-4000-8000-000000000000")
        assert client.get(url).status_code == 404


def test_a_cursor_past_any_id_is_refused_or_read_as_the_first_page(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    """Paging values from the address bar: the inbox's cursor and the audit log's "before".
    A number no database column holds never reaches a query (a 500 once)."""
    assert post_login(client, accounts["lan"]).status_code == 303
    cursor = base64.urlsafe_b64encode(json.dumps({"s": "newest", "i": 2**64}).encode()).decode()
    inbox = client.get(f"/cases?after={cursor.rstrip('=')}")
    assert inbox.status_code == 400
    supervisor = client.application.test_client()
    assert post_login(supervisor, accounts["son"]).status_code == 303
    assert supervisor.get(f"/audit/?before={2**70}").status_code == 200
