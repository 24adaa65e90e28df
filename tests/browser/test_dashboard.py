"""The dashboard in real Chromium with JavaScript off: a supervisor signs in, opens
/dashboard, and every chart image loads and is drawn in its colours (the SVG's own
stylesheet applies under the app's strict Content-Security-Policy). Screenshots at desktop
and phone widths go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from casework.dates import unit_today
from review.views import dashboard as views
from tests.browser import helpers
from tests.review.conftest import Account
from tests.store.factories import add_case
from tests.worlds import World

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]

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


def test_the_dashboard_draws_every_chart_without_javascript(
    page: Page, review_url: str, accounts: dict[str, Account], cases: None
) -> None:
    helpers.sign_in(page, review_url, accounts["son"], "/dashboard")
    assert page.locator("h1").inner_text() == "Progress dashboard"
    page.wait_for_load_state("load")  # every image loaded or failed

    # `page` lets load failures pass (the favicon's 404): a chart that failed is caught by
    # its size.
    images = page.evaluate(MEASURE_IMAGES)
    assert [image["src"] for image in images] == [
        f"/dashboard/charts/{name}.svg" for name in views.CHART_NAMES
    ]
    for image in images:
        assert image["complete"], image
        assert image["width"] == views.CHART_WIDTH, image
    helpers.screenshots(page, "review-dashboard")
    drawn = {image["src"].split("/")[-1]: image["coloured"] for image in images}
    for name in ("status", "category", "deadlines", "months"):
        assert drawn[f"{name}.svg"] > 2000, drawn  # bars in the style's colour, not black
    assert page.locator("#table-status caption").inner_text() == "Cases by status"
    helpers.screenshots(page, "review-dashboard")
    helpers.screenshots(page, "review-dashboard-months", around="#heading-months")


# Runs in the page: each block's top and left edge, and whether the page scrolls sideways.
MEASURE_LAYOUT = """
() => ({
  blocks: Array.from(document.querySelectorAll(".dashboard-block")).map((block) => {
    const box = block.getBoundingClientRect();
    return {top: Math.round(box.top), left: Math.round(box.left)};
  }),
  figuresTop: document.getElementById("key-figures").getBoundingClientRect().top,
  sideways: document.documentElement.scrollWidth > document.documentElement.clientWidth,
})
"""


@pytest.mark.parametrize("language", ["en", "vi"])
def test_key_figures_come_first_and_blocks_sit_side_by_side_where_there_is_room(
    page: Page, review_url: str, accounts: dict[str, Account], cases: None, language: str
) -> None:
    helpers.sign_in(page, review_url, accounts["son"], "/dashboard")
    page.goto(f"{review_url}/language/{language}?next=/dashboard")
    figures = page.locator("#key-figures li")
    assert figures.count() == 6
    assert figures.first.locator(".figure").inner_text() == "3"  # the three open cases
    layout = page.evaluate(MEASURE_LAYOUT)
    assert layout["figuresTop"] < min(block["top"] for block in layout["blocks"])
    lefts = {block["left"] for block in layout["blocks"]}
    assert len(lefts) == 2  # two columns on a desktop
    assert not layout["sideways"]
    helpers.screenshots(page, f"review-dashboard-layout-{language}")

    page.set_viewport_size(helpers.PHONE)
    layout = page.evaluate(MEASURE_LAYOUT)
    assert len({block["left"] for block in layout["blocks"]}) == 1  # one column on a phone
    assert not layout["sideways"]
