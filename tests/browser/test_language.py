"""Vietnamese all the way through: every page of both apps, read in a browser that prefers
Vietnamese and never chose a language, is in Vietnamese, error pages included, with no
English left in it; and an English browser reads English until its visitor chooses.

What counts as English left over: any phrase of three words or more from the catalogue's
English (its msgids), and the English words no Vietnamese sentence contains ("the", "your",
"please"...), which also catch text that never went through the catalogue, such as a
library's stock error message.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from casework.settings import Settings
from tests.browser import helpers
from tests.review.conftest import Account
from tests.test_translations import ids
from tests.worlds import World

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript, pytest.mark.browser_locale("vi-VN")]

CATALOGUE = helpers.ROOT / "web" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
# Placeholders and markup split a msgid into the fragments that reach the page verbatim.
NOT_VERBATIM = re.compile(r"%\(\w+\)[sd]|%[sd%]|<[^>]*>|\{[^}]*\}")
MIN_WORDS = 3
# Lower-case or capitalised only: a follow-up code's upper-case groups never match.
ENGLISH_WORDS = re.compile(
    r"\b(?:[Tt]he|[Aa]nd|[Yy]our?|[Tt]his|[Tt]hat|[Ww]as|[Ww]ere|[Pp]lease|[Nn]ot|[Ww]ith"
    r"|[Hh]as|[Hh]ave|[Cc]annot|[Cc]ould|[Ww]ould|[Ss]hould)\b"
)
ENCRYPTED_HERE_VI = "được mã hóa trên thiết bị này trước khi gửi đi"
SUBMIT_PAGES = ["/", "/report", "/followup", "/conclusions", "/no-such-page"]
# Who reads which pages of the review app ({case} is a case of the unit).
REVIEW_PAGES = {
    "lan": [
        "/",
        "/cases",
        "/cases/{case}",
        "/cases/{case}/workflow",
        "/cases/{case}/protection",
        "/cases/{case}/publication",
        "/cases/{case}/archive",
        "/forwarded",
        "/register",
        "/account/passphrase",
        "/no-such-page",
    ],
    "son": ["/", "/dashboard", "/escalations", "/audit/", "/audit/case/{case}"],
    "hoa": ["/", "/cases/{case}/identity", "/audit/identity-openings"],
    "admin": ["/", "/admin/people", "/admin/people/new", "/admin/reception"],
}


@cache
def catalogue_phrases() -> frozenset[str]:
    """The English fragments, of MIN_WORDS words or more, of every translated msgid whose
    Vietnamese differs from it."""
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="vi")
    phrases: set[str] = set()
    for message in catalogue:
        english, vietnamese = ids(message.id), ids(message.string)
        if not english[0] or set(english) == set(vietnamese):
            continue
        for msgid in english:
            for fragment in NOT_VERBATIM.split(msgid):
                words = fragment.split()
                if len(words) >= MIN_WORDS:
                    phrases.add(" ".join(words))
    return frozenset(phrases)


def english_left(page: Page) -> list[str]:
    text = " ".join(page.locator("body").inner_text().split())
    found = sorted(phrase for phrase in catalogue_phrases() if phrase in text)
    found += sorted({match.group(0) for match in ENGLISH_WORDS.finditer(text)})
    return found


def assert_all_vietnamese(page: Page, path: str) -> None:
    assert page.locator("html").get_attribute("lang") == "vi", path
    text = page.locator("body").inner_text()
    around = {
        word: text[max(0, text.find(word) - 80) : text.find(word) + 80]
        for word in english_left(page)
    }
    assert around == {}, path


def test_the_catalogue_yields_phrases_to_look_for() -> None:
    phrases = catalogue_phrases()
    assert "Back to the start page" in phrases
    assert len(phrases) > 500


def test_the_checker_finds_english_in_a_vietnamese_page(page: Page, base_url: str) -> None:
    """The check below would fail on a leak: here it is shown one, on an English page."""
    page.goto(f"{base_url}/language/en?next=/no-such-page")
    assert "Back to the start page" in english_left(page)
    assert "the" in english_left(page)


def test_every_public_page_is_vietnamese_for_a_vietnamese_browser(
    page: Page, base_url: str, session: Session, world: World, settings: Settings
) -> None:
    made = helpers.accept_case(session, world, settings, received=date(2027, 2, 15))
    for path in SUBMIT_PAGES:
        page.goto(base_url + path)
        assert_all_vietnamese(page, path)
    page.goto(f"{base_url}/followup")
    helpers.type_code(page, made.code.display())
    assert page.url == f"{base_url}/followup/case"
    assert_all_vietnamese(page, "/followup/case")


def test_the_pages_scripts_build_are_vietnamese_too(
    browser: Browser, base_url: str, session: Session, world: World, settings: Settings
) -> None:
    """With JavaScript the report form and the follow-up page are built in the browser,
    from the page's own translated templates."""
    made = helpers.accept_case(session, world, settings, received=date(2027, 2, 15))
    recorder = helpers.Recorder()
    page = helpers.new_page(browser, recorder, locale="vi-VN")
    with helpers.closed_then_checked(recorder, page):
        page.goto(f"{base_url}/report")
        page.wait_for_function(  # the script has taken over the form: it says so
            "text => document.getElementById('encryption-mode').textContent.includes(text)",
            arg=ENCRYPTED_HERE_VI,
        )
        assert_all_vietnamese(page, "/report with JavaScript")
        helpers.open_case(page, base_url, made.code)
        assert_all_vietnamese(page, "/followup with JavaScript")


def test_every_staff_page_is_vietnamese_for_a_vietnamese_browser(
    browser: Browser,
    review_url: str,
    session: Session,
    world: World,
    settings: Settings,
    accounts: dict[str, Account],
) -> None:
    made = helpers.accept_case(session, world, settings, received=date(2027, 2, 15))
    recorder = helpers.Recorder()
    for name, paths in REVIEW_PAGES.items():
        page = helpers.new_page(browser, recorder, javascript=False, locale="vi-VN")
        with helpers.closed_then_checked(recorder, page):
            page.goto(f"{review_url}/login")
            assert_all_vietnamese(page, "/login")
            helpers.sign_in(page, review_url, accounts[name], "/")
            for path in (path.format(case=made.case_id) for path in paths):
                page.goto(review_url + path)
                assert_all_vietnamese(page, f"{name} {path}")


@pytest.mark.parametrize("app", ["submit", "review"])
def test_the_error_page_in_both_languages(
    browser: Browser, base_url: str, review_url: str, app: str
) -> None:
    root = base_url if app == "submit" else review_url
    recorder = helpers.Recorder()
    for locale, language in (("vi-VN", "vi"), ("en-GB", "en")):
        page = helpers.new_page(browser, recorder, javascript=False, locale=locale)
        with helpers.closed_then_checked(recorder, page):
            response = page.goto(f"{root}/no-such-page")
            assert response is not None
            assert response.status == 404
            assert page.locator("html").get_attribute("lang") == language
            expected = {
                "vi": "Không có trang nào ở địa chỉ này.",
                "en": "There is no page at this address.",
            }
            assert expected[language] in page.locator("main").inner_text()
            helpers.screenshots(page, f"not-found-{app}-{language}")


def test_the_browser_preference_holds_until_the_visitor_chooses(
    browser: Browser, base_url: str
) -> None:
    recorder = helpers.Recorder()
    page = helpers.new_page(browser, recorder, javascript=False, locale="en-US")
    with helpers.closed_then_checked(recorder, page):
        response = page.goto(f"{base_url}/report")
        assert response is not None
        assert page.locator("html").get_attribute("lang") == "en"
        assert "accept-language" in (response.header_value("vary") or "").lower()
        page.get_by_role("link", name="Tiếng Việt").click()
        assert page.locator("html").get_attribute("lang") == "vi"
        page.goto(f"{base_url}/")
        assert page.locator("html").get_attribute("lang") == "vi"  # the choice wins
        helpers.screenshots(page, "language-chosen-vi")
