"""Which language a page is in: the visitor's choice, else their browser's preference,
else the instance's default; and the header alone stores nothing and keeps caches apart."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web.errors import HTTP_MESSAGES

VIETNAMESE_FIRST = {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}
ENGLISH_FIRST = {"Accept-Language": "en-US,en;q=0.5"}
NEITHER = {"Accept-Language": "fr-FR,de;q=0.8"}


def language_of(client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> str:
    page = client.get(path, headers=headers or {}).get_data(as_text=True)
    return "vi" if '<html lang="vi"' in page else "en" if '<html lang="en"' in page else "?"


@pytest.mark.parametrize("path", ["/", "/report", "/followup", "/no-such-page"])
def test_the_browser_preference_decides_until_the_visitor_chooses(
    client: FlaskClient, path: str
) -> None:
    assert language_of(client, path, VIETNAMESE_FIRST) == "vi"
    assert language_of(client, path, ENGLISH_FIRST) == "en"
    client.get("/language/en")
    assert language_of(client, path, VIETNAMESE_FIRST) == "en"  # the choice wins


def test_without_a_preference_for_either_the_instance_default_holds(client: FlaskClient) -> None:
    # tests.submit.conftest sets MINHBACH_DEFAULT_LANGUAGE=en.
    assert language_of(client, "/", NEITHER) == "en"
    assert language_of(client, "/") == "en"


def test_the_header_alone_stores_nothing_and_keeps_caches_apart(app: Flask) -> None:
    """The header is not remembered: what a page stores (a form's CSRF token) is the same
    with it as without it, and no language is put in the session."""
    for path in ("/", "/report", "/no-such-page"):
        plain, preferring = app.test_client(), app.test_client()
        without = plain.get(path)
        response = preferring.get(path, headers=VIETNAMESE_FIRST)
        assert ("Set-Cookie" in response.headers) == ("Set-Cookie" in without.headers), path
        assert "Accept-Language" in response.vary, path
        with preferring.session_transaction() as stored:
            assert "lang" not in stored, path


def test_a_chosen_language_does_not_vary_on_the_header(client: FlaskClient) -> None:
    client.get("/language/vi")
    assert "Accept-Language" not in client.get("/", headers=ENGLISH_FIRST).vary


def test_error_pages_speak_the_reader_s_language(client: FlaskClient) -> None:
    english = client.get("/no-such-page", headers=ENGLISH_FIRST).get_data(as_text=True)
    assert "There is no page at this address." in english
    assert "requested URL" not in english  # Werkzeug's stock text, English only
    vietnamese = client.get("/no-such-page", headers=VIETNAMESE_FIRST).get_data(as_text=True)
    assert "requested URL" not in vietnamese
    assert '<html lang="vi"' in vietnamese


def test_every_stock_error_has_a_message_of_ours() -> None:
    assert set(HTTP_MESSAGES) >= {400, 403, 404, 405, 413, 429, 500}
