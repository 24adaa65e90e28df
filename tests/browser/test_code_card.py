"""The follow-up code on the confirmation, in real Chromium (issue 15, point 11): on one line
even on a phone, and printed alone as a small card, with and without JavaScript, in both
languages. Screenshots of the screen at desktop and phone width and of the printed card go
to test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import helpers
from tests.browser.helpers import Recorder

pytestmark = pytest.mark.browser


def on_one_line_within_the_screen(page: Page) -> bool:
    box = page.evaluate(
        """() => {
          const code = document.getElementById("follow-up-code");
          const rect = code.getBoundingClientRect();
          const style = getComputedStyle(code);
          const line = parseFloat(style.lineHeight);
          const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
          return {lines: (rect.height - padding) / line, right: rect.right,
                  width: document.documentElement.clientWidth,
                  scroll: code.scrollWidth - code.clientWidth};
        }"""
    )
    return bool(box["lines"] < 1.5 and box["right"] <= box["width"] and box["scroll"] <= 0)


def send_a_report(page: Page, base_url: str, language: str, javascript: bool) -> str:
    page.goto(f"{base_url}/language/{language}?next=/report")
    if javascript:
        page.wait_for_function("document.getElementById('encryption-mode').textContent.trim()")
    helpers.fill(page, {"what": "Cán bộ thu tiền ngoài quy định."})
    if javascript:
        return helpers.send_and_read_code(page)
    return helpers.post_and_read_code(page)


@pytest.mark.parametrize("javascript", [False, True], ids=["nojs", "js"])
@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_code_fits_one_line_on_a_phone_and_prints_alone(
    browser: Browser, base_url: str, language: str, javascript: bool
) -> None:
    recorder = Recorder()
    page = helpers.new_page(browser, recorder, javascript=javascript)
    with helpers.closed_then_checked(recorder, page):
        page.set_viewport_size(helpers.PHONE)
        code = send_a_report(page, base_url, language, javascript)
        assert len(code) == 24
        assert on_one_line_within_the_screen(page)
        page.set_viewport_size({"width": 320, "height": 640})  # the smallest phones
        assert on_one_line_within_the_screen(page)
        name = f"confirmation-code-{'js' if javascript else 'nojs'}-{language}"
        helpers.screenshots(page, name)

        page.emulate_media(media="print")
        assert page.locator("#follow-up-code").is_visible()
        assert page.locator("#code-hint").is_visible()
        assert not page.locator(".site-header").is_visible()
        assert not page.locator("#reference-heading").is_visible()
        assert not page.locator(".code-card .screen-only").is_visible()
        page.screenshot(path=str(helpers.SCREENSHOTS / f"{name}-print.png"))
