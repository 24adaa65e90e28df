"""The follow-up page trusts no stored copy of the reporter's key (docs/threat-model.md §3.4).

A database writer who holds the case key can replace ``cases.reporter_signing_key`` with a
key of their own and sign entries in the reporter's name: the review app, which checks
signatures against the stored key, takes them for the reporter's. The page with JavaScript
derives the reporter's key from the follow-up code (docs/crypto.md §13.2), so it is not
fooled about the reporter's own words.
"""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from casework import records, transcript
from casework.records import Signer
from casework.settings import Settings
from casework.transcript import NewEntry
from crypto import bound, signing
from crypto.envelope import Kind
from crypto.places import Place
from crypto.transcript import Position
from store.blobs import FilesystemBlobStore
from store.models import Message, Party
from tests.browser import helpers
from tests.browser.helpers import Made
from tests.worlds import World

pytestmark = pytest.mark.browser

ALTERED = (
    "This record was altered in storage: it does not open as it was written, or it is not "
    "where it was written. Tell the person responsible for the service."
)
OWN_TEXT = "My own words, signed with the key my code gives."
UNIT_TEXT = "A question from the unit."
FORGED_TEXT = "I withdraw everything I said. FORGEDCANARY91"
MESSAGES = "#followup-app li.message"


@pytest.fixture
def made(session: Session, world: World, settings: Settings) -> Made:
    return helpers.accept_case(session, world, settings, received=date.today())


def test_an_entry_signed_under_a_replaced_reporter_key_reads_as_altered_in_the_page(
    page: Page,
    base_url: str,
    made: Made,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
) -> None:
    """The forged entry is in its place and signed by the key on record, so the server's
    reader takes it for the reporter's; the page must still show it as altered, and the
    report and the reporter's genuine reply, signed with the code's key, as they were
    written. A page that checked the reporter's entries with a key the server provides
    would verify the forged entry (its signature is that key's) and show its words, and it
    would show the genuine report and reply as altered (theirs is not): either way, this
    test fails."""
    # The reporter's genuine reply (as the page without JavaScript seals it), then the unit's.
    case = helpers.the_case(session)
    key = helpers.staff_case_key(session, world, "lan")
    own = Signer.reporter(made.code.reporter_private_key())
    entry = NewEntry("message", Party.REPORTER)
    document = {"schema": 1, "text": OWN_TEXT, "attachments": []}
    envelope = transcript.seal_entry(session, case, key, entry, document, own)
    transcript.append(session, case, envelope, entry, date.today())
    session.commit()
    helpers.add_staff_entry(session, world, store, "lan", UNIT_TEXT)

    # The forger: the case key, the database, and an Ed25519 key of their own put on record.
    case = helpers.the_case(session)
    forger = signing.signing_key(X25519PrivateKey.generate())
    at = transcript.head(case, transcript.number(session, case))
    place = Place(
        case=case.public_id,
        purpose="message",
        author=records.REPORTER,
        entry=at.entry,
        prev=at.link.hex(),
    )
    forged = {"schema": 1, "text": FORGED_TEXT, "attachments": []}
    case.messages.append(
        Message(
            author=Party.REPORTER,
            body=bound.seal_bound_json(key, Kind.MESSAGE, place, forged, forger),
            created_on=date.today(),
            seq=at.entry,
            purpose="message",
        )
    )
    case.reporter_signing_key = signing.verifying_bytes(forger)
    session.commit()

    # The server's own reader accepts it: signed by "the reporter", in order, readable.
    *_, last = helpers.checked_entries(session, world)
    assert last.message is not None
    assert (last.message.author, last.message.seq) == (Party.REPORTER, 3)
    assert last.reading.trust is records.Trust.SIGNED
    assert last.position is Position.IN_ORDER
    assert last.reading.text() == FORGED_TEXT

    helpers.open_case(page, base_url, made.code)
    shown = page.locator(MESSAGES)
    assert shown.count() == 3
    reply, question, fake = (shown.nth(i) for i in range(3))
    assert page.locator('#followup-app [data-slot="report-altered"]').is_hidden()
    assert "message-you" in (reply.get_attribute("class") or "")
    assert reply.locator(".message-text").inner_text() == OWN_TEXT
    assert question.locator(".message-text").inner_text() == UNIT_TEXT
    for item in (reply, question):
        assert item.locator(".field-error").count() == 0
    assert "message-you" in (fake.get_attribute("class") or "")
    assert fake.locator(".field-error").inner_text() == ALTERED
    assert fake.locator(".message-text").count() == 0
    assert FORGED_TEXT not in page.locator("#followup-app").inner_text()
    for item in (reply, question, fake):
        assert item.locator(".followup-js-out-of-order").is_hidden()

    # Opening the case did not put the code's key back on record: the page alone saw it.
    assert helpers.the_case(session).reporter_signing_key == signing.verifying_bytes(forger)
