"""The start page in a real browser: readable at phone width, usable by keyboard and
without JavaScript, in both languages."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.browser.fixtures_submit import base_url, settings, submit_app
from tests.browser.screens import PHONE, screenshots

__all__ = ["base_url", "settings", "submit_app"]  # fixtures used by name


def test_home_page_in_both_languages_without_javascript(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base_url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Make a report").is_visible()
    screenshots(page, "home-en")
    page.get_by_role("link", name="Tiếng Việt").click()
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.url == base_url + "/"
    screenshots(page, "home-vi")
    context.close()


def test_keyboard_reaches_content_first(browser: Browser, base_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    context.close()


def test_nothing_overflows_a_phone_screen(browser: Browser, base_url: str) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    for path in ("/", "/report", "/followup"):
        page.goto(base_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], path
    context.close()
