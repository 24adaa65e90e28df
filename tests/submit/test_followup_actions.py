"""The case page as the server draws it: where the report stands and the messages first,
then "What you can do", one closed <details> entry per action the case allows now, and the
entry of a refused request open again (followup_case.html, followup_actions.html)."""

from __future__ import annotations

from datetime import date, timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from submit.shown import ShownDeadline
from submit.views.followup import next_deadline
from tests.submit.test_followup_pages import (
    QUESTION,
    Story,
    form_token,
    granted,
    reload,
    store,
    unit_message,
)
from tests.submit.test_followup_status import LONG_AGO, decide, named, page_of
from tests.submit.test_report_form import parse
from tests.worlds import World

__all__ = ["named", "store"]  # the fixtures, used by name

TODAY = date(2026, 12, 6)


def clock(key: str, due_on: date | None) -> ShownDeadline:
    return ShownDeadline(key, key, True, due_on, None, "30 days", None, False)


def test_what_comes_next_is_the_clock_that_falls_due_first() -> None:
    later, sooner = clock("resolution", TODAY + timedelta(days=9)), clock("notice", TODAY)
    paused = clock("inspection", None)
    assert next_deadline([paused, later, sooner]) == sooner
    assert next_deadline([paused, clock("other", None)]) == paused  # all stand still
    assert next_deadline([]) is None


def entries(page: str) -> dict[str, bool]:
    """The page's entries under "What you can do": key -> open."""
    return {
        attrs["id"].removesuffix("-entry"): "open" in attrs
        for tag, attrs in parse(page).tags
        if tag == "details" and attrs.get("id", "").endswith("-entry")
    }


def test_status_and_messages_come_before_the_actions_each_behind_a_closed_entry(
    client: FlaskClient,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    named: Story,
) -> None:
    message = unit_message(session, store, world, named, QUESTION)
    page = page_of(client, named)
    places = [page.index(f'id="{name}"') for name in ("status-heading", "messages")]
    places += [page.index('id="actions-heading"'), page.index('id="deadlines-heading"')]
    assert places == sorted(places)
    assert page.index(QUESTION) < page.index('id="actions-heading"')
    first_form = page.index("<form", page.index('id="status-heading"'))
    assert first_form > page.index('id="actions-heading"')
    assert entries(page) == dict.fromkeys(
        ("reply", "retaliation", "protection-request", "escalate", "withdraw"), False
    )
    # The summary: what comes next (the overdue triage) and a link to the newest message.
    step = page[page.index('id="next-step"') : page.index("</dd>", page.index('id="next-step"'))]
    assert "Decision on accepting the report" in step
    assert "Overdue" in step
    assert f'href="#message-{message.id}"' in page


def test_a_refused_request_comes_back_in_its_open_entry(
    client: FlaskClient, session: Session, named: Story
) -> None:
    page_of(client, named)
    refused = client.post(
        "/followup/withdraw",
        data={
            "csrf_token": form_token(client),
            "withdraw_scope": "part",
            "withdraw_confirm": "yes",
        },
    )
    assert refused.status_code == 400
    opened = entries(refused.text)
    assert opened.pop("withdraw") is True
    assert not any(opened.values())
    assert 'href="#withdraw_reason"' in refused.text


def test_a_concluded_report_offers_no_withdrawal_and_says_why(
    client: FlaskClient, session: Session, world: World, settings: Settings, named: Story
) -> None:
    start = LONG_AGO + timedelta(days=1)
    decide(session, world, named, ("accepted", start), ("verifying", start), ("concluded", start))
    page = page_of(client, named)
    assert "withdraw" not in entries(page)
    assert "re-denounce" not in entries(page)
    assert "redenounce" in entries(page)  # the resolution may now be re-denounced
    assert 'id="withdraw-ended"' in page


def test_a_refused_ask_about_protection_comes_back_in_its_open_entry(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    record = granted(session, world, reload(session, named))
    page = page_of(client, named)
    assert item_entries(page) == [False]  # the record's own entry, closed
    refused = client.post(
        f"/followup/protection/{record.id}/asks",
        data={"csrf_token": form_token(client), "ask_kind": "", "ask_text": "Thêm người."},
    )
    assert refused.status_code == 400
    assert item_entries(refused.text) == [True]
    assert not any(entries(refused.text).values())
    assert "Thêm người." in refused.text
    assert f'href="#ask-{record.id}-kind"' in refused.text


def item_entries(page: str) -> list[bool]:
    """Whether each entry of a listed item (a retaliation report, a protection) is open."""
    return [
        "open" in attrs
        for tag, attrs in parse(page).tags
        if tag == "details" and "item-action" in attrs.get("class", "")
    ]
