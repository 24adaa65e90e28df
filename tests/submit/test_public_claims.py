"""What the public pages tell a tipster about who can read what, checked on the pages.

docs/threat-model.md §7 lists sentences of the public app that were false or imprecise,
with the true text that replaced them. Each test renders pages a tipster sees (home, the
report form with its JavaScript strings, the confirmation of a report sent without
JavaScript, the follow-up pages with theirs, error pages), in English and in Vietnamese,
and checks that no replaced sentence is left, that each true one is there, and that the
unit's backup (escrow) key is named exactly when the unit has one. Whether a claim holds
is proven elsewhere: each docstring names the test.
"""

from __future__ import annotations

import errno
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import intake
from casework.dates import unit_today
from casework.settings import Settings
from store.models import Case
from tests.submit.test_followup_pages import new_case, open_case
from tests.submit.test_report_form import CONTENT_TYPE, csrf_token_of, multipart, report_parts
from tests.worlds import World
from web.errors import PublicError

VIETNAMESE = Path(__file__).resolve().parents[2] / "web/translations/vi/LC_MESSAGES/messages.po"

# --- the sentences ------------------------------------------------------------------------

# Replaced (threat-model §7.1 "current text"), as English msgids with the Vietnamese the
# catalogue had for them. None may appear on any page, in either language.
OLD = [
    (
        "Your report goes to %(unit)s. It is encrypted so that only the unit's designated"
        " inspectors can read it. You do not have to give your name.",
        "Tố cáo của bạn được gửi đến %(unit)s. Tố cáo được mã hóa để chỉ các thanh tra viên"
        " được đơn vị phân công mới đọc được. Bạn không bắt buộc phải cho biết họ tên.",
    ),
    (
        "Your report is encrypted before it is stored. The computers that run this website"
        " cannot read it; only the inspectors designated to handle reports can.",
        "Tố cáo của bạn được mã hóa trước khi lưu. Các máy tính vận hành trang web này không"
        " đọc được; chỉ những thanh tra viên được phân công giải quyết tố cáo mới đọc được.",
    ),
    (
        "Without JavaScript, it is encrypted on our server the moment it arrives, and is"
        " never written down unencrypted.",
        "Nếu không có JavaScript, tố cáo được mã hóa trên máy chủ của chúng tôi ngay khi đến"
        " nơi và không bao giờ được ghi lại ở dạng chưa mã hóa.",
    ),
    (
        "We do not record IP addresses, browsers or the time of day you report.",
        "Chúng tôi không ghi lại địa chỉ IP, trình duyệt hay thời điểm trong ngày bạn gửi tố cáo.",
    ),
    (
        "Only the head of the unit can open it, only when the law requires, and every opening"
        " is recorded.",
        "Chỉ người đứng đầu đơn vị mới mở được, chỉ khi pháp luật yêu cầu, và mỗi lần mở đều"
        " được ghi lại.",
    ),
    (
        "Anyone who has the code can read the replies to your report.",
        "Bất kỳ ai có mã này đều đọc được các phản hồi về tố cáo của bạn.",
    ),
    (
        "anyone who has it can read the replies to your report.",
        "bất kỳ ai có mã đều đọc được các phản hồi về tố cáo của bạn.",
    ),
    (
        "Only the head of the unit can open them, only when needed, and every opening is"
        " recorded. The inspectors who handle your report do not see them.",
        "Chỉ người đứng đầu đơn vị mới mở được, chỉ khi cần thiết, và mỗi lần mở đều được ghi"
        " lại. Các thanh tra viên giải quyết tố cáo không nhìn thấy những thông tin này.",
    ),
    (
        "People you tick will not be able to read your report.",
        "Những người mà bạn đánh dấu sẽ không đọc được tố cáo của bạn.",
    ),
    (
        "Without JavaScript, your report is encrypted on our server the moment it arrives,"
        " and it is never stored unencrypted.",
        "Khi không có JavaScript, tố cáo của bạn được mã hóa trên máy chủ của chúng tôi ngay"
        " khi đến nơi và không bao giờ được lưu ở dạng chưa mã hóa.",
    ),
    (
        "This browser cannot encrypt your report itself, so your report will be encrypted on"
        " our server the moment it arrives.",
        "Trình duyệt này không tự mã hóa được tố cáo, nên tố cáo sẽ được mã hóa trên máy chủ"
        " của chúng tôi ngay khi đến nơi.",
    ),
    (
        "It is then encrypted on our server the moment it arrives, and never stored unencrypted.",
        "Khi đó, tố cáo được mã hóa trên máy chủ của chúng tôi ngay khi đến nơi và không bao"
        " giờ được lưu ở dạng chưa mã hóa.",
    ),
    (
        "never saw your follow-up code; only the unit's designated inspectors can open it.",
        "không bao giờ thấy mã theo dõi của bạn; chỉ các thanh tra viên được đơn vị phân công"
        " mới mở được tố cáo.",
    ),
    (
        "Your name and contact details were encrypted separately: only the head of the unit"
        " can open them.",
        "Họ tên và thông tin liên hệ của bạn đã được mã hóa riêng: chỉ người đứng đầu đơn vị"
        " mới mở được.",
    ),
    (
        "JavaScript was off in your browser, so your report was encrypted on our server the"
        " moment it arrived, before anything was stored. It was never written down"
        " unencrypted, and only the unit's designated inspectors can open it.",
        "Trình duyệt của bạn đang tắt JavaScript, nên tố cáo được mã hóa trên máy chủ của"
        " chúng tôi ngay khi đến nơi, trước khi lưu bất cứ thứ gì. Tố cáo không bao giờ được"
        " ghi lại ở dạng chưa mã hóa, và chỉ các thanh tra viên được đơn vị phân công mới mở"
        " được.",
    ),
    (
        "Only you can see this page.",
        "Chỉ bạn xem được trang này.",
    ),
    (
        "A short note for the head of the unit (optional)",
        "Vài lời gửi người đứng đầu đơn vị (không bắt buộc)",
    ),
    (
        "What you are waiting for. It is encrypted, like your report.",
        "Điều bạn đang chờ đợi. Nội dung được mã hóa, giống như tố cáo.",
    ),
    (
        "What kind of retaliation you choose is stored unencrypted",
        "Hình thức trả thù, trù dập mà bạn chọn được lưu ở dạng chưa mã hóa",
    ),
    (
        "Which relative, if it is not you, and what you fear. It is encrypted, like your report.",
        "Người thân nào, nếu không phải bạn, và bạn lo sợ điều gì. Nội dung được mã hóa, giống"
        " như tố cáo.",
    ),
    (
        "Without JavaScript, your message and files are encrypted on our server the moment"
        " they arrive, and never stored unencrypted.",
        "Khi không có JavaScript, tin nhắn và tệp của bạn được mã hóa trên máy chủ của chúng"
        " tôi ngay khi đến nơi và không bao giờ được lưu ở dạng chưa mã hóa.",
    ),
]
# English words of the old claims that no new sentence uses.
OLD_WORDS = ("designated", "the moment it arrive", "the moment they arrive", "Only you can")

# The replacements (threat-model §7.1 "proposed text"), as msgids.
H1_BACKUP = (
    "Your report goes to %(unit)s. It is encrypted so that only the unit can read it: its"
    " inspectors, its head, and a backup key it keeps offline. You do not have to give your"
    " name."
)
H1_NO_BACKUP = (
    "Your report goes to %(unit)s. It is encrypted so that only the unit can read it: its"
    " inspectors and its head. You do not have to give your name."
)
H2 = (
    "Your report is encrypted before it is stored. Once stored, this website's computers"
    " cannot read it; only the unit can."
)
H3 = (
    "If your browser runs JavaScript, your report is encrypted on your own device before it"
    ' is sent. Without JavaScript (Tor Browser at "Safest"), our server sees your report for'
    " a moment while it encrypts it. It is never stored unencrypted."
)
H4 = (
    "We do not record your IP address or your browser. We keep the date of your report, not"
    " the time."
)
H5 = (
    "If you give your name, it is encrypted separately. Only the head of the unit can open"
    " it, after writing down why, and each opening is recorded."
)
BACKUP_OPENS_IT = "The unit's backup key can also open it."
BACKUP_OPENS_THEM = "The unit's backup key can also open them."
H13 = (
    "Anyone who has the code can read the messages about your report and act in your name,"
    " for example withdraw it."
)
C2 = (
    "Keep it somewhere only you can reach. Do not keep it in email, chat, photos or cloud"
    " notes, and do not share it: anyone who has it can read the messages about your report"
    " and act in your name."
)
R5 = (
    "Your details are encrypted separately from your report. Only the head of the unit can"
    " open them, after writing down why, and each opening is recorded. Other inspectors do"
    " not see them."
)
R8 = (
    "These people can read reports sent to the unit. If one of them is involved in what you"
    " report, or is close to someone who is, tick their name. People you tick get no key to"
    " your report, but the others can see whom you ticked."
)
R11 = (
    "Without JavaScript, our server sees your report for a moment while it encrypts it. It is"
    " never stored unencrypted."
)
J2 = (
    "This browser cannot encrypt your report itself, so our server will encrypt your report"
    " as it arrives, and see it for a moment. It is never stored unencrypted."
)
J5 = (
    "If this keeps happening, you can send your report without encrypting it on this device."
    " Our server will then encrypt your report as it arrives, and see it for a moment. It is"
    " never stored unencrypted."
)
J9 = (
    "Your report was encrypted on this device before it was sent. Our server received it"
    " only encrypted and never saw your follow-up code."
)
J11 = (
    "Your name and contact details were encrypted separately: only the head of the unit can"
    " open them, and each opening is recorded."
)
C3 = (
    "Your report was encrypted on our server as it arrived: our server saw it for a moment"
    " but never stored it unencrypted."
)
OPENED_BY_BACKUP = "Only the unit can open it: its inspectors, its head and its backup key."
OPENED_NO_BACKUP = "Only the unit can open it: its inspectors and its head."
K1 = (
    "Anyone with your code can open this page. It closes by itself after 30 minutes without"
    " activity, and two hours after you opened it."
)
K3_LABEL = "A short note for the unit (optional)"
K3_HINT = (
    "What you are waiting for. It is encrypted, like your report: the inspectors handling"
    " your report can read it."
)
K8 = (
    "If you or your family have been treated badly because of your report, at work or"
    " elsewhere, tell the unit here. It is seen first, as an urgent matter. The kind of"
    " retaliation and the date you give are stored unencrypted, so that the unit can act"
    " quickly; what you write is encrypted."
)
K10 = (
    "Who needs protection, of what, and whether it is urgent are stored unencrypted, so that"
    " the unit can act quickly. What you write here is encrypted."
)
REPLY_HINT = (  # threat-model §7.2, followup_case.html: "say the server sees them, as R11"
    "Without JavaScript, our server sees your message and files for a moment while it"
    " encrypts them. They are never stored unencrypted."
)
E1_KEPT = "Nothing you sent was kept. You can go back and try again."
E1_UNSURE = (
    "We cannot be sure whether your report was received. If you did not get a follow-up"
    " code, send it again."
)
NOT_SAVED = (  # web.errors.not_saved_message: a 503's own words
    "The service cannot store anything at the moment, so nothing you sent was saved. Please"
    " try again in a few minutes."
)
# How each language names the escrow key (the review side's catalogue says the same).
BACKUP_WORDS = {"en": "backup key", "vi": "khóa dự phòng"}


# --- helpers ------------------------------------------------------------------------------


def text_of(page: str) -> str:
    """What a reader sees: tags dropped (templates for the scripts included), entities
    decoded, white space collapsed, Unicode composed."""
    text = html.unescape(re.sub(r"<[^>]*>", " ", page))
    return unicodedata.normalize("NFC", " ".join(text.split()))


@dataclass(frozen=True)
class Language:
    code: str
    catalog: Catalog | None  # None: English, the msgids themselves

    def __call__(self, msgid: str, **values: str) -> str:
        """``msgid`` as the pages of this language show it."""
        text = msgid
        if self.catalog is not None:
            message = self.catalog.get(msgid)
            assert message is not None, f"no Vietnamese for {msgid!r}"
            assert message.string, f"no Vietnamese for {msgid!r}"
            assert not message.fuzzy
            assert isinstance(message.string, str)
            text = message.string
        text = text % values if values else text
        return unicodedata.normalize("NFC", " ".join(text.split()))

    @property
    def backup_words(self) -> str:
        return unicodedata.normalize("NFC", BACKUP_WORDS[self.code])


def assert_no_old_sentence(text: str, unit_name: str) -> None:
    for english, vietnamese in OLD:
        for sentence in (english, vietnamese):
            shown = sentence % {"unit": unit_name} if "%(unit)s" in sentence else sentence
            assert unicodedata.normalize("NFC", shown) not in text, shown
    for words in OLD_WORDS:
        assert words not in text, words


def assert_backup_named(text: str, say: Language, backup: bool) -> None:
    """The backup key is mentioned if and only if the unit has one."""
    assert (say.backup_words in text.lower()) is backup


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vietnamese() -> Catalog:
    with VIETNAMESE.open("rb") as file:
        return read_po(file)


@pytest.fixture(params=["en", "vi"])
def say(request: pytest.FixtureRequest, client: FlaskClient, vietnamese: Catalog) -> Language:
    """The page language, chosen as a reader chooses it (the language link)."""
    code: str = request.param
    if code == "vi":
        assert client.get("/language/vi").status_code == 303
        return Language("vi", vietnamese)
    return Language("en", None)


@pytest.fixture(params=[True, False], ids=["backup-key", "no-backup-key"])
def backup(request: pytest.FixtureRequest, session: Session, world: World) -> bool:
    """Whether the unit keeps an escrow key (tests/worlds.py gives it one)."""
    has_one: bool = request.param
    if not has_one:
        world.unit.escrow_public_key = None
        session.commit()
    return has_one


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return text_of(response.text)


# --- the pages ----------------------------------------------------------------------------


def test_the_home_page_says_who_can_read_a_report_what_the_server_sees_and_keeps(
    client: FlaskClient, world: World, say: Language, backup: bool
) -> None:
    """threat-model §7.1 H1, H2, H3, H4, H5, H13 (home.html). Proven by, claim by claim:
    H1 (inspectors, custodian and escrow hold the case key):
    tests/casework/test_intake.py::test_anonymous_report_reaches_inspectors_and_custodian_only
    H2, H3:
    tests/submit/test_no_plaintext_at_rest.py::test_a_streamed_report_leaves_no_plaintext_anywhere
    tests/browser/test_report_nojs.py::test_report_sent_without_javascript_opens_for_the_inspector
    H4:
    tests/store/test_blobs.py::test_file_times_show_the_day_only
    H5 (a reason first, then an audited opening):
    tests/review/test_custody.py::test_with_a_reason_the_custodian_sees_the_identity_and_it_is_audited
    H13 (the code alone withdraws the report):
    tests/submit/test_api_followup.py::test_withdrawal_answers_the_new_view_and_cannot_repeat
    """
    text = page(client, "/")
    unit = world.unit.name
    assert say(H1_BACKUP if backup else H1_NO_BACKUP, unit=unit) in text
    assert say(H1_NO_BACKUP if backup else H1_BACKUP, unit=unit) not in text
    for sentence in (H2, H3, H4, H5, H13):
        assert say(sentence) in text
    assert (say(BACKUP_OPENS_IT) in text) is backup
    assert_backup_named(text, say, backup)
    assert_no_old_sentence(text, unit)


def test_the_report_form_says_who_opens_the_details_whom_ticking_hides_and_what_the_server_sees(
    client: FlaskClient, world: World, say: Language, backup: bool
) -> None:
    """threat-model §7.1 R5, R8, R11 (report_form.html). Proven by, claim by claim:
    R5:
    tests/casework/test_custody.py::test_only_custodians_got_identity_wraps
    tests/review/test_custody.py::test_with_a_reason_the_custodian_sees_the_identity_and_it_is_audited
    R8 (no key for the ticked; the others see the ticks):
    tests/submit/test_report_form.py::test_excluded_reader_gets_no_key
    tests/review/test_case_view.py::test_exclusions_are_shown_and_the_named_track_hides_the_identity
    R11:
    tests/submit/test_no_plaintext_at_rest.py::test_a_streamed_report_leaves_no_plaintext_anywhere
    """
    response = client.get("/report")
    assert response.status_code == 200
    form = response.text[: response.text.index('<div id="report-js"')]  # the page itself
    text = text_of(form)
    for sentence in (R5, R8, R11):
        assert say(sentence) in text
    assert (say(BACKUP_OPENS_THEM) in text) is backup
    assert_backup_named(text, say, backup)
    assert_no_old_sentence(text_of(response.text), world.unit.name)


def test_the_report_forms_script_strings_say_what_the_server_sees_and_who_opens_the_report(
    client: FlaskClient, world: World, say: Language, backup: bool
) -> None:
    """threat-model §7.1 J2, J5, J9, J11, C2 (report_js.html: what the script says when the
    browser cannot encrypt, and its own confirmation). Proven by, claim by claim:
    J2, J5:
    tests/browser/test_report_js.py::test_when_the_browser_fails_the_server_path_is_offered
    J9:
    tests/browser/test_report_js.py::test_report_and_files_leave_the_page_encrypted_and_open_for_the_inspector
    J11:
    tests/browser/test_report_js.py::test_a_named_report_opens_its_identity_only_to_the_custodian
    C2:
    tests/submit/test_api_followup.py::test_withdrawal_answers_the_new_view_and_cannot_repeat
    """
    response = client.get("/report")
    assert response.status_code == 200
    partial = text_of(response.text[response.text.index('<div id="report-js"') :])
    for sentence in (J2, J5, J9, J11, C2):
        assert say(sentence) in partial
    assert say(OPENED_BY_BACKUP if backup else OPENED_NO_BACKUP) in partial
    assert say(OPENED_NO_BACKUP if backup else OPENED_BY_BACKUP) not in partial
    assert (say(J11) + " " + say(BACKUP_OPENS_THEM) in partial) is backup
    assert_backup_named(partial, say, backup)
    assert_no_old_sentence(partial, world.unit.name)


def test_the_confirmation_of_a_report_sent_without_javascript_says_the_server_saw_it(
    client: FlaskClient, session: Session, world: World, say: Language, backup: bool
) -> None:
    """threat-model §7.1 C3, C2 (confirmation.html), after a report posted as Tor Browser at
    "Safest" posts it. Proven by, claim by claim:
    C3 (seen in memory, never stored unencrypted; the same page after a browser that
    cannot encrypt; who opens it):
    tests/submit/test_no_plaintext_at_rest.py::test_a_streamed_report_leaves_no_plaintext_anywhere
    tests/browser/test_report_js.py::test_without_x25519_the_form_posts_and_the_server_encrypts
    tests/casework/test_intake.py::test_anonymous_report_reaches_inspectors_and_custodian_only
    C2:
    tests/submit/test_api_followup.py::test_withdrawal_answers_the_new_view_and_cannot_repeat
    """
    token = csrf_token_of(client.get("/report").text)
    response = client.post(
        "/report",
        data=multipart(report_parts(token, what="Cán bộ địa chính nhận tiền")),
        content_type=CONTENT_TYPE,
    )
    assert response.status_code == 200, response.text
    assert len(session.scalars(select(Case)).all()) == 1
    text = text_of(response.text)
    assert say(C3) + " " + say(OPENED_BY_BACKUP if backup else OPENED_NO_BACKUP) in text
    assert say(C2) in text
    assert_backup_named(text, say, backup)
    assert_no_old_sentence(text, world.unit.name)


def test_the_follow_up_scripts_case_view_says_who_can_open_it_and_what_is_stored_plain(
    client: FlaskClient, world: World, say: Language
) -> None:
    """threat-model §7.1 K1, K3, K8, K10 (followup_js.html, the case view the script
    builds). Proven by, claim by claim:
    K1 (the code alone opens a session):
    tests/submit/test_followup_pages.py::test_the_session_expires_after_30_idle_minutes_and_moves_on_with_each_request
    K3 (an inspector's key opens the note):
    tests/submit/test_followup_status.py::test_escalation_is_sealed_recorded_and_then_shows_the_heads_deadline
    K8:
    tests/submit/test_api_followup.py::test_retaliation_is_logged_urgent_with_its_date
    K10:
    tests/submit/test_followup_status.py::test_the_api_records_a_protection_request_and_lists_its_facts
    """
    response = client.get("/followup")
    assert response.status_code == 200
    partial = text_of(response.text[response.text.index('<div id="followup-js"') :])
    for sentence in (K1, K3_LABEL, K3_HINT, K8, K10):
        assert say(sentence) in partial
    assert_no_old_sentence(text_of(response.text), world.unit.name)


def test_the_follow_up_case_page_says_who_can_open_it_and_what_the_server_sees(
    client: FlaskClient, session: Session, world: World, settings: Settings, say: Language
) -> None:
    """threat-model §7.1 K1, K3, K8, K10 and §7.2's reply hint (followup_case.html, the page
    without JavaScript; a named report whose legal deadline passed, so that it may be
    escalated). Proven by, claim by claim:
    K1:
    tests/submit/test_followup_pages.py::test_the_session_expires_after_30_idle_minutes_and_moves_on_with_each_request
    K3:
    tests/submit/test_followup_status.py::test_escalation_is_sealed_recorded_and_then_shows_the_heads_deadline
    K8:
    tests/submit/test_api_followup.py::test_retaliation_is_logged_urgent_with_its_date
    K10:
    tests/submit/test_followup_status.py::test_an_urgent_protection_request_is_sealed_dated_and_listed
    the reply hint:
    tests/submit/test_followup_pages.py::test_nothing_a_reporter_sends_reaches_disk_or_logs_in_plaintext
    """
    story = new_case(
        session, world, settings, named=True, received=unit_today() - timedelta(days=60)
    )
    assert open_case(client, story.code).status_code == 303
    response = client.get("/followup/case")
    assert response.status_code == 200
    assert 'id="escalate-form"' in response.text
    text = text_of(response.text)
    for sentence in (K1, K3_LABEL, K3_HINT, K8, K10, REPLY_HINT):
        assert say(sentence) in text
    assert_no_old_sentence(text, world.unit.name)


# --- error pages --------------------------------------------------------------------------


@pytest.fixture
def failing(app: Flask) -> Flask:
    """Routes that fail as the real ones can: a refusal with a status, a full disk, a
    defect."""

    def refused(status: int) -> str:
        raise PublicError(status, "test", "The test refused this request.")

    def full_disk() -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    def defect() -> str:
        raise RuntimeError("a defect")

    app.add_url_rule("/test/refused/<int:status>", "test_refused", refused)
    app.add_url_rule("/test/full-disk", "test_full_disk", full_disk)
    app.add_url_rule("/test/defect", "test_defect", defect)
    return app


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/test/refused/400", 400, E1_KEPT),
        ("/test/refused/413", 413, E1_KEPT),
        ("/test/refused/429", 429, E1_KEPT),
        ("/no-such-page", 404, None),
        ("/test/defect", 500, E1_UNSURE),
        ("/test/refused/502", 502, E1_UNSURE),
        ("/test/full-disk", 503, None),
    ],
)
def test_an_error_page_says_nothing_was_kept_only_when_nothing_can_have_been(
    client: FlaskClient,
    failing: Flask,
    say: Language,
    path: str,
    status: int,
    expected: str | None,
) -> None:
    """threat-model §7.1 E1 (error.html) and §6 Gap 5. A refusal (4xx) comes before
    anything is stored: tests/submit/test_report_form.py::test_malformed_bodies_get_a_clear_400
    and ::test_bad_csrf_token_is_refused_before_any_file_is_read. A server error may come
    after the commit (proven below, by
    test_a_server_error_after_the_commit_does_not_say_the_report_was_not_kept), so it
    says nothing of the kind; a 503 has its own words, that nothing was saved (proven by
    tests/reliability/test_faults.py::test_a_full_disk_refuses_clearly_keeps_the_text_and_recovers)."""
    response = client.get(path)
    assert response.status_code == status
    text = text_of(response.text)
    for sentence in (E1_KEPT, E1_UNSURE):
        assert (say(sentence) in text) is (sentence == expected)
    assert (say(NOT_SAVED) in text) is (status == 503)


def test_a_server_error_after_the_commit_does_not_say_the_report_was_not_kept(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch, say: Language
) -> None:
    """threat-model §7.1 E1 and §6 Gap 5: the report is stored, then drawing the
    confirmation fails. The page must not say that nothing was kept; it says we cannot be
    sure, and to send again only without a follow-up code. The stored case itself is the
    proof that a 500 can follow the commit."""

    def broken(case_id: str) -> str:
        raise RuntimeError("the confirmation cannot be drawn")

    token = csrf_token_of(client.get("/report").text)
    monkeypatch.setattr(intake, "public_reference", broken)
    response = client.post(
        "/report",
        data=multipart(report_parts(token, what="Cán bộ địa chính nhận tiền")),
        content_type=CONTENT_TYPE,
    )
    assert response.status_code == 500
    assert len(session.scalars(select(Case)).all()) == 1  # it was received
    text = text_of(response.text)
    assert say(E1_KEPT) not in text
    assert say(E1_UNSURE) in text
    assert say(NOT_SAVED) not in text


NAMED_IS_FORMAL = "Your report is handled as a formal denunciation, with the deadlines set by law"
NAMED_ONCE_CHECKED = (
    "Once the unit has checked who you are, in person or through a letter you sign or"
    " fingerprint, your report is handled as a formal denunciation"
)
FORM_ONCE_CHECKED = "once the unit has checked who you are: you go to the unit in person"
SCRIPT_ONCE_CHECKED = (
    "Your report becomes a formal denunciation, which the unit must handle within the"
    " deadlines set by law, once the unit has checked who you are"
)


def test_a_named_report_is_said_to_be_formal_only_once_the_unit_has_checked_who_made_it(
    client: FlaskClient, session: Session, world: World
) -> None:
    """LTC Art. 22-23, 29(1)(a): under a profile that asks for it, a name typed into the
    form makes no formal denunciation until the unit verifies it. Proven by:
    tests/casework/test_workflow.py::test_a_named_web_report_follows_the_anonymous_track_until_verified
    """
    assert world.unit.profile == "vn-denunciation-2018"
    home, form = page(client, "/"), page(client, "/report")
    assert NAMED_ONCE_CHECKED in home
    assert NAMED_IS_FORMAL not in home
    assert FORM_ONCE_CHECKED in form
    assert SCRIPT_ONCE_CHECKED in form  # the script's own confirmation
    world.unit.profile = "eu-2019-1937"  # a named report is formal at once there
    session.commit()
    home, form = page(client, "/"), page(client, "/report")
    assert NAMED_IS_FORMAL in home
    assert NAMED_ONCE_CHECKED not in home
    assert FORM_ONCE_CHECKED not in form
    assert SCRIPT_ONCE_CHECKED not in form
