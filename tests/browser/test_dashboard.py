"""The dashboard in real Chromium with JavaScript off: a supervisor signs in, opens
/dashboard, and every chart image loads and is drawn in its colours (the SVG's own
stylesheet applies under the app's strict Content-Security-Policy). Screenshots at desktop
and phone widths go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from casework.dates import unit_today
from review import create_app
from review.views import dashboard as views
from tests.browser.screens import DESKTOP, screenshots
from tests.live import serve
from tests.review.conftest import Account, give_credentials, review_settings
from tests.store.factories import add_case
from tests.worlds import World

pytestmark = pytest.mark.browser

# Runs in the page through the DevTools protocol, which works with the page's own
# JavaScript turned off: reads back what each chart image drew.
MEASURE_IMAGES = """
() => Array.from(document.querySelectorAll("main img")).map((img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  let coloured = 0;
  if (img.naturalWidth > 0) {
    context.drawImage(img, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < pixels.length; i += 4) {
      // The bars' blue (drawn a little transparent); unstyled SVG would draw them black.
      if (pixels[i + 3] > 0 && pixels[i + 2] > pixels[i] + 40) {
        coloured += 1;
      }
    }
  }
  return {src: img.getAttribute("src"), width: img.naturalWidth, complete: img.complete,
          coloured: coloured};
})
"""


@pytest.fixture
def accounts(session: Session, world: World) -> dict[str, Account]:
    return give_credentials(session, world)


@pytest.fixture
def cases(session: Session, world: World) -> None:
    """Something in every chart but the ones of protection and retaliation."""
    today = unit_today()
    for index, (status, category) in enumerate(
        [("verifying", "land"), ("triage", "procurement"), ("verifying", "land")]
    ):
        add_case(
            session,
            world.unit,
            status=status,
            category=category,
            received_on=today - timedelta(days=40 * index),
            next_due=today + timedelta(days=index * 3 - 2),
        )
    session.commit()


@pytest.fixture
def base_url(engine: Engine, tmp_path: Path, accounts: dict[str, Account]) -> Iterator[str]:
    with serve(create_app(review_settings(engine, tmp_path))) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """JavaScript off, as in Tor Browser at "Safest"; any console error fails the test
    (a CSP violation by the page or by a chart included), except the browser's note of
    its own /favicon.ico request's 404: a chart that fails to load is caught by its size."""
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert errors == []


def sign_in(page: Page, base_url: str, account: Account) -> None:
    page.goto(f"{base_url}/dashboard")
    assert page.url.startswith(f"{base_url}/login")
    page.fill("#username", account.username)
    page.fill("#passphrase", account.passphrase)
    page.fill("#code", account.code())
    with page.expect_navigation():
        page.press("#code", "Enter")
    assert page.url == f"{base_url}/dashboard"


def test_the_dashboard_draws_every_chart_without_javascript(
    page: Page, base_url: str, accounts: dict[str, Account], cases: None
) -> None:
    sign_in(page, base_url, accounts["son"])
    assert page.locator("h1").inner_text() == "Progress dashboard"
    page.wait_for_load_state("load")  # every image loaded or failed

    images = page.evaluate(MEASURE_IMAGES)
    assert [image["src"] for image in images] == [
        f"/dashboard/charts/{name}.svg" for name in views.CHART_NAMES
    ]
    for image in images:
        assert image["complete"], image
        assert image["width"] == views.CHART_WIDTH, image
    screenshots(page, "review-dashboard")
    drawn = {image["src"].split("/")[-1]: image["coloured"] for image in images}
    for name in ("status", "category", "deadlines", "months"):
        assert drawn[f"{name}.svg"] > 2000, drawn  # bars in the style's colour, not black
    assert page.locator("#table-status caption").inner_text() == "Cases by status"
    screenshots(page, "review-dashboard")
    screenshots(page, "review-dashboard-months", around="#heading-months")
