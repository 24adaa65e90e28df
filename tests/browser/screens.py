"""Screenshots of pages at desktop and phone widths, for people to review.

They go to test-artifacts/screenshots/ (ignored by git); the tests that take them also
assert what the page must show, so a screenshot is a record, never the check itself.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, ViewportSize

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


def screenshots(page: Page, name: str, around: str | None = None) -> None:
    """The whole page at both widths, or only the screen around one element."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        if around is not None:
            page.locator(around).scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=around is None)
    page.set_viewport_size(DESKTOP)
