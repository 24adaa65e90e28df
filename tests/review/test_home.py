"""The landing page after login: who is signed in, as what, in which unit, with which key,
and until when."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework.dates import UNIT_TIME_ZONE
from store.models import ReviewSession
from tests.review.conftest import Account, post_login

ROLES = {
    "lan": ("Inspector", "reads reports"),
    "hoa": ("Head of the unit (identity custodian)", "reporter's identity"),
    "son": ("Supervisor", "audits who opened what"),
    "admin": ("Administrator", "reads no reports"),
}


@pytest.mark.parametrize("name", sorted(ROLES))
def test_the_page_shows_the_account_its_role_unit_and_key(
    app: Flask, accounts: dict[str, Account], name: str
) -> None:
    client = app.test_client()
    post_login(client, accounts[name])
    page = client.get("/").get_data(as_text=True)
    label, description = ROLES[name]
    assert f"<dd>{label}<span" in page
    assert description in page
    assert "Thanh tra tỉnh" in page
    assert f"<code>{accounts[name].username}</code>" in page
    fingerprint = crypto.fingerprint(crypto.public_bytes(accounts[name].private_key))
    assert f'id="fingerprint">{fingerprint}</code>' in page
    assert 'action="/logout"' in page


def test_the_page_shows_when_the_session_ends_in_the_units_time_zone(
    app: Flask, accounts: dict[str, Account], session: Session
) -> None:
    client = app.test_client()
    post_login(client, accounts["lan"])
    page = client.get("/").get_data(as_text=True)
    session.rollback()
    row = session.scalars(select(ReviewSession)).one()
    local = row.expires_at.astimezone(UNIT_TIME_ZONE)
    shown = re.search(r'id="session-expires">([^<]+)<', page)
    assert shown is not None
    assert local.strftime("%-I:%M") in shown.group(1)  # e.g. "7:17 AM" in English
    assert "after 30 minutes without activity" in page


def test_the_page_needs_a_session(app: Flask) -> None:
    response = app.test_client().get("/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/"
