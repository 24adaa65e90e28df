"""The start page in a real browser: readable at phone width, usable by keyboard and
without JavaScript, in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser import helpers


@pytest.mark.no_javascript
def test_home_page_in_both_languages_without_javascript(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Make a report").is_visible()
    helpers.screenshots(page, "home-en")
    page.get_by_role("link", name="Tiếng Việt").click()
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.url == base_url + "/"
    helpers.screenshots(page, "home-vi")


def test_keyboard_reaches_content_first(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_nothing_overflows_a_phone_screen(page: Page, base_url: str) -> None:
    page.set_viewport_size(helpers.PHONE)
    for path in ("/", "/report", "/followup"):
        page.goto(base_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= helpers.PHONE["width"], path
