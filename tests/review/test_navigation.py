"""The persistent navigation (review.navigation): each role sees the places it may open and
no other, every one of them opens, and the page's own place is marked for screen readers."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import FAST, Account, post_login
from tests.worlds import World

CASES = ("/cases", "Cases")
REGISTER = ("/register", "Register a report")
ESCALATIONS = ("/escalations", "Escalations")
FORWARDED = ("/forwarded", "Forwarded cases")
DASHBOARD = ("/dashboard", "Dashboard")
AUDIT = ("/audit/", "Audit log")
OPENINGS = ("/audit/identity-openings", "Identity openings")
PEOPLE = ("/admin/people", "People")
RECEPTION = ("/admin/reception", "Reception schedule")
ACCOUNT = ("/", "Your account")

PLACES = {
    "lan": [CASES, REGISTER, ESCALATIONS, FORWARDED, ACCOUNT],
    "hoa": [CASES, REGISTER, ESCALATIONS, FORWARDED, DASHBOARD, AUDIT, OPENINGS, ACCOUNT],
    "son": [ESCALATIONS, FORWARDED, DASHBOARD, AUDIT, OPENINGS, ACCOUNT],
    "admin": [PEOPLE, RECEPTION, ACCOUNT],
}
NAV = re.compile(r'<nav class="places"[^>]*>(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"(?: aria-current="(\w+)")?>([^<]+)</a>')


@pytest.fixture
def sealed(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST)


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    assert post_login(client, account).status_code == 303
    return client


def marked(client: FlaskClient, path: str) -> list[tuple[str, str]]:
    """The places the page at ``path`` marks as current, with their aria-current."""
    return [(url, current) for url, current, _label in places(client, path) if current]


def places(client: FlaskClient, path: str) -> list[tuple[str, str, str]]:
    """(url, aria-current or "", label) of every place the page at ``path`` offers."""
    response = client.get(path)
    assert response.status_code == 200, path
    found = NAV.search(response.get_data(as_text=True))
    assert found is not None, f"no navigation on {path}"
    return LINK.findall(found.group(1))


@pytest.mark.parametrize("name", sorted(PLACES))
def test_each_role_is_offered_its_own_places_and_every_one_opens(
    app: Flask, accounts: dict[str, Account], name: str
) -> None:
    client = signed_in(app, accounts[name])
    offered = places(client, "/")
    assert [(url, label) for url, _current, label in offered] == PLACES[name]
    for url, _current, _label in offered:
        assert client.get(url).status_code == 200, url  # never a place that answers 403


@pytest.mark.parametrize("name", sorted(PLACES))
def test_the_page_marks_its_own_place_and_no_other(
    app: Flask, accounts: dict[str, Account], name: str
) -> None:
    client = signed_in(app, accounts[name])
    for url, label in PLACES[name]:
        assert marked(client, url) == [(url, "page")], label


def test_a_case_page_marks_the_cases_as_where_it_belongs(
    app: Flask, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    client = signed_in(app, accounts["lan"])
    public_id = sealed.case.public_id
    for path in (f"/cases/{public_id}", f"/cases/{public_id}/workflow"):
        assert marked(client, path) == [("/cases", "true")], path  # the way back to the inbox


def test_the_audit_trail_of_a_person_belongs_to_the_audit_log(
    app: Flask, accounts: dict[str, Account]
) -> None:
    client = signed_in(app, accounts["son"])
    path = f"/audit/person/{accounts['lan'].inspector_id}"
    assert marked(client, path) == [("/audit/", "true")]


def test_a_page_in_the_account_marks_the_account(app: Flask, accounts: dict[str, Account]) -> None:
    client = signed_in(app, accounts["admin"])
    assert marked(client, "/account/passphrase") == [("/", "true")]


def test_nobody_signed_in_sees_no_places(app: Flask) -> None:
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'class="places"' not in page


def test_a_question_page_belongs_to_the_place_it_was_asked_from(
    app: Flask, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    client = signed_in(app, accounts["lan"])
    path = f"/cases/{sealed.case.public_id}/forward"
    assert marked(client, path) == [("/cases", "true")]
