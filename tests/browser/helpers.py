"""What the browser tests share, apart from fixtures (those are in conftest.py).

Pages that record what they send and log, screenshots, cases as the servers committed
them, the report form and the follow-up page as a reporter uses them, signing in to the
review app, and the checks that nothing secret left the page.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    FilePayload,
    Page,
    Request,
    ViewportSize,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import access, intake, records, transcript
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from casework.settings import Settings
from casework.transcript import EntryReading, NewEntry
from crypto import bound
from crypto.envelope import Kind
from crypto.places import Place
from crypto.transcript import Position, genesis
from store.blobs import FilesystemBlobStore
from store.models import Attachment, Case, Message, Party
from tests.review.conftest import Account
from tests.submit.test_report_form import CODE
from tests.worlds import World, verified_in_person

ROOT = Path(__file__).resolve().parents[2]  # of the repository
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Shorter than Playwright's 30 s: nothing here takes seconds, so a wait this long is a hang.
TIMEOUT_MS = 20_000

# --- pages --------------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def searchable(self) -> bytes:
        """URL, header names and values, and body: everywhere a request can carry a secret."""
        headers = " ".join(f"{name}: {value}" for name, value in sorted(self.headers.items()))
        return b"\n".join([self.url.encode(), headers.encode(), self.body])


@dataclass
class Recorder:
    """Every request a page sends and every console line it writes, and the errors that
    must fail the test: console errors (Content-Security-Policy violations among them),
    uncaught exceptions and dialogs."""

    requests: list[Sent] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", self.on_request)
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)
        page.on("dialog", self.on_dialog)

    def on_request(self, request: Request) -> None:
        body = request.post_data_buffer or b""
        self.requests.append(Sent(request.method, request.url, request.headers, body))

    def on_console(self, message: ConsoleMessage) -> None:
        self.console.append(message.text)
        # Chromium logs every HTTP error status as a load failure: an unknown code, a
        # refused login, an aborted upload, the favicon these sites do not have. The tests
        # check the statuses that matter themselves.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"page error: {error}")

    def on_dialog(self, dialog: Dialog) -> None:
        # Nothing in these apps opens a dialog: one means a script ran that should not have.
        self.errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def api(self, path: str = "", method: str | None = None) -> list[Sent]:
        """The requests to the JSON API whose URL contains /api/v1`path`, of one method or all."""
        return [
            sent
            for sent in self.requests
            if f"/api/v1{path}" in sent.url and (method is None or sent.method == method)
        ]


def new_page(
    browser: Browser, recorder: Recorder, *, javascript: bool = True, locale: str | None = None
) -> Page:
    """A desktop-sized page in a context of its own (no cookie or storage shared with any
    other page), watched by `recorder`. With `locale` the browser prefers that language
    (its Accept-Language header); without, Chromium's own en-US."""
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=javascript, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    recorder.watch(page)
    return page


@contextmanager
def closed_then_checked(recorder: Recorder, *pages: Page) -> Iterator[None]:
    """Close the pages' contexts when the block ends, then fail if any page logged an error:
    the assertion comes after closing, so a failed check still leaves no browser open."""
    try:
        yield
    finally:
        for page in pages:
            page.context.close()
    assert recorder.errors == []


def screenshots(page: Page, name: str, around: str | None = None) -> None:
    """The whole page at desktop and phone widths, or only the screen around one element,
    into test-artifacts/screenshots/ (ignored by git) for people to review. The tests that
    take them also assert what the page must show: a screenshot is a record, not a check.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        if around is not None:
            page.locator(around).scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=around is None)
    page.set_viewport_size(DESKTOP)


def focused_tag(page: Page) -> str:
    tag: str = page.evaluate("() => document.activeElement.tagName")
    return tag


def submit_with(page: Page, button: str) -> None:
    """Press a form's button, found by its name, and wait for the page the server answers."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def type_into(page: Page, selector: str, text: str) -> None:
    """Focus a field as a keyboard user would arrive at it, then type."""
    page.focus(selector)
    page.keyboard.type(text)


# --- cases, as the servers committed them ---------------------------------------------------


@dataclass
class Made:
    """A case made in Python, and the follow-up code the test keeps for it."""

    case_id: str
    code: crypto.FollowUpCode


def accept_case(
    session: Session,
    world: World,
    settings: Settings,
    *,
    received: date,
    identity: dict[str, Any] | None = None,
    verified: bool = True,
) -> Made:
    """A report sealed for the unit's readers as a browser seals it, accepted as the API
    accepts it; named if `identity` is given, and then `verified` by the unit the day it
    arrived (the reporter came in person, LTC Art. 22-23) unless told otherwise."""
    keys = NewCaseKeys()
    recipients = unit_recipients(session, world.unit)
    report = {"schema": 1, "language": "en", "category": "land", "what": "Land for bribes"}
    submission = seal_submission(
        keys, recipients, category="land", report=report, identity=identity
    )
    intake.validate(submission, world.unit, recipients)
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, settings.code_kdf), received
    )
    if identity is not None and verified:
        verified_in_person(case, world.people["lan"], received)
    session.commit()
    return Made(keys.case_id, keys.code)


def committed_cases(session: Session) -> list[Case]:
    session.rollback()  # end the last read: SQLite would keep showing its snapshot
    session.expire_all()  # and load what the servers wrote since, collections included
    return list(session.scalars(select(Case)).all())


def the_case(session: Session) -> Case:
    """The one case in the database, as the servers left it."""
    [case] = committed_cases(session)
    return case


# --- records of protocol version 2, as the servers and the pages write them -----------------

Upload = tuple[str, str, bytes]  # a file: name, MIME type, content


def staff_case_key(session: Session, world: World, name: str) -> bytes:
    """The case key of the one case, as ``name`` unwraps it."""
    case = the_case(session)
    return access.reader_keys(case, world.people[name], world.key_of(name)).case


def add_staff_entry(
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    name: str,
    text: str,
    files: Sequence[Upload] = (),
    purpose: str = "message",
) -> Message:
    """``name`` writes the next entry of the one case as the review app does: sealed under
    the case key, signed, in its place; each file encrypted into the blob store and its
    description signed by them too."""
    case = the_case(session)
    today = date.today()
    keys = world.staff_keys(session, case, name, today)
    assert keys.signer is not None
    rows = []
    for file_name, kind, content in files:
        encryptor = crypto.FileEncryptor(keys.case, case.public_id)
        blob_id = store.new_blob_id()
        with store.open_writer(blob_id) as writer:
            for piece in crypto.encrypt_stream(encryptor, [content]):
                writer.write(piece)
        meta = encryptor.metadata(file_name, kind)
        rows.append(
            Attachment(
                blob_id=blob_id,
                meta=records.seal_file_meta(keys.case, case.public_id, meta, keys.signer),
                stored_size=store.size(blob_id),
                origin=Party.INSPECTOR,
                created_on=today,
            )
        )
    case.attachments.extend(rows)
    session.flush()
    document = {"schema": 1, "text": text, "attachments": [row.id for row in rows]}
    inspector = world.people[name].id
    entry = NewEntry(purpose, Party.INSPECTOR, inspector_id=inspector, files=rows)
    envelope = transcript.seal_entry(session, case, keys.case, entry, document, keys.signer)
    message = transcript.append(session, case, envelope, entry, today)
    session.commit()
    return message


def checked_entries(session: Session, world: World, name: str = "lan") -> list[EntryReading]:
    """The transcript of the one case as the review app reads it for ``name``: every entry
    opened, checked against its row and its place in the chain."""
    return transcript.read_checked(the_case(session), staff_case_key(session, world, name))


def assert_transcript_intact(entries: Sequence[EntryReading]) -> None:
    """Every entry signed by its author, in its place, in order."""
    for item in entries:
        assert item.reading.trust is records.Trust.SIGNED, item.message
        assert item.position is Position.IN_ORDER, item.message


def open_signed(kind: Kind, case: Case, key: bytes, blob: bytes) -> tuple[Place, Any]:
    """A record the reporter wrote, opened with crypto.bound: it must be of protocol 2 and
    carry the signature of the reporter's key on record."""
    assert blob[0] == 2, "not a record of protocol version 2"
    assert case.reporter_signing_key is not None
    return bound.open_bound_json(key, kind, blob, case.reporter_signing_key)


def open_report(case: Case, key: bytes) -> Any:
    """The report, entry 0 of the transcript, opened with crypto.bound: signed with the
    reporter's key on record, and in exactly its place (its category, its files)."""
    assert case.body is not None
    place, document = open_signed(Kind.REPORT, case, key, case.body)
    own_files = [item.meta for item in case.attachments if item.message_id is None]
    assert place == Place(
        case=case.public_id,
        purpose="report",
        author=records.REPORTER,
        entry=0,
        prev=genesis(case.public_id).hex(),
        files=records.file_digests(own_files),
        facts={"category": case.category},
    )
    return document


def open_identity(case: Case, identity_key: bytes) -> Any:
    """The identity section, opened with crypto.bound, signed by the reporter, in its place."""
    assert case.identity is not None
    place, document = open_signed(Kind.IDENTITY, case, identity_key, case.identity)
    assert place == Place(case=case.public_id, purpose="identity", author=records.REPORTER)
    return document


def open_entry(case: Case, key: bytes, message_id: int | None) -> tuple[Place, Any]:
    """The reporter's transcript entry of that id, opened as ``open_signed`` does."""
    [message] = [m for m in case.messages if m.id == message_id]
    assert message.author is Party.REPORTER
    place, document = open_signed(Kind.MESSAGE, case, key, message.body)
    assert place.entry == message.seq
    assert place.purpose == message.purpose
    return place, document


def open_file(
    store: FilesystemBlobStore, case: Case, key: bytes, attachment: Attachment
) -> tuple[crypto.FileMeta, bytes]:
    """A file's description, checked in its place (casework.records), and its content."""
    meta, trust = records.open_file_meta(key, case, attachment)
    assert meta is not None
    assert trust is records.Trust.SIGNED
    with store.open_reader(attachment.blob_id) as reader:
        pieces = crypto.read_pieces(reader)
        content = b"".join(crypto.decrypt_stream(key, case.public_id, meta, pieces))
    return meta, content


# --- the report form ----------------------------------------------------------------------

SEND_REPORT = "#report-form button[type=submit]"
ENCRYPTED_HERE = "encrypted on this device before they are sent"
# The form's steps (report_form.html), in order: each a section with id "step-<name>".
STEPS = ("you", "what", "protection", "send")
# Follow a link to a fragment as the page's own links do: the browser's fragment navigation,
# with JavaScript or without (Playwright's scripts run either way).
FOLLOW_LINK = """id => {
  const link = document.createElement("a");
  link.href = "#" + id;
  link.click();
}"""


def open_form(page: Page, base_url: str) -> None:
    """The report form, once its script has said that it encrypts on this device."""
    page.goto(f"{base_url}/report")
    page.wait_for_function(
        "text => document.getElementById('encryption-mode').textContent.includes(text)",
        arg=ENCRYPTED_HERE,
    )


def show_step(page: Page, step: str) -> None:
    """Open a step of the report form as a link to it would, with no check on the way (the
    step tests follow the form's own Next and Back)."""
    section = page.locator(f"#step-{step}")
    if not section.is_visible():
        page.evaluate(FOLLOW_LINK, f"step-{step}")
    section.wait_for(state="visible")


def reach(page: Page, selector: str) -> None:
    """Open the step of the report form that holds this element."""
    step = page.locator(selector).evaluate("element => element.closest('.step').dataset.step")
    show_step(page, step)


def fill(page: Page, values: dict[str, str]) -> None:
    """Answer the report form: named if ``values`` has identity fields, anonymous if not;
    the category "land"; each value typed into the field of that id, in its step."""
    named = any(name.startswith("identity_") for name in values)
    show_step(page, "you")
    page.check(f"#identity_choice-{'named' if named else 'anonymous'}")
    show_step(page, "what")
    page.select_option("#category", "land")
    for name, text in values.items():
        reach(page, f"#{name}")
        page.fill(f"#{name}", text)


def attach(page: Page, *files: tuple[str, str, bytes]) -> None:
    """Choose files for the report, each as (name, MIME type, content), in the last step
    of the public form; the review app's registration form, one page, has the same field."""
    payloads: list[FilePayload] = [
        {"name": name, "mimeType": kind, "buffer": data} for name, kind, data in files
    ]
    if page.locator("#step-send").count():
        show_step(page, "send")
    page.set_input_files("#files", files=payloads)


def click_send(page: Page) -> None:
    """Press "Send report", in the last step."""
    show_step(page, "send")
    page.click(SEND_REPORT)


def read_code(page: Page) -> str:
    """The follow-up code the confirmation shows, checked for its form."""
    text = page.locator("#follow-up-code").inner_text().strip()
    assert CODE.fullmatch(text)
    return text


def send_and_read_code(page: Page) -> str:
    """Send the form with JavaScript (the page stays; the confirmation replaces the form)."""
    click_send(page)
    page.locator("#follow-up-code").wait_for(state="visible")
    return read_code(page)


def post_and_read_code(page: Page) -> str:
    """Send the form as a plain POST, as without JavaScript: the server answers a new page."""
    with page.expect_navigation():
        click_send(page)
    return read_code(page)


# --- the follow-up page -------------------------------------------------------------------

ENHANCED = "#followup-js-mode"  # the script's note that the code stays on this device
CASE_HEADING = "#followup-app h1"


def open_start(page: Page, base_url: str) -> None:
    """The follow-up page, once its script has taken over the code form."""
    page.goto(f"{base_url}/followup")
    page.locator(ENHANCED).wait_for(state="visible")


def enter_code(page: Page, text: str) -> None:
    page.fill("#code", text)
    page.press("#code", "Enter")


def open_case(page: Page, base_url: str, code: crypto.FollowUpCode) -> None:
    """Open the case with JavaScript, the code typed as people type it: lower case, spaces
    instead of dashes."""
    open_start(page, base_url)
    enter_code(page, code.display().lower().replace("-", " "))
    page.locator(CASE_HEADING).wait_for(state="visible")


def type_code(page: Page, code: str) -> None:
    """Type the code from the keyboard and send it, as without JavaScript."""
    type_into(page, "#code", code)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def announced(page: Page, text: str) -> None:
    """Wait until the case view says `text` politely (role="status")."""
    notice = page.locator('#followup-app [data-slot="announce"]', has_text=text)
    notice.wait_for(state="visible")
    assert notice.get_attribute("role") == "status"


# --- the review app -----------------------------------------------------------------------


def sign_in(page: Page, review_url: str, account: Account, path: str) -> None:
    """Ask for `path`, sign in on the login page it leads to, and land back on `path`."""
    page.goto(f"{review_url}{path}")
    assert page.url.startswith(f"{review_url}/login")
    page.fill("#username", account.username)
    page.fill("#passphrase", account.passphrase)
    page.fill("#code", account.code())
    with page.expect_navigation():
        page.press("#code", "Enter")
    assert page.url == f"{review_url}{path}"


# --- nothing secret leaves the page -------------------------------------------------------


def b64_spellings(secret: bytes) -> list[bytes]:
    """What any base64 text holding `secret` must contain, at each of the 3 alignments."""
    found = []
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + secret).rstrip(b"=")
            start = (shift * 4 + 2) // 3  # skip characters mixing in the neighbours' bits
            found.append(text[start : len(text) - 2])
    return found


def code_spellings(code: crypto.FollowUpCode) -> list[str]:
    """The code as it is shown and as people may type it."""
    display = code.display()
    canonical = display.replace("-", "")
    return [
        display,
        canonical,
        canonical.lower(),
        display.lower(),
        display.lower().replace("-", " "),
    ]


def assert_not_sent(recorder: Recorder, secrets: Iterable[bytes]) -> None:
    """No request carried a secret, as it is or inside base64 text, in its URL, headers or
    body."""
    spellings = {secret: [secret, *b64_spellings(secret)] for secret in secrets}
    assert recorder.requests, "no request was recorded"
    for sent in recorder.requests:
        where = sent.searchable()
        for secret, forms in spellings.items():
            assert not any(form in where for form in forms), (sent.method, sent.url, secret[:24])


def assert_not_logged(recorder: Recorder, texts: Sequence[str]) -> None:
    for line in recorder.console:
        assert not any(text in line for text in texts), line


def assert_nothing_leaked(
    recorder: Recorder, code: crypto.FollowUpCode, canaries: Sequence[str]
) -> None:
    """Neither the code, in any spelling, nor any canary went out or into the console."""
    texts = [*code_spellings(code), *canaries]
    assert_not_sent(recorder, [text.encode() for text in texts])
    assert_not_logged(recorder, texts)
