"""The follow-up page checks the conversation itself (docs/crypto.md §13.5, §13.6).

The case's entries are changed in the database behind the page's back, as someone with
the database but not the keys could: a record's bytes, a message deleted from the middle,
messages cut off the end, and an entry that arrives while the reporter is writing. The
page must say which record was altered and where one is missing, never stop showing the
rest, notice fewer entries than it showed before, and seal a reply again over an end of
the conversation that moved, without losing a word.
"""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import FilePayload, Page
from sqlalchemy.orm import Session

import crypto
from casework.settings import Settings
from crypto.envelope import Kind
from crypto.transcript import file_digest
from store.blobs import FilesystemBlobStore
from store.models import Message, Party
from tests.browser import followup_page, helpers
from tests.browser.helpers import Made, Recorder
from tests.worlds import World

pytestmark = pytest.mark.browser

ALTERED = (
    "This record was altered in storage: it does not open as it was written, or it is not "
    "where it was written. Tell the person responsible for the service."
)
MISSING = (
    "An earlier message is missing here, or this one was moved: the conversation is not in "
    "the order it was written."
)
FEWER = "Fewer messages are shown now than when this page last showed your report"
UNIT_TEXTS = [f"Question {n} from the unit." for n in range(1, 5)]
REPLY_TEXT = "My answer, written while the unit wrote too. CANARYRACE81"
REPLY_FILE = b"CANARYRACEFILE82" * 1000
MESSAGES = "#followup-app li.message"


@pytest.fixture
def made(session: Session, world: World, settings: Settings) -> Made:
    return helpers.accept_case(session, world, settings, received=date.today())


def messages_of(session: Session) -> list[Message]:
    """The case's entries after the report, in transcript order."""
    return sorted(helpers.the_case(session).messages, key=lambda m: (m.seq is None, m.seq, m.id))


def send_reply(page: Page, text: str, files: list[FilePayload] | None = None) -> None:
    if not followup_page.is_open(page, "reply"):
        followup_page.open_action(page, "reply")
    page.fill("#followup-js-reply-text", text)
    if files:
        page.set_input_files("#followup-js-reply-files", files=files)
    page.click('#followup-app [data-slot="form-reply"] button[type=submit]')


def test_an_altered_entry_a_missing_one_and_fewer_entries_are_each_said(
    page: Page,
    base_url: str,
    recorder: Recorder,
    made: Made,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
) -> None:
    for text in UNIT_TEXTS:
        helpers.add_staff_entry(session, world, store, "lan", text)
    _first, second, third, fourth = messages_of(session)
    # The last entry's ciphertext changes by one bit; the second entry disappears.
    body = bytearray(fourth.body)
    body[-100] ^= 1
    fourth.body = bytes(body)
    session.delete(second)
    session.commit()

    helpers.open_case(page, base_url, made.code)
    shown = page.locator(MESSAGES)
    assert shown.count() == 3
    one, three, four = (shown.nth(i) for i in range(3))
    assert one.locator(".message-text").inner_text() == UNIT_TEXTS[0]
    assert one.locator(".followup-js-out-of-order").is_hidden()
    # The third entry opens, but the link it names is not the entry before it.
    assert three.locator(".message-text").inner_text() == UNIT_TEXTS[2]
    assert three.locator(".followup-js-out-of-order").inner_text() == MISSING
    # The fourth is in order (its link is over the third as stored), but does not open.
    assert four.locator(".followup-js-out-of-order").is_hidden()
    assert four.locator(".field-error").inner_text() == ALTERED
    assert four.locator(".message-text").count() == 0
    assert UNIT_TEXTS[3] not in page.locator("#followup-app").inner_text()
    assert page.locator('#followup-app [data-slot="report-altered"]').is_hidden()
    assert page.locator('#followup-app [data-slot="fewer"]').is_hidden()
    helpers.screenshots(page, "followup-js-altered")

    # The last two entries are cut off the end: no record shows it, but this page showed
    # four entries and now gets three. Its reply, sealed over the end it knew, is refused
    # as the conversation changed; it reads the case again and seals anew.
    for message in (third, fourth):
        session.delete(message)
    session.commit()
    send_reply(page, REPLY_TEXT)
    helpers.announced(page, "encrypted on this device and sent")
    fewer = page.locator('#followup-app [data-slot="fewer"]')
    fewer.wait_for(state="visible")
    assert FEWER in fewer.inner_text()
    assert page.locator(MESSAGES).count() == 2
    assert len(recorder.api("/followup/messages", "POST")) == 2
    reply = messages_of(session)[-1]
    assert (reply.author, reply.seq) == (Party.REPORTER, 2)


def test_a_reply_sealed_while_the_unit_wrote_is_sealed_again_and_kept(
    page: Page,
    base_url: str,
    recorder: Recorder,
    made: Made,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
) -> None:
    # A message of protocol 1, not yet numbered: the page opens it and carries it.
    case = helpers.the_case(session)
    key = helpers.staff_case_key(session, world, "lan")
    old = {"schema": 1, "text": "An old question.", "attachments": []}
    case.messages.append(
        Message(
            author=Party.INSPECTOR,
            inspector_id=world.people["lan"].id,
            body=crypto.seal_json(key, Kind.MESSAGE, case.public_id, old),
            created_on=date.today(),
        )
    )
    session.commit()
    helpers.open_case(page, base_url, made.code)
    carried = page.locator(MESSAGES)
    assert carried.locator(".message-text").inner_text() == "An old question."
    assert ALTERED not in page.locator("#followup-app").inner_text()

    # While the reporter writes, the unit writes too: the page's reply would be entry 2.
    helpers.add_staff_entry(session, world, store, "lan", UNIT_TEXTS[0])
    scan: FilePayload = {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": REPLY_FILE}
    send_reply(page, REPLY_TEXT, [scan])
    helpers.announced(page, "encrypted on this device and sent")
    page.locator(MESSAGES).nth(2).wait_for()  # the case is shown again after the announcement
    assert page.locator(MESSAGES).count() == 3
    assert page.locator("li.message-you .message-text").inner_text() == REPLY_TEXT

    # Refused once (sealed over the old end), read again, accepted; one upload only.
    posts = recorder.api("/followup/messages", "POST")
    assert len(posts) == 2
    assert posts[0].body != posts[1].body
    assert len(recorder.api("/followup/case", "GET")) >= 2  # re-read, then shown again
    assert len(recorder.api("/uploads", "POST")) == 1
    old_entry, unit_entry, reply = messages_of(session)
    assert [m.seq for m in (old_entry, unit_entry, reply)] == [1, 2, 3]
    key = helpers.staff_case_key(session, world, "minh")
    case = helpers.the_case(session)
    [attached] = [a for a in case.attachments if a.message_id == reply.id]
    place, document = helpers.open_entry(case, key, reply.id)
    assert document == {"schema": 1, "text": REPLY_TEXT, "attachments": []}
    assert (place.entry, place.files) == (3, (file_digest(attached.meta),))
    assert helpers.open_file(store, case, key, attached)[1] == REPLY_FILE
    entries = helpers.checked_entries(session, world)
    helpers.assert_transcript_intact([e for e in entries if e.message is not old_entry])

    # The same for an action of another kind: a withdrawal while the unit writes.
    helpers.add_staff_entry(session, world, store, "lan", UNIT_TEXTS[1])
    form = page.locator('#followup-app [data-slot="form-withdraw"]')
    followup_page.open_action(page, "withdraw")
    page.fill("#followup-js-withdraw-text", "I withdraw. CANARYRACE83")
    page.check("#followup-js-withdraw-confirm")
    form.locator("button[type=submit]").click()
    helpers.announced(page, "withdrawn")
    assert len(recorder.api("/followup/withdraw", "POST")) == 2
    withdrawal = messages_of(session)[-1]
    assert (withdrawal.purpose, withdrawal.seq) == ("withdrawal", 5)
    page.locator("li.message-you", has_text="Withdrawal of the report").wait_for()
    helpers.assert_nothing_leaked(recorder, made.code, [REPLY_TEXT, "CANARYRACEFILE82"])


def test_a_report_altered_in_storage_is_said_and_the_rest_still_shown(
    page: Page,
    base_url: str,
    made: Made,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
) -> None:
    helpers.add_staff_entry(session, world, store, "lan", UNIT_TEXTS[0])
    case = helpers.the_case(session)
    assert case.body is not None
    body = bytearray(case.body)
    body[-100] ^= 1
    case.body = bytes(body)
    session.commit()

    helpers.open_case(page, base_url, made.code)
    notice = page.locator('#followup-app [data-slot="report-altered"]')
    assert notice.is_visible()
    assert ALTERED in notice.inner_text()
    # The unit's message still opens; the link it names is over the report as written.
    [message] = page.locator(MESSAGES).all()
    assert message.locator(".message-text").inner_text() == UNIT_TEXTS[0]
    assert message.locator(".followup-js-out-of-order").is_visible()
