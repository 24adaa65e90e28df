"""The inbox screen: the signed-in inspector's cases, filtered by a plain GET form, in an
accessible table with text marks, paged by a "next page" link that carries the cursor."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from casework import inbox, intake
from casework.dates import unit_today
from casework.intake import public_reference
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from casework.settings import Settings
from store.models import (
    Case,
    CaseExclusion,
    ProtectedPerson,
    ProtectionCategory,
    RecipientKind,
)
from tests.review.conftest import Account, post_login
from tests.store.factories import add_case, add_wrap
from tests.worlds import World

_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def readable_case(session: Session, world: World, *readers: str, **values: Any) -> Case:
    case = add_case(session, world.unit, **values)
    add_wrap(session, case, RecipientKind.REPORTER)
    for name in readers:
        add_wrap(session, case, RecipientKind.INSPECTOR, world.people[name])
    session.commit()
    return case


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    assert post_login(client, account).status_code == 303
    return client


def page_of(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status
    return response.get_data(as_text=True)


def references_in(page: str) -> list[str]:
    return re.findall(r"<code>(MB-[0-9A-F]{8})</code>", page)


def test_the_inbox_needs_a_session_and_a_role_that_reads_cases(
    app: Flask, accounts: dict[str, Account]
) -> None:
    response = app.test_client().get("/cases?status=received")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=/cases")
    for name in ("son", "admin"):
        assert signed_in(app, accounts[name]).get("/cases").status_code == 403
    assert signed_in(app, accounts["hoa"]).get("/cases").status_code == 200


def test_home_links_readers_to_the_inbox(app: Flask, accounts: dict[str, Account]) -> None:
    assert 'href="/cases"' in page_of(signed_in(app, accounts["lan"]), "/")
    assert 'href="/cases"' not in page_of(signed_in(app, accounts["son"]), "/")


def test_lists_only_the_inspectors_own_cases_with_text_marks(
    app: Flask, accounts: dict[str, Account], session: Session, world: World
) -> None:
    today = unit_today()
    flagged = readable_case(
        session,
        world,
        "lan",
        "minh",
        urgent=True,
        protection_requested=True,
        retaliation_reported=True,
        received_on=today,
        next_due=today - timedelta(days=1),
    )
    # Registered after ``flagged`` but received before it (a letter entered late).
    soon = readable_case(
        session,
        world,
        "lan",
        received_on=today - timedelta(days=5),
        next_due=today + timedelta(days=2),
    )
    not_mine = readable_case(session, world, "minh")
    excluded = readable_case(session, world, "minh")
    session.add(CaseExclusion(case=excluded, inspector=world.people["lan"]))
    session.commit()

    page = page_of(signed_in(app, accounts["lan"]), "/cases")
    assert references_in(page) == [  # newest received first, whatever the order of entry
        public_reference(flagged.public_id),
        public_reference(soon.public_id),
    ]
    assert public_reference(not_mine.public_id) not in page
    assert public_reference(excluded.public_id) not in page
    flagged_row = page[page.index(public_reference(flagged.public_id)) :].split("</tr>")[0]
    for mark in ("Unread", "Overdue", "Urgent", "Protection requested", "Retaliation reported"):
        assert f">{mark}</li>" in flagged_row
    soon_row = page[page.index(public_reference(soon.public_id)) :].split("</tr>")[0]
    assert ">Due soon</li>" in soon_row
    assert ">Overdue</li>" not in soon_row
    assert "<caption>" in page
    assert '<th scope="row" role="rowheader" class="inbox-reference">' in page
    for label in ("Received", "Next deadline", "Status", "Category", "Kind of report"):
        assert f'<td role="cell" data-label="{label}">' in page  # the phone's card labels
    assert 'rel="next"' not in page  # everything fits on one page


def test_filters_come_from_the_query_and_stay_filled_in(
    app: Flask, accounts: dict[str, Account], session: Session, world: World
) -> None:
    verifying = readable_case(session, world, "lan", status="verifying", category="procurement")
    readable_case(session, world, "lan", status="verifying", category="land")
    readable_case(session, world, "lan", status="received", category="procurement")
    urgent = readable_case(session, world, "lan", status="verifying", urgent=True)

    client = signed_in(app, accounts["lan"])
    page = page_of(client, "/cases?status=verifying&category=procurement")
    assert references_in(page) == [public_reference(verifying.public_id)]
    assert '<option value="verifying" selected>' in page
    assert '<option value="procurement" selected>' in page
    assert 'method="get"' in page

    page = page_of(client, "/cases?urgent=1&due_soon=&days=3")
    assert references_in(page) == [public_reference(urgent.public_id)]
    assert 'id="urgent" name="urgent" value="1" checked' in page
    assert 'name="days" value="3"' in page


def test_the_next_page_link_carries_the_filters_and_the_cursor(
    app: Flask, accounts: dict[str, Account], session: Session, world: World
) -> None:
    count = inbox.DEFAULT_PAGE_SIZE + 2
    cases = [readable_case(session, world, "lan", status="triage") for _ in range(count)]
    readable_case(session, world, "lan", status="received")
    client = signed_in(app, accounts["lan"])

    seen: list[str] = []
    path = "/cases?status=triage&sort=oldest"
    while True:
        page = page_of(client, path)
        seen += references_in(page)
        found = _NEXT.search(page)
        if found is None:
            break
        path = found.group(1).replace("&amp;", "&")
        assert "status=triage" in path
        assert "sort=oldest" in path
        assert "after=" in path
    assert seen == [public_reference(case.public_id) for case in cases]
    assert 'href="/cases?status=triage&amp;sort=oldest">First page' in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=%3Cb%3E", "status"),
        ("category=Land%20Management", "category"),
        ("days=-1&due_soon=1", "days"),
        ("sort=random", "sort"),
    ],
)
def test_bad_filters_are_explained_and_linked_to_their_field(
    app: Flask, accounts: dict[str, Account], query: str, field: str
) -> None:
    page = page_of(signed_in(app, accounts["lan"]), f"/cases?{query}", status=400)
    assert 'role="alert"' in page
    assert f'href="#{field}"' in page
    assert f'id="{field}-error"' in page
    assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"', page)
    assert "<b>" not in page  # what was typed comes back as text


def test_a_broken_or_foreign_cursor_sends_back_to_the_first_page(
    app: Flask, accounts: dict[str, Account]
) -> None:
    client = signed_in(app, accounts["lan"])
    for after in ("garbage", inbox.Cursor(inbox.Sort.NEWEST, 5, date(2026, 11, 27)).encode()):
        page = page_of(client, f"/cases?sort=due&after={after}", status=400)
        assert 'role="alert"' in page
        assert 'href="/cases?sort=due">This page link no longer works' in page


def test_rows_link_to_the_case_view_only_if_it_exists(
    app: Flask, accounts: dict[str, Account], session: Session, world: World
) -> None:
    case = readable_case(session, world, "lan")
    reference = public_reference(case.public_id)
    client = signed_in(app, accounts["lan"])
    if "cases.show" in app.view_functions:
        assert f'<a href="/cases/{case.public_id}"><code>{reference}</code></a>' in page_of(
            client, "/cases"
        )
    app.view_functions.pop("cases.show", None)
    page = page_of(client, "/cases")
    assert f"<code>{reference}</code>" in page
    assert f'href="/cases/{case.public_id}"' not in page


def test_values_from_the_database_render_as_text_never_as_markup(
    app: Flask, accounts: dict[str, Account], session: Session, world: World
) -> None:
    payloads = {
        "status": "<script>alert(1)</script>",
        "category": '<img src=x onerror="alert(2)">',
    }
    readable_case(session, world, "lan", **payloads)
    readable_case(session, world, "lan", category="**bold** [link](https://example.org)")
    page = page_of(signed_in(app, accounts["lan"]), "/cases")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page
    assert "<script" not in page
    assert "<img" not in page
    assert "**bold** [link](https://example.org)" in page  # markdown stays literal
    assert "<strong>" not in page
    assert 'href="https://example.org"' not in page
    assert " style=" not in page


def test_the_page_needs_no_script_and_has_strict_headers(
    app: Flask, accounts: dict[str, Account]
) -> None:
    response = signed_in(app, accounts["lan"]).get("/cases")
    page = response.get_data(as_text=True)
    assert "<script" not in page
    assert "style=" not in page
    assert "script-src" in response.headers["Content-Security-Policy"]
    assert '<label for="status">' in page
    assert '<label for="days">' in page
    assert 'aria-describedby="days-hint"' in page


def test_a_sealed_submission_reaches_the_inbox_of_everyone_but_the_excluded(
    app: Flask, accounts: dict[str, Account], session: Session, world: World, settings: Settings
) -> None:
    recipients = unit_recipients(session, world.unit)
    keys = NewCaseKeys()
    report = {"schema": 1, "language": "en", "category": "land", "what": "<b>bribes</b>"}
    submission = seal_submission(
        keys,
        recipients,
        category="land",
        report=report,
        identity=None,
        excluded=frozenset({world.people["lan"].id}),
        protection=frozenset({(ProtectedPerson.REPORTER, ProtectionCategory.JOB)}),
    )
    intake.validate(submission, world.unit, recipients)
    intake.accept(
        session,
        submission,
        world.unit,
        intake.lookup_hash(submission, settings.code_kdf),
        unit_today(),
    )
    session.commit()
    reference = public_reference(keys.case_id)

    assert reference not in page_of(signed_in(app, accounts["lan"]), "/cases")
    for name in ("minh", "hoa"):
        page = page_of(signed_in(app, accounts[name]), "/cases?unread=1&protection=1&urgent=1")
        assert references_in(page) == [reference]
        row = page[page.index(reference) :].split("</tr>")[0]
        assert ">Unread</li>" in row
        assert ">Protection requested</li>" in row
        assert "bribes" not in page  # the list never decrypts anything
