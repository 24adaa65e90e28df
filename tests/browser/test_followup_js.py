"""Following up a report in real Chromium with JavaScript: the code never leaves the device.

A case is made in Python with a code the test keeps, and an inspector answers with a
file. The page then opens the case with the code: the browser derives the lookup token
and the reporter key, decrypts the inspector's message and file, seals a reply with a file
and a retaliation report. Every request the page sends is recorded and searched for the
code and for what the reporter and the inspector wrote; the unit's keys must open what
the page sent. Also: every refusal of a code (a wrong and an unknown code alike), leaving,
a session that ends with text still unsent, and withdrawing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page
from sqlalchemy.orm import Session

import crypto
from casework import intake
from casework.settings import Settings
from crypto.encoding import CROCKFORD
from crypto.envelope import Kind
from crypto.transcript import file_digest
from store.blobs import FilesystemBlobStore
from store.models import Party, RetaliationKind
from submit import followup_session
from tests.browser import followup_page, helpers
from tests.browser.helpers import Made, Recorder
from tests.worlds import World

pytestmark = pytest.mark.browser

UNKNOWN_CODE = "We could not find a report with this code. Check it and try again."

# ASCII canaries, so that each has one spelling in UTF-8, JSON, URLs and headers.
UNIT_TEXT = "Please send the receipt. CANARYUNIT11"
UNIT_FILE_NAME = "bien ban CANARYUNITNAME12.pdf"
UNIT_FILE = (b"CANARYUNITCONTENT13" + bytes(range(256)) * 8) * 40  # ~90 KiB: two chunks
REPLY_TEXT = "Here is the receipt. CANARYREPLY21\nSecond line."
REPLY_FILE_NAME = "bien lai CANARYREPLYNAME22.jpg"
REPLY_FILE = (b"CANARYREPLYCONTENT23" + bytes(range(256)) * 4) * 80  # ~80 KiB
RETALIATION_TEXT = "My manager moved me to another office. CANARYRETALIATION31"
RETALIATION_DATE = "2026-01-15"
CANARIES = [
    UNIT_TEXT,
    UNIT_FILE_NAME,
    "CANARYUNITCONTENT13",
    REPLY_TEXT.split("\n")[0],
    REPLY_FILE_NAME,
    "CANARYREPLYCONTENT23",
    RETALIATION_TEXT,
]


# --- a case, made in Python ---------------------------------------------------------------


def add_unit_reply(session: Session, world: World, store: FilesystemBlobStore) -> None:
    """The inspector "lan" answers with a file: the next transcript entry, signed by lan."""
    unit_file = (UNIT_FILE_NAME, "application/pdf", UNIT_FILE)
    helpers.add_staff_entry(session, world, store, "lan", UNIT_TEXT, [unit_file])


@pytest.fixture
def made(session: Session, world: World, settings: Settings, store: FilesystemBlobStore) -> Made:
    made = helpers.accept_case(session, world, settings, received=date.today())
    add_unit_reply(session, world, store)
    return made


# --- opening, reading, downloading, replying, reporting retaliation ------------------------


def test_the_case_is_decrypted_and_answered_in_the_browser(
    page: Page,
    base_url: str,
    recorder: Recorder,
    made: Made,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
) -> None:
    helpers.open_case(page, base_url, made.code)

    heading = page.locator(helpers.CASE_HEADING)
    reference = intake.public_reference(made.case_id)
    assert reference in heading.inner_text()
    assert helpers.focused_tag(page) == "H1"
    assert page.locator("#followup-form").is_hidden()
    assert page.input_value("#code") == ""  # the code is not left in the page
    app = page.locator("#followup-app")
    assert "Received, not yet read" in app.inner_text()
    unit_message = app.locator("li.message-unit")
    assert unit_message.locator(".message-text").inner_text() == UNIT_TEXT
    download = unit_message.get_by_role("button", name=UNIT_FILE_NAME)
    assert download.is_visible()

    # Exactly the token went out: the derivation the server checks, and no code.
    [opened] = recorder.api("/followup/session", "POST")
    token = base64.urlsafe_b64encode(made.code.lookup_token()).rstrip(b"=")
    assert token in opened.body
    helpers.screenshots(page, "followup-js-case")

    with page.expect_download() as downloading:
        download.click()
    saved = downloading.value
    assert saved.suggested_filename == UNIT_FILE_NAME
    assert Path(saved.path()).read_bytes() == UNIT_FILE
    assert len(recorder.api("/followup/files/", "GET")) == 1
    helpers.announced(page, "The file was decrypted on this device")

    # A reply with a file, sealed here, then opened by an inspector.
    followup_page.open_action(page, "reply")
    page.fill("#followup-js-reply-text", REPLY_TEXT)
    reply_file: FilePayload = {
        "name": REPLY_FILE_NAME,
        "mimeType": "image/jpeg",
        "buffer": REPLY_FILE,
    }
    page.set_input_files("#followup-js-reply-files", files=[reply_file])
    page.click('#followup-app [data-slot="form-reply"] button[type=submit]')
    helpers.announced(page, "encrypted on this device and sent")
    mine = app.locator("li.message-you")
    mine.wait_for(state="visible")
    assert mine.locator(".message-text").inner_text() == REPLY_TEXT
    assert REPLY_FILE_NAME in mine.inner_text()
    assert page.input_value("#followup-js-reply-text") == ""
    assert not followup_page.is_open(page, "reply")  # closed again, as after a post

    # The reply is entry 2, signed by the reporter, naming its file; minh opens both.
    key = helpers.staff_case_key(session, world, "minh")
    case = helpers.the_case(session)
    [reply] = [m for m in case.messages if m.author is Party.REPORTER]
    place, document = helpers.open_signed(Kind.MESSAGE, case, key, reply.body)
    assert document == {"schema": 1, "text": REPLY_TEXT, "attachments": []}
    [attached] = [a for a in case.attachments if a.message_id == reply.id]
    assert attached.origin is Party.REPORTER
    assert (place.purpose, place.author, place.entry, reply.seq) == ("message", "reporter", 2, 2)
    assert place.files == (file_digest(attached.meta),)
    meta, content = helpers.open_file(store, case, key, attached)
    assert (meta.name, meta.type, content) == (REPLY_FILE_NAME, "image/jpeg", REPLY_FILE)

    # Retaliation: the kind (and date) in plaintext for the unit, the account sealed.
    assert not case.urgent
    followup_page.open_action(page, "retaliation")
    page.select_option("#followup-js-retaliation-kind", "intimidation")
    page.fill("#followup-js-retaliation-date", RETALIATION_DATE)
    page.fill("#followup-js-retaliation-text", RETALIATION_TEXT)
    page.click('#followup-app [data-slot="form-retaliation"] button[type=submit]')
    helpers.announced(page, "urgent")
    case = helpers.the_case(session)
    assert case.urgent
    assert case.retaliation_reported
    [incident] = case.retaliation_incidents
    assert incident.kind is RetaliationKind.INTIMIDATION
    assert incident.occurred_on == date.fromisoformat(RETALIATION_DATE)
    assert incident.source is Party.REPORTER
    [told] = [m for m in case.messages if m.id == incident.message_id]
    place, document = helpers.open_signed(Kind.MESSAGE, case, key, told.body)
    assert document == {"schema": 1, "text": RETALIATION_TEXT, "occurred_on": RETALIATION_DATE}
    assert (place.purpose, place.entry) == ("retaliation", 3)
    assert place.facts == {"kind": "intimidation", "occurred_on": RETALIATION_DATE}
    # The review app's reader agrees: every entry signed, in its place, in order.
    helpers.assert_transcript_intact(helpers.checked_entries(session, world))
    shown = app.locator("li.message-you", has_text=RETALIATION_TEXT)
    shown.wait_for(state="visible")
    assert "Retaliation reported" in shown.inner_text()
    helpers.screenshots(page, "followup-js-sent")

    # The session's anti-forgery token changed when it started; every state change
    # after that carried the new one (or it would have been refused).
    posted = recorder.api("/followup/messages", "POST")
    posted += recorder.api("/followup/retaliation", "POST")
    assert len(posted) == 2
    assert len({s.headers.get("x-csrftoken") for s in posted}) == 1
    assert posted[0].headers.get("x-csrftoken") != opened.headers.get("x-csrftoken")

    helpers.assert_nothing_leaked(recorder, made.code, CANARIES)
    stored = page.evaluate(
        "() => [localStorage.length, sessionStorage.length, document.cookie, location.href]"
    )
    assert stored[:3] == [0, 0, ""]
    assert not any(s in stored[3] for s in helpers.code_spellings(made.code))


# --- codes refused --------------------------------------------------------------------------


def check_chars(body: str) -> str:
    """docs/crypto.md §7.2: the first 10 bits of SHA-256(label || body), 2 characters."""
    digest = hashlib.sha256(b"minhbach/1/code-check" + body.encode("ascii")).digest()
    bits = int.from_bytes(digest[:2], "big") >> 6
    return CROCKFORD[bits >> 5] + CROCKFORD[bits & 31]


def changed(code: crypto.FollowUpCode, *, recheck: bool) -> str:
    """The code with its first character changed; `recheck` makes it well-formed again."""
    canonical = code.display().replace("-", "")
    first = CROCKFORD[(CROCKFORD.index(canonical[0]) + 1) % 32]
    body = first + canonical[1:18]
    return body + (check_chars(body) if recheck else canonical[18:])


def refusal(page: Page, text: str) -> str:
    """Enter `text` and return the message the page shows for it, checking how it is shown:
    a summary (role="alert") that takes the focus and links to the field, and the message
    at the field, tied to it and marked invalid. (Each try first removes the last one's.)"""
    helpers.enter_code(page, text)
    summary = page.locator(".error-summary", has=page.locator("#followup-js-code-summary"))
    summary.wait_for(state="visible")
    assert summary.get_attribute("role") == "alert"
    assert page.evaluate(
        "() => document.activeElement.contains(document.getElementById('followup-js-code-summary'))"
    )
    message = summary.locator("a[href='#code']").inner_text()
    assert page.get_attribute("#code", "aria-invalid") == "true"
    described = (page.get_attribute("#code", "aria-describedby") or "").split()
    assert described == ["code-hint", "followup-js-mode", "code-error"]
    assert page.locator("#code-error").inner_text() == message
    assert page.title().startswith("Error:")
    return message


def test_every_refused_code_says_why_and_a_wrong_code_reads_as_an_unknown_one(
    page: Page, base_url: str, recorder: Recorder, made: Made
) -> None:
    helpers.open_start(page, base_url)
    refusals = {
        "empty": refusal(page, "   "),
        "length": refusal(page, made.code.display()[:-2]),
        "character": refusal(page, made.code.display().replace("-", "!", 1)),
        "checksum": refusal(page, changed(made.code, recheck=False)),
    }
    assert refusals == {
        "empty": "Enter your follow-up code.",
        "length": (
            "A follow-up code has 20 letters and digits, not counting the dashes. "
            "Check that you typed all of it, and nothing more."
        ),
        "character": (
            "The code has a character that is not a letter or a digit. Check it and try again."
        ),
        "checksum": "This code looks like it has a typo. Check each character and try again.",
    }
    assert recorder.api("/followup/session", "POST") == []  # a mistyped code is never sent
    helpers.screenshots(page, "followup-js-code-error")

    wrong = refusal(page, changed(made.code, recheck=True))
    unknown = refusal(page, crypto.FollowUpCode.generate().display())
    assert wrong == unknown == UNKNOWN_CODE
    assert len(recorder.api("/followup/session", "POST")) == 2
    assert page.input_value("#code") != ""  # what was typed stays, to be corrected

    # After all that, the right code still opens the case; no code went anywhere.
    helpers.enter_code(page, made.code.display())
    page.locator(helpers.CASE_HEADING).wait_for(state="visible")
    assert page.locator("#followup-js-code-summary").count() == 0
    assert not page.title().startswith("Error:")
    helpers.assert_nothing_leaked(recorder, made.code, CANARIES)


# --- leaving, an ended session, withdrawing -----------------------------------------------


def test_leaving_forgets_the_case_here_and_on_the_server(
    page: Page, base_url: str, recorder: Recorder, made: Made
) -> None:
    helpers.open_case(page, base_url, made.code)
    page.click('#followup-app [data-slot="form-leave"] button')
    notice = page.get_by_role("status").filter(has_text="You have left your report")
    notice.wait_for(state="visible")
    assert page.locator("#followup-app").is_hidden()
    assert page.locator("#followup-app").inner_html() == ""
    assert page.locator("#followup-form").is_visible()
    assert page.locator("h1").inner_text() == "Follow up on your report"
    assert UNIT_TEXT not in page.content()
    assert len(recorder.api("/followup/leave", "POST")) == 1
    status = page.evaluate(
        "async url => (await fetch(url, {credentials: 'same-origin'})).status",
        f"{base_url}/api/v1/followup/case",
    )
    assert status == 401
    helpers.screenshots(page, "followup-js-left")


def test_an_ended_session_closes_the_case_and_keeps_what_was_typed(
    page: Page, base_url: str, made: Made, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    helpers.open_case(page, base_url, made.code)
    # An hour passes on the server (the app runs in this process): the session expires.
    later = followup_session.now() + 3600
    monkeypatch.setattr(followup_session, "now", lambda: later)
    followup_page.open_action(page, "reply")
    page.fill("#followup-js-reply-text", REPLY_TEXT)
    page.click('#followup-app [data-slot="form-reply"] button[type=submit]')
    unsent = page.locator("#followup-js-unsent")
    unsent.wait_for(state="visible")
    assert unsent.input_value() == REPLY_TEXT
    assert page.locator("#followup-app").is_hidden()
    assert "session has ended" in page.get_by_role("status").first.inner_text()
    assert [m for m in helpers.the_case(session).messages if m.author is Party.REPORTER] == []

    # Opening the case again puts the text back where it was typed.
    helpers.enter_code(page, made.code.display())
    page.locator(helpers.CASE_HEADING).wait_for(state="visible")
    assert page.input_value("#followup-js-reply-text") == REPLY_TEXT
    assert followup_page.is_open(page, "reply")  # open, so that the words are seen


def test_withdrawing_needs_a_tick_and_seals_the_reasons(
    page: Page, base_url: str, made: Made, session: Session, world: World
) -> None:
    helpers.open_case(page, base_url, made.code)
    form = page.locator('#followup-app [data-slot="form-withdraw"]')
    followup_page.open_action(page, "withdraw")
    page.fill("#followup-js-withdraw-text", "I was threatened. CANARYWITHDRAW41")
    form.locator("button[type=submit]").click()
    alert = form.locator(".followup-js-alert")
    alert.wait_for(state="visible")
    assert "Tick the box" in alert.inner_text()
    assert page.get_attribute("#followup-js-withdraw-confirm", "aria-invalid") == "true"
    assert helpers.the_case(session).status == "received"
    helpers.screenshots(page, "followup-js-form-error")

    page.check("#followup-js-withdraw-confirm")
    form.locator("button[type=submit]").click()
    helpers.announced(page, "withdrawn")
    page.locator('#followup-app [data-slot="ended"]').wait_for(state="visible")
    assert form.is_hidden()
    assert "Withdrawn" in page.locator('#followup-app [data-slot="status"]').inner_text()
    key = helpers.staff_case_key(session, world, "lan")
    case = helpers.the_case(session)
    assert case.status == "withdrawn"
    [event] = [e for e in case.events if e.to_status == "withdrawn"]
    [entry] = [m for m in case.messages if m.id == event.message_id]
    place, document = helpers.open_signed(Kind.MESSAGE, case, key, entry.body)
    assert document == {"schema": 1, "text": "I was threatened. CANARYWITHDRAW41"}
    assert (place.purpose, place.author, place.facts) == ("withdrawal", "reporter", {})
    shown = page.locator("#followup-app li.message-you")
    assert "Withdrawal of the report" in shown.inner_text()


def test_withdrawing_part_of_the_report_says_which_part_and_the_case_goes_on(
    page: Page, base_url: str, made: Made, session: Session, world: World
) -> None:
    helpers.open_case(page, base_url, made.code)
    form = page.locator('#followup-app [data-slot="form-withdraw"]')
    followup_page.open_action(page, "withdraw")
    page.check("#followup-js-withdraw-part")
    page.check("#followup-js-withdraw-confirm")
    form.locator("button[type=submit]").click()
    alert = form.locator(".followup-js-alert")
    alert.wait_for(state="visible")
    assert "Say which part of your report you withdraw." in alert.inner_text()
    assert helpers.the_case(session).events == []

    page.fill("#followup-js-withdraw-text", "The second matter only. CANARYPART52")
    form.locator("button[type=submit]").click()
    helpers.announced(page, "The rest is handled as before")
    assert followup_page.summary(page, "withdraw").is_visible()  # may still be withdrawn
    key = helpers.staff_case_key(session, world, "lan")
    case = helpers.the_case(session)
    assert case.status == "received"
    [event] = [e for e in case.events if e.kind == "partial_withdrawal"]
    [entry] = [m for m in case.messages if m.id == event.message_id]
    place, document = helpers.open_signed(Kind.MESSAGE, case, key, entry.body)
    assert document == {"schema": 1, "text": "The second matter only. CANARYPART52"}
    assert (place.purpose, place.author) == ("partial-withdrawal", "reporter")
    shown = page.locator("#followup-app li.message-you")
    assert "Withdrawal of part of the report" in shown.inner_text()


# --- the code itself ----------------------------------------------------------------------

FOLLOWUP_JS = helpers.ROOT / "submit" / "static" / "js" / "followup"
PAGE_JS = FOLLOWUP_JS.parent / "pages" / "followup.js"
PARTIAL = helpers.ROOT / "submit" / "templates" / "followup_js.html"
# Every string key the scripts ask for starts with one of these.
STRING_KEY = re.compile(
    r"\"((?:case|code|session|failure|error|reply|retaliation|withdraw|progress|sent|author"
    r"|unreadable|file|download|track|encrypted|forwarded|due|escalate|incident|protection"
    r"|record|purpose)"
    r"-[a-z-]+)\""
)
# Transcript entry purposes (docs/crypto.md §13.3) the scripts name: words of the protocol,
# not string keys, though they look like some.
PURPOSES = {"retaliation-note", "protection-request", "protection-ask"}


def test_the_scripts_run_no_dynamic_code_keep_nothing_and_import_only_this_site() -> None:
    forbidden = re.compile(
        r"\beval\s*\(|\bFunction\s*\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write"
        r"|setTimeout\s*\(\s*['\"`]|\bconsole\.\w+\s*\(|localStorage|sessionStorage|indexedDB"
        r"|document\.cookie|\.style\b|history\.|location\.|postMessage"
    )
    for path in sorted(FOLLOWUP_JS.glob("*.js")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("/**\n"), path.name  # each module says what it is for
        assert not forbidden.search(text), (path.name, forbidden.search(text))
        imports = re.findall(r"^(?:import|export)\b[^;]*?\bfrom \"([^\"]+)\";", text, re.M | re.S)
        for specifier in imports:
            assert re.fullmatch(r"\.\.?/[a-z0-9/-]+\.js", specifier), (path.name, specifier)
            assert (path.parent / specifier).resolve().is_file(), (path.name, specifier)
            if specifier.startswith("../crypto/"):
                assert specifier == "../crypto/index.js", path.name  # its public API
    page = PAGE_JS.read_text(encoding="utf-8")
    assert 'enhanceForm("#followup-form", () => import("../followup/index.js"));' in page


def test_the_partial_has_no_inline_script_style_or_handlers_and_unique_ids() -> None:
    text = PARTIAL.read_text(encoding="utf-8")
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=|\|\s*safe", text)
    ids = re.findall(r"\sid=\"([^\"{]+)\"", text)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    start = (PARTIAL.parent / "followup_start.html").read_text(encoding="utf-8")
    assert not set(ids) & set(re.findall(r"\sid=\"([^\"{]+)\"", start))


def test_the_partial_has_every_string_the_scripts_ask_for_and_no_other() -> None:
    """A missing string would stop the script (Strings.get throws); an unused one is dead
    weight for the translator."""
    given = set(re.findall(r'data-key="([a-z-]+)"', PARTIAL.read_text(encoding="utf-8")))
    scripts = "\n".join(p.read_text(encoding="utf-8") for p in FOLLOWUP_JS.glob("*.js"))
    assert set(STRING_KEY.findall(scripts)) - PURPOSES == given


# --- file names with bidirectional controls -----------------------------------------------

DISGUISED_NAME = "invoice\u202efdp.exe"  # reads "invoiceexe.pdf" where printed raw
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_a_file_name_with_bidirectional_controls_is_shown_inert(
    page: Page,
    base_url: str,
    session: Session,
    world: World,
    settings: Settings,
    store: FilesystemBlobStore,
) -> None:
    made = helpers.accept_case(session, world, settings, received=date.today())
    name = f"{DISGUISED_NAME} {BIDI_CONTROLS}"
    unit_file = (name, "application/pdf", UNIT_FILE)
    helpers.add_staff_entry(session, world, store, "lan", UNIT_TEXT, [unit_file])
    helpers.open_case(page, base_url, made.code)
    unit_message = page.locator("#followup-app li.message-unit")
    button = unit_message.locator("button")
    button.wait_for(state="visible")
    shown = button.inner_text()
    assert not any(ch in shown for ch in BIDI_CONTROLS)
    assert shown.startswith("invoice\ufffdfdp.exe")
    assert button.locator("bdi").count() == 1  # isolated from the words around it
    assert not any(ch in unit_message.inner_text() for ch in BIDI_CONTROLS)
    with page.expect_download() as downloading:
        button.click()
    saved = downloading.value
    assert "\ufffd" not in saved.suggested_filename  # the download is not the shown name
    assert Path(saved.path()).read_bytes() == UNIT_FILE
