"""The report form with JavaScript, in real Chromium: encrypted on the device, then sent.

Every request the page sends is recorded, bodies included, and searched for what the
reporter wrote (text, file contents, file names) and for the follow-up code: none of it
may leave the page unencrypted. The case must then open with the unit's private keys
exactly as the no-JavaScript path would have made it. Also: resuming an interrupted
upload, the fallback to the server's path where the browser cannot encrypt, a named
report with exclusions, and the form's own checks.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route
from sqlalchemy.orm import Session

import crypto
from casework import followup, intake, uploads
from casework.settings import Settings
from crypto import signing
from store.blobs import FilesystemBlobStore
from store.models import (
    Case,
    ProtectedPerson,
    ProtectionCategory,
    RecipientKind,
    Track,
    WrapPurpose,
)
from submit import pow
from tests.browser import helpers
from tests.browser.conftest import MAX_FILE_SIZE
from tests.browser.helpers import Recorder
from tests.store.factories import add_inspector
from tests.submit.test_report_form import case_key
from tests.worlds import World

pytestmark = pytest.mark.browser

REPORT_JS = helpers.ROOT / "submit" / "static" / "js" / "report"
MAIN_JS = helpers.ROOT / "submit" / "static" / "js" / "main.js"
PAGE_JS = helpers.ROOT / "submit" / "static" / "js" / "pages" / "report.js"
PARTIAL = helpers.ROOT / "submit" / "templates" / "report_js.html"
CANNOT_ENCRYPT = "This browser cannot encrypt your report itself"

# ASCII canaries, so that each has one spelling in UTF-8, JSON, URLs and headers.
TEXT = {
    "what": "Can bo dia chinh nhan tien CANARYWHAT71",
    "who": "Ong Tran Van B CANARYWHO72",
    "when": "Thang 2 nam 2026 CANARYWHEN73",
    "how_known": "Toi la nguoi nop ho so CANARYHOW74",
    "evidence": "Bien lai chuyen tien\nCANARYEVIDENCE75",
}
BIG_NAME = "bien lai CANARYNAME81.pdf"
SMALL_NAME = "anh CANARYNAME82.jpg"
FILE_CANARY = b"CANARYCONTENT91"


def file_bytes(size: int, seed: bytes) -> bytes:
    """Deterministic bytes with the canary every 4 KiB, so any plaintext slice shows it."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += FILE_CANARY + hashlib.sha256(seed + counter.to_bytes(4, "big")).digest() * 127
        counter += 1
    return bytes(out[:size])


BIG = file_bytes(300 * 1024 + 123, b"big")  # several chunks, several PATCH requests
SMALL = file_bytes(5000, b"small")


def canaries(text: str) -> list[str]:
    """The canary words alone: found whatever escaping the text around them got."""
    return re.findall(r"CANARY[A-Z]+[0-9]+", text)


def reporter_wrap(case: Case, purpose: WrapPurpose) -> bytes:
    [wrap] = [
        w
        for w in case.key_wraps
        if w.purpose is purpose and w.recipient_kind is RecipientKind.REPORTER
    ]
    return wrap.wrapped


def inspectors_with(case: Case, purpose: WrapPurpose) -> set[int | None]:
    return {
        w.inspector_id
        for w in case.key_wraps
        if w.purpose is purpose and w.recipient_kind is RecipientKind.INSPECTOR
    }


def assert_nothing_stored_in_the_browser(page: Page, code: str) -> None:
    stored = page.evaluate(
        """async () => ({
          local: localStorage.length,
          session: sessionStorage.length,
          databases: (await indexedDB.databases()).length,
          cookies: document.cookie,
          url: location.href,
        })"""
    )
    assert stored["local"] == stored["session"] == stored["databases"] == 0
    assert code not in stored["cookies"]
    assert code not in stored["url"]
    for cookie in page.context.cookies():
        assert code not in cookie["value"]


# --- a full submission -------------------------------------------------------------------


def test_report_and_files_leave_the_page_encrypted_and_open_for_the_inspector(
    page: Page,
    base_url: str,
    recorder: Recorder,
    session: Session,
    world: World,
    settings: Settings,
    store: FilesystemBlobStore,
) -> None:
    helpers.open_form(page, base_url)
    # Spaces around an answer are dropped, as the server drops them; line breaks inside stay.
    helpers.fill(page, {**TEXT, "evidence": f"  {TEXT['evidence']}\n\n", "where": " \u3000 "})
    helpers.attach(page, (BIG_NAME, "application/pdf", BIG), (SMALL_NAME, "image/jpeg", SMALL))
    code_text = helpers.send_and_read_code(page)

    assert helpers.focused_tag(page) == "H1"
    assert "MB-" in page.locator("#report-reference").inner_text()
    assert page.locator("#report-form").count() == 0
    helpers.screenshots(page, "report-js-confirmation")

    code = crypto.FollowUpCode.parse(code_text)
    canonical = code_text.replace("-", "")
    secrets = [value.encode() for value in TEXT.values()]
    secrets += [canary.encode() for value in TEXT.values() for canary in canaries(value)]
    secrets += [FILE_CANARY, BIG_NAME.encode(), SMALL_NAME.encode(), b"CANARYNAME8"]
    secrets += [code_text.encode(), canonical.encode(), code.lookup_token().hex().encode()]
    helpers.assert_not_sent(recorder, secrets)
    helpers.assert_not_logged(recorder, [code_text, canonical])
    assert_nothing_stored_in_the_browser(page, code_text)

    patches = recorder.api(method="PATCH")
    assert len(patches) >= 3  # the big file took more than one request
    sent = sum(len(p.body) for p in patches)
    assert sent == uploads.ciphertext_limit(len(BIG)) + uploads.ciphertext_limit(len(SMALL))
    assert all(p.headers.get("x-csrftoken") for p in recorder.api() if p.method != "GET")

    case = helpers.the_case(session)
    assert case.submitted_with_js
    assert case.track is Track.ANONYMOUS
    assert page.locator("#report-reference").inner_text() == intake.public_reference(case.public_id)
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    assert helpers.open_report(case, key) == {
        "schema": 1,
        "language": "en",
        "category": "land",
        "where": "",
        **TEXT,
    }
    opened = [helpers.open_file(store, case, key, a) for a in case.attachments]
    assert [(m.name, m.type, data) for m, data in opened] == [
        (BIG_NAME, "application/pdf", BIG),
        (SMALL_NAME, "image/jpeg", SMALL),
    ]
    reporter_key = code.reporter_private_key()
    assert (
        crypto.unwrap(
            reporter_wrap(case, WrapPurpose.CASE_KEY),
            reporter_key,
            crypto.Purpose.CASE_KEY,
            case.public_id,
        )
        == key
    )
    # The verifying key sent is the one Python derives from the code (docs/crypto.md §13.2).
    signer = signing.signing_key(code.reporter_private_key())
    assert case.reporter_signing_key == signing.verifying_bytes(signer)
    assert crypto.lookup_index(code.lookup_token()) == case.lookup_index
    token = code.lookup_token()
    assert crypto.verify_lookup_token(token, [case.lookup_hash], settings.code_kdf) == 0


# --- resuming an interrupted upload ------------------------------------------------------


def test_an_interrupted_upload_resumes_where_the_server_stopped(
    page: Page,
    base_url: str,
    recorder: Recorder,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
) -> None:
    """The first PATCH delivers half its bytes (cut inside a chunk), then the connection
    drops: the page must ask the offset and send only the rest."""
    delivered: list[int] = []

    def cut_first_patch(route: Route) -> None:
        request = route.request
        if request.method != "PATCH" or delivered:
            route.continue_()
            return
        body = request.post_data_buffer or b""
        half = len(body) // 2 + 7
        headers = {
            name: value
            for name, value in request.headers.items()
            if name in ("content-type", "upload-offset", "x-csrftoken")
        }
        answer = route.fetch(post_data=body[:half], headers=headers)
        assert answer.status == 204
        delivered.append(int(answer.headers["upload-offset"]))
        route.abort("connectionreset")

    page.route("**/api/v1/uploads/*", cut_first_patch)
    helpers.open_form(page, base_url)
    helpers.fill(page, {"what": TEXT["what"]})
    helpers.attach(page, (BIG_NAME, "application/pdf", BIG))
    helpers.send_and_read_code(page)

    [half] = delivered
    methods = [(sent.method, sent.headers.get("upload-offset")) for sent in recorder.api()]
    first_patch = methods.index(("PATCH", "0"))
    assert ("HEAD", None) in methods[first_patch:]
    assert ("PATCH", str(half)) in methods[first_patch:]
    case = helpers.the_case(session)
    key = case_key(case, world.people["minh"].id, world.key_of("minh"))
    [attachment] = case.attachments
    meta, data = helpers.open_file(store, case, key, attachment)
    assert (meta.name, data) == (BIG_NAME, BIG)


# --- the fallback where the browser cannot encrypt ---------------------------------------

WITHOUT_X25519 = """(() => {
  const subtle = SubtleCrypto.prototype;
  const originals = { generateKey: subtle.generateKey, importKey: subtle.importKey };
  const isX25519 = (algorithm) => (algorithm?.name ?? algorithm) === "X25519";
  const refuse = () =>
    Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
  subtle.generateKey = function (...args) {
    return isX25519(args[0]) ? refuse() : originals.generateKey.apply(this, args);
  };
  subtle.importKey = function (...args) {
    return isX25519(args[2]) ? refuse() : originals.importKey.apply(this, args);
  };
})();"""


def test_without_x25519_the_form_posts_and_the_server_encrypts(
    page: Page, base_url: str, recorder: Recorder, session: Session, world: World
) -> None:
    page.context.add_init_script(WITHOUT_X25519)
    page.goto(f"{base_url}/report")
    page.wait_for_function(
        "text => document.getElementById('encryption-mode').textContent.includes(text)",
        arg=CANNOT_ENCRYPT,
    )
    helpers.fill(page, {"what": TEXT["what"], "who": TEXT["who"]})
    helpers.post_and_read_code(page)

    assert recorder.api() == []
    case = helpers.the_case(session)
    assert not case.submitted_with_js
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    assert helpers.open_report(case, key)["what"] == TEXT["what"]


# --- a named report, with exclusions and protection --------------------------------------

IDENTITY = {
    "identity_name": "Nguyen Thi C CANARYNAME61",
    "identity_contact": "0912 345 678 CANARYPHONE62",
    "identity_address": "12 Le Loi CANARYADDRESS63",
    "identity_position": "Ke toan CANARYPOSITION64",
    "identity_notes": "Goi sau 18h CANARYNOTES65",
}


def test_a_named_report_opens_its_identity_only_to_the_custodian(
    page: Page, base_url: str, recorder: Recorder, session: Session, world: World
) -> None:
    minh, lan, hoa = (world.people[name].id for name in ("minh", "lan", "hoa"))
    helpers.open_form(page, base_url)
    helpers.fill(
        page, {"what": TEXT["what"], **IDENTITY, "protection_details": "Bi de doa CANARYP66"}
    )
    helpers.reach(page, f"#excluded-{minh}")
    page.check(f"#excluded-{minh}")
    page.check("#protection_people-reporter")
    page.check("#protection_people-child")
    page.check("#protection_kinds-job")
    code = crypto.FollowUpCode.parse(helpers.send_and_read_code(page))
    helpers.assert_not_sent(
        recorder,
        [b"CANARYP66"]
        + [canary.encode() for value in IDENTITY.values() for canary in canaries(value)],
    )

    case = helpers.the_case(session)
    assert case.track is Track.NAMED
    assert {e.inspector_id for e in case.exclusions} == {minh}
    assert inspectors_with(case, WrapPurpose.CASE_KEY) == {lan, hoa}
    assert inspectors_with(case, WrapPurpose.IDENTITY_KEY) == {hoa}
    kinds = {(w.purpose, w.recipient_kind) for w in case.key_wraps}
    for purpose in (WrapPurpose.CASE_KEY, WrapPurpose.IDENTITY_KEY):
        assert {(purpose, RecipientKind.ESCROW), (purpose, RecipientKind.REPORTER)} <= kinds
    # No unit key yet: the review app makes it, never a reporter's browser (§13.1).
    assert not any(purpose is WrapPurpose.UNIT_KEY for purpose, _ in kinds)
    assert {(p.person, p.category) for p in case.protections} == {
        (ProtectedPerson.REPORTER, ProtectionCategory.JOB),
        (ProtectedPerson.CHILD, ProtectionCategory.JOB),
    }
    assert case.urgent

    [identity_wrap] = [
        w.wrapped
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.inspector_id == hoa
    ]
    identity_key = crypto.unwrap(
        identity_wrap, world.key_of("hoa"), crypto.Purpose.IDENTITY_KEY, case.public_id
    )
    assert case.identity is not None
    identity = helpers.open_identity(case, identity_key)
    assert identity == {
        "schema": 1,
        **{k.removeprefix("identity_"): v for k, v in IDENTITY.items()},
    }
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unwrap(
            identity_wrap, world.key_of("lan"), crypto.Purpose.IDENTITY_KEY, case.public_id
        )
    reporter_identity_key = crypto.unwrap(
        reporter_wrap(case, WrapPurpose.IDENTITY_KEY),
        code.reporter_private_key(),
        crypto.Purpose.IDENTITY_KEY,
        case.public_id,
    )
    assert reporter_identity_key == identity_key

    report = helpers.open_report(case, case_key(case, lan, world.key_of("lan")))
    assert report["protection"] == {
        "people": ["reporter", "child"],
        "kinds": ["job"],
        "details": "Bi de doa CANARYP66",
    }
    assert "name" not in report


# --- refusals and changes on the server's side --------------------------------------------


def test_a_refused_report_says_why_and_keeps_everything_typed(
    page: Page, base_url: str, recorder: Recorder, session: Session
) -> None:
    refusal = {"error": {"code": "too_large", "message": "The report is too large."}}
    seen_while_sending: list[bool] = []

    def refuse(route: Route) -> None:
        # While the envelope is on its way: progress shown, the form locked.
        seen_while_sending.append(page.locator("progress").is_visible())
        seen_while_sending.append(page.locator(helpers.SEND_REPORT).is_disabled())
        helpers.screenshots(page, "report-js-progress", around="progress")
        route.fulfill(status=413, json=refusal)

    page.route("**/api/v1/reports", refuse)
    helpers.open_form(page, base_url)
    helpers.fill(page, {"what": TEXT["what"], "who": TEXT["who"]})
    helpers.attach(page, (SMALL_NAME, "image/jpeg", SMALL))
    with page.expect_request(lambda request: request.method == "DELETE"):
        helpers.click_send(page)  # the upload is not left to expire

    alert = page.locator("[role=alert]", has_text="The report is too large.")
    alert.wait_for(state="visible")
    assert seen_while_sending == [True, True]
    assert not page.locator("progress").is_visible()
    assert "Nothing you wrote is lost" in alert.inner_text()
    assert page.evaluate("document.activeElement.closest('[role=alert]') !== null")
    assert not page.locator(".report-js-fallback").is_visible()  # the server would refuse too
    assert page.locator("#who").input_value() == TEXT["who"]
    assert page.locator(helpers.SEND_REPORT).is_enabled()
    assert len(recorder.api(method="DELETE")) == 1
    assert helpers.committed_cases(session) == []
    helpers.screenshots(page, "report-js-failure", around="[role=alert]")

    page.unroute("**/api/v1/reports")
    helpers.send_and_read_code(page)
    assert helpers.the_case(session).submitted_with_js


def test_a_report_the_service_cannot_store_is_said_unsent_and_sent_again_by_one_button(
    page: Page, base_url: str, session: Session
) -> None:
    """The database is out of reach: the page tries again by itself, then says plainly that
    nothing was sent, keeps everything typed, and one button sends it all once more."""
    unavailable = {
        "error": {
            "code": "storage_unavailable",
            "message": "The service cannot store anything at the moment, so nothing you "
            "sent was saved. Please try again in a few minutes.",
        }
    }
    tries: list[int] = []

    def refuse(route: Route) -> None:
        tries.append(1)
        route.fulfill(status=503, json=unavailable, headers={"Retry-After": "0"})

    page.route("**/api/v1/reports", refuse)
    helpers.open_form(page, base_url)
    helpers.fill(page, {"what": TEXT["what"], "who": TEXT["who"]})
    helpers.click_send(page)
    alert = page.locator("[role=alert]", has_text="nothing you sent was saved")
    alert.wait_for(state="visible")
    assert len(tries) > 1  # tried again by itself before giving up
    assert "Your report has not been sent" in alert.inner_text()
    assert page.locator("#what").input_value() == TEXT["what"]
    assert page.locator("#who").input_value() == TEXT["who"]
    assert helpers.committed_cases(session) == []
    retry = alert.get_by_role("button", name="Send it again")
    assert retry.is_visible()

    page.unroute("**/api/v1/reports")
    retry.click()
    page.locator("#follow-up-code").wait_for(state="visible")
    helpers.read_code(page)  # checks its form
    assert helpers.the_case(session).submitted_with_js


def test_a_report_whose_answer_is_lost_is_sent_again_and_taken_as_delivered(
    page: Page, base_url: str, session: Session, settings: Settings, world: World
) -> None:
    """The report reaches the server and is stored, but the answer never reaches the page
    (a Tor circuit that drops): the script posts it again with the same code, the server
    says it has it (duplicate_case), and the page shows the code, which opens that one
    case (docs/submission.md, "When the follow-up code is shown")."""
    answers: list[int] = []

    def lose_the_first_answer(route: Route) -> None:
        if answers:
            route.continue_()
            return
        stored = route.fetch()  # the server stores the report ...
        answers.append(stored.status)
        route.abort("connectionreset")  # ... and the page never hears of it

    page.route("**/api/v1/reports", lose_the_first_answer)
    helpers.open_form(page, base_url)
    helpers.fill(page, {"what": TEXT["what"]})
    code = helpers.send_and_read_code(page)
    assert answers == [201]
    (case,) = helpers.committed_cases(session)  # one case, not two
    assert page.locator("#report-reference").inner_text().strip() == intake.public_reference(
        case.public_id
    )
    token = crypto.FollowUpCode.parse(code).lookup_token()
    found = followup.find_case(session, world.unit, token, settings.code_kdf)
    assert found is not None
    assert found.id == case.id


def test_when_the_readers_change_meanwhile_the_keys_are_wrapped_again(
    page: Page, base_url: str, recorder: Recorder, session: Session, world: World
) -> None:
    """A new inspector joins while the report is on its way: the server refuses the
    envelope, the page fetches the readers again and wraps for them, the upload stays."""
    newcomer_key = crypto.generate_private_key()
    joined: list[int] = []

    def join_then_refuse(route: Route) -> None:
        if joined:
            route.continue_()
            return
        newcomer = add_inspector(session, world.unit, "tuan.thanh-tra-tinh")
        newcomer.public_key = crypto.public_bytes(newcomer_key)
        session.commit()
        joined.append(newcomer.id)
        refusal = {"error": {"code": "recipients_changed", "message": "Changed."}}
        route.fulfill(status=409, json=refusal)

    page.route("**/api/v1/reports", join_then_refuse)
    helpers.open_form(page, base_url)
    helpers.fill(page, {"what": TEXT["what"]})
    helpers.attach(page, (SMALL_NAME, "image/jpeg", SMALL))
    helpers.send_and_read_code(page)

    posts = [sent.url.rsplit("/", 1)[-1] for sent in recorder.api(method="POST")]
    assert posts.count("reports") == 2
    assert posts.count("uploads") == 1
    assert len([s for s in recorder.api(method="GET") if s.url.endswith("/recipients")]) == 2
    case = helpers.the_case(session)
    [newcomer] = joined
    assert newcomer in inspectors_with(case, WrapPurpose.CASE_KEY)
    key = case_key(case, newcomer, newcomer_key)
    assert helpers.open_report(case, key)["what"] == TEXT["what"]
    assert len(case.attachments) == 1


BREAKABLE_ENCRYPTION = """(() => {
  const encrypt = SubtleCrypto.prototype.encrypt;
  SubtleCrypto.prototype.encrypt = function (...args) {
    return globalThis.breakEncryption
      ? Promise.reject(new DOMException("broken", "OperationError"))
      : encrypt.apply(this, args);
  };
})();"""


def test_when_the_browser_fails_the_server_path_is_offered(
    page: Page, base_url: str, recorder: Recorder, session: Session
) -> None:
    """Encryption passed its checks at load, then fails: the page says so and offers to
    send the form as without JavaScript, which then works."""
    page.context.add_init_script(BREAKABLE_ENCRYPTION)
    helpers.open_form(page, base_url)
    page.evaluate("globalThis.breakEncryption = true")
    helpers.fill(page, {"what": TEXT["what"]})
    helpers.click_send(page)
    fallback = page.locator(".report-js-fallback button")
    fallback.wait_for(state="visible")
    assert "could not finish encrypting" in page.locator("[role=alert]").inner_text()
    assert recorder.api(method="POST") == []  # nothing was sent before the keys were needed

    with page.expect_navigation():
        fallback.click()
    helpers.read_code(page)
    assert not helpers.the_case(session).submitted_with_js


# --- the form's own checks ---------------------------------------------------------------


def test_mistakes_are_shown_by_the_fields_and_nothing_is_sent(
    page: Page, base_url: str, recorder: Recorder, session: Session
) -> None:
    helpers.open_form(page, base_url)
    page.check("#identity_choice-anonymous")
    helpers.show_step(page, "what")
    page.select_option("#category", "land")
    page.fill("#what", "   ")
    page.fill("#who", TEXT["who"])
    helpers.show_step(page, "protection")  # straight there, as a bookmark would: no check
    page.check("#protection_people-reporter")
    helpers.attach(page, (BIG_NAME, "application/pdf", b"x" * (MAX_FILE_SIZE + 1)))
    helpers.click_send(page)

    summary = page.locator(".error-summary")
    summary.wait_for(state="visible")
    assert summary.get_attribute("role") == "alert"
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.title().startswith("Error:")
    # The step of the first mistake is open behind the summary, and only that one.
    assert page.locator("#step-what").is_visible()
    assert not page.locator("#step-send").is_visible()
    for name in ("what", "files"):
        control = page.locator(f"#{name}")
        assert control.get_attribute("aria-invalid") == "true"
        assert f"{name}-error" in (control.get_attribute("aria-describedby") or "").split()
    assert page.locator("#what-error").inner_text() == "Describe what happened."
    assert "larger than" in page.locator("#files-error").inner_text()
    assert page.locator("#protection_kinds-error").count() == 1
    assert page.locator("#protection_kinds-job").get_attribute("aria-invalid") == "true"
    assert page.locator("#who").input_value() == TEXT["who"]
    assert page.locator("#protection_people-reporter").is_checked()
    assert len(page.locator(".error-summary li").all()) == 3
    helpers.screenshots(page, "report-js-errors")
    assert recorder.api() == []

    # Each link of the summary opens its field's step and focuses the field.
    page.locator(".error-summary a").nth(1).click()
    first_kind = page.locator("input[name=protection_kinds]").first.get_attribute("id")
    assert page.evaluate("document.activeElement.id") == first_kind
    assert page.locator("#step-protection").is_visible()
    page.locator(".error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "what"
    # Corrected, the same form goes through, and the old messages are gone.
    page.keyboard.type(TEXT["what"])
    helpers.reach(page, "#protection_people-reporter")
    page.uncheck("#protection_people-reporter")
    helpers.attach(page)
    helpers.send_and_read_code(page)
    assert page.locator(".field-error, .error-summary, [aria-invalid]").count() == 0
    assert helpers.the_case(session).submitted_with_js


# --- pieces -----------------------------------------------------------------------------


def test_proof_of_work_is_what_the_server_accepts(page: Page, base_url: str) -> None:
    """The page's nonce is a hexadecimal counter, like the reference solver's: the first
    solution it finds is the reference's, and the server verifies it."""
    challenge = pow.issue(b"k" * 32, pow.Purpose.REPORT)
    page.goto(f"{base_url}/report")
    solution = page.evaluate(
        "async (c) => (await import('/static/js/report/pow.js')).solve(c, 10)", challenge
    )
    assert solution == pow.solve(challenge, 10)
    pow.verify(b"k" * 32, solution, pow.Purpose.REPORT, 10)  # raises PowError if refused


def test_the_limits_agree_with_the_server() -> None:
    page_js = (REPORT_JS / "page.js").read_text(encoding="utf-8")
    match = re.search(r"export const MAX_FILES = (\d+);", page_js)
    assert match is not None
    assert int(match.group(1)) == intake.MAX_ATTACHMENTS


def js_sources() -> list[Path]:
    return [MAIN_JS, PAGE_JS, *sorted(REPORT_JS.glob("*.js"))]


def test_the_scripts_use_no_dynamic_code_and_import_only_this_site() -> None:
    forbidden = re.compile(
        r"\beval\s*\(|\bFunction\s*\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write"
        r"|setTimeout\s*\(\s*['\"`]|\bconsole\.\w+\s*\(|localStorage|sessionStorage|indexedDB"
        r"|document\.cookie|\.style\b|history\.|location\.|postMessage"
    )
    for path in js_sources():
        text = path.read_text(encoding="utf-8")
        assert text.startswith("/**\n"), path.name  # each module says what it is for
        assert not forbidden.search(text), (path.name, forbidden.search(text))
        static = re.findall(r"^(?:import|export)\b[^;]*?\bfrom \"([^\"]+)\";", text, re.M | re.S)
        dynamic = re.findall(r"\bimport\(\"([^\"]+)\"\)", text)  # pages/report.js
        for specifier in static + dynamic:
            assert re.fullmatch(r"\.\.?/[a-z0-9/-]+\.js", specifier), (path.name, specifier)
            assert (path.parent / specifier).resolve().is_file(), (path.name, specifier)
        crypto_imports = re.findall(r"\"(\.\./crypto/[a-z-]+\.js)\"", text)
        assert set(crypto_imports) <= {"../crypto/index.js"}, path.name  # its public API


def test_the_partial_has_no_inline_script_style_or_handlers() -> None:
    text = PARTIAL.read_text(encoding="utf-8")
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=|\|\s*safe", text)
    assert "<template" in text


def test_the_partial_has_every_string_the_script_asks_for_and_no_other() -> None:
    """A missing string would stop the script (Strings.get throws); an unused one is dead
    weight for the translator."""
    given = set(re.findall(r'data-key="([a-z-]+)"', PARTIAL.read_text(encoding="utf-8")))
    scripts = "\n".join(path.read_text(encoding="utf-8") for path in js_sources())
    keys = r'"((?:cannot|confirmation|encrypted|error|failure|progress)-[a-z-]+)"'
    asked = set(re.findall(keys, scripts))
    assert asked == given


def test_the_page_script_imports_the_report_code_dynamically() -> None:
    page = PAGE_JS.read_text(encoding="utf-8")
    # Written out, so that the bundle (test_bundle.py) holds it, and loaded inside the try.
    assert 'enhanceForm("#report-form", () => import("../report/index.js"));' in page
    main = MAIN_JS.read_text(encoding="utf-8")
    assert not re.search(r"^import\s", main, re.MULTILINE)  # no static import can fail
    assert re.search(r"try\s*\{[^}]*await load\(\)", main)
