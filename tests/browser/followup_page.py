"""The follow-up case page's "What you can do" entries, as a keyboard user opens them.

Both pages have the same entries (submit/templates/followup_actions.html): a <details> per
action whose <summary> is ``#<key>-heading`` without JavaScript and
``#followup-js-<key>-heading`` with it; a retaliation report or a protection record has its
own smaller entry for its form.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def summary(page: Page, key: str) -> Locator:
    """The entry's summary on whichever page is shown."""
    return page.locator(f"#followup-js-{key}-heading:visible, #{key}-heading:visible")


def open_action(page: Page, key: str) -> None:
    """Tab to the entry's summary and press Enter, as from the keyboard; it must open."""
    entry = summary(page, key)
    entry.focus()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert entry.evaluate("element => element.parentElement.open") is True


def open_item_action(page: Page, item: Locator) -> None:
    """Open the form of one retaliation report or protection record, from the keyboard."""
    entry = item.locator("summary")
    entry.focus()
    page.keyboard.press("Enter")
    assert entry.evaluate("element => element.parentElement.open") is True


def is_open(page: Page, key: str) -> bool:
    return bool(summary(page, key).evaluate("element => element.parentElement.open"))
