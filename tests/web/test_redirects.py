"""Return addresses (``next``) never leave the app, on both apps: known bypasses of a
check that only looks at the first characters, through every endpoint that redirects to
one, answer a plain local path (home) and never a 5xx."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import review
import submit
from casework.settings import Settings
from tests.review.conftest import Account, give_credentials, post_login, review_settings
from tests.submit.conftest import TEST_ENV
from tests.worlds import World
from web.redirects import local_path

EVIL = "evil.example"
# Each as the app receives it, once the query or form is decoded.
BYPASSES = [
    pytest.param(f"/\t/{EVIL}/x", id="tab"),
    pytest.param(f"/\n/{EVIL}/x", id="newline"),
    pytest.param(f"/\r/{EVIL}/x", id="carriage-return"),
    pytest.param(f"/\r\n/{EVIL}/x", id="crlf"),
    pytest.param(f"\t//{EVIL}/x", id="leading-tab"),
    pytest.param(f" //{EVIL}/x", id="leading-space"),
    pytest.param(f"/x\\..\\..\\{EVIL}", id="backslash"),
    pytest.param(f"/\\{EVIL}/x", id="slash-backslash"),
    pytest.param(f"\\\\{EVIL}/x", id="backslashes"),
    pytest.param(f"/%2F/{EVIL}/x", id="encoded-slash"),
    pytest.param(f"/%2f%2f{EVIL}/x", id="encoded-slashes"),
    pytest.param(f"/%5C{EVIL}/x", id="encoded-backslash"),
    pytest.param(f"/%252F%252F{EVIL}/x", id="double-encoded-slashes"),
    pytest.param(f"/%0A/{EVIL}/x", id="encoded-newline"),
    pytest.param(f"/%09/{EVIL}/x", id="encoded-tab"),
    pytest.param(f"/%0D%0ALocation:%20https://{EVIL}", id="encoded-header-split"),
    pytest.param(f"/%00/{EVIL}", id="encoded-nul"),
    pytest.param(f"/%E3%80%80/{EVIL}", id="encoded-ideographic-space"),
    pytest.param(f"//{EVIL}/x", id="scheme-relative"),
    pytest.param(f"///{EVIL}/x", id="triple-slash"),
    pytest.param(f"http://{EVIL}/x", id="http"),
    pytest.param(f"https:{EVIL}", id="https-without-slashes"),
    pytest.param(f"http:/{EVIL}", id="http-one-slash"),
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("JaVaScRiPt:alert(1)", id="javascript-mixed-case"),
    pytest.param(f"/@{EVIL}", id="userinfo"),
    pytest.param(f"/user:pass@{EVIL}", id="userinfo-password"),
    pytest.param(f"/\u3000/{EVIL}", id="ideographic-space"),
    pytest.param(f"/\u00a0/{EVIL}", id="no-break-space"),
    pytest.param(f"/\u2028/{EVIL}", id="line-separator"),
    pytest.param(f"/\u200b/{EVIL}", id="zero-width-space"),
    pytest.param(f"/\ufeff/{EVIL}", id="byte-order-mark"),
    pytest.param(f"/\u202e/{EVIL}", id="right-to-left-override"),
    pytest.param(f"/\x00/{EVIL}", id="nul"),
    pytest.param(f"/\x7f/{EVIL}", id="delete"),
    pytest.param(f"/\x0b/{EVIL}", id="vertical-tab"),
]
KEPT = ["/report", "/?tab=mine", "/cases?status=received&sort=newest", "/followup"]


def assert_local(response: TestResponse) -> None:
    """A redirect to a path of this app, and no error."""
    assert response.status_code < 500
    assert response.status_code == 303
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("", "")
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location
    assert not any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in location)
    assert EVIL not in location


# --- the check itself --------------------------------------------------------------------


@pytest.mark.parametrize("target", BYPASSES)
def test_a_bypass_is_refused_for_home(target: str) -> None:
    assert local_path(target) == "/"


@pytest.mark.parametrize("target", [None, "", "report", 7, b"/report", ["/report"]])
def test_anything_but_a_path_is_home_and_never_raises(target: object) -> None:
    assert local_path(target) == "/"


@pytest.mark.parametrize("target", KEPT)
def test_a_plain_path_of_the_app_is_kept(target: str) -> None:
    assert local_path(target) == target


# --- both apps ----------------------------------------------------------------------------


@pytest.fixture
def submit_app(engine: Engine, tmp_path: Path, world: World) -> Flask:
    settings = Settings.from_env(
        {
            **TEST_ENV,
            "MINHBACH_INSTANCE": str(tmp_path / "submit-instance"),
            "MINHBACH_DATABASE_URL": str(engine.url),
        }
    )
    app = submit.create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def accounts(session: Session, world: World) -> dict[str, Account]:
    return give_credentials(session, world)


@pytest.fixture
def review_app(engine: Engine, tmp_path: Path, accounts: dict[str, Account]) -> Flask:
    app = review.create_app(review_settings(engine, tmp_path))
    app.config["TESTING"] = True
    return app


@pytest.mark.parametrize("target", BYPASSES)
@pytest.mark.parametrize("which", ["submit", "review"])
def test_the_language_switch_stays_on_the_app(
    submit_app: Flask, review_app: Flask, which: str, target: str
) -> None:
    client = (submit_app if which == "submit" else review_app).test_client()
    response = client.get("/language/en", query_string={"next": target})
    assert_local(response)
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("which", ["submit", "review"])
def test_the_language_switch_keeps_a_path_of_the_app(
    submit_app: Flask, review_app: Flask, which: str
) -> None:
    client = (submit_app if which == "submit" else review_app).test_client()
    for target in KEPT:
        response = client.get("/language/vi", query_string={"next": target})
        assert_local(response)
        assert response.headers["Location"] == target


@pytest.mark.parametrize("target", BYPASSES)
def test_signing_in_returns_only_to_a_path_of_the_review_app(
    review_app: Flask, accounts: dict[str, Account], target: str
) -> None:
    client = review_app.test_client()
    response = post_login(client, accounts["lan"], next_path=target)
    assert_local(response)
    assert response.headers["Location"] == "/"
    assert client.get_cookie("mb_review_session") is not None  # the sign-in did succeed


def test_the_login_page_of_a_signed_in_inspector_stays_on_the_review_app(
    review_app: Flask, accounts: dict[str, Account]
) -> None:
    client = review_app.test_client()
    assert post_login(client, accounts["lan"]).status_code == 303
    for param in BYPASSES:
        (target,) = param.values
        response = client.get("/login", query_string={"next": target})
        assert_local(response)
        assert response.headers["Location"] == "/", param.id
