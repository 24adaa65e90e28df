"""axe-core (npm) on every page of both apps, in both languages: no serious or critical
violation of the accessibility rules it checks (WCAG 2.x A and AA among them).

Public pages are checked as a tipster sees them, with JavaScript and without (the report
form, the follow-up start, a confirmation and a case, each as drawn with JavaScript off,
then served again without its scripts to a page where axe runs), the follow-up case
included; review pages
as each role sees them, every page of the app that takes no argument or only a case, on a
named case that has a protection request. axe is injected into the page, so its context
bypasses the Content-Security-Policy (the apps' own pages are checked under it elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from casework.dates import unit_today
from casework.settings import Settings
from review import create_app as create_review_app
from tests.browser import helpers
from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import FAST, Account, review_settings
from tests.worlds import World

pytestmark = pytest.mark.browser

AXE = helpers.ROOT / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")
LANGUAGES = ("en", "vi")
PUBLIC_PAGES = ("/", "/report", "/followup", "/conclusions", "/no-such-page")
ROLES = ("lan", "hoa", "son", "admin")
# Paths the review app serves without an argument that are no page to look at.
NOT_PAGES = ("/health", "/logout", "/static/", "/language/")

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    where: v.nodes.slice(0, 3).map((node) => node.target.join(" ")),
  }));
}"""


@pytest.fixture
def audited_page(browser: Browser) -> Iterator[Page]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (`make unit` does)")
    context = browser.new_context(viewport=helpers.DESKTOP, bypass_csp=True)
    context.set_default_timeout(helpers.TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def violations(page: Page) -> list[str]:
    """axe's serious and critical findings on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE)
    return [
        f"{page.url}: {item['id']} ({item['impact']}): {item['help']} at {item['where']}"
        for item in found
        if item["impact"] in FAILING
    ]


def in_language(page: Page, base: str, language: str) -> None:
    page.goto(f"{base}/language/{language}?next=/")
    assert page.locator("html").get_attribute("lang") == language


def test_the_public_pages_have_no_serious_violation(
    audited_page: Page, base_url: str, session: Session, world: World, settings: Settings
) -> None:
    page, found = audited_page, []
    made = helpers.accept_case(session, world, settings, received=unit_today())
    for language in LANGUAGES:
        in_language(page, base_url, language)
        for path in PUBLIC_PAGES:
            page.goto(base_url + path)
            found += violations(page)
        found += report_steps(page, base_url)
        helpers.open_case(page, base_url, made.code)
        found += violations(page)
        # Every "What you can do" entry open, as a reporter may leave them.
        assert page.evaluate(OPEN_ALL) >= 4
        found += violations(page)
    assert found == []


def report_steps(page: Page, base_url: str) -> list[str]:
    """axe on each step of the report form in turn (it skips what is not shown): the first
    with the identity fields that "named" shows, the last as it is."""
    page.goto(f"{base_url}/report")
    found: list[str] = []
    for step in helpers.STEPS:
        helpers.show_step(page, step)
        if step == "you":
            page.check("#identity_choice-named")
        found += violations(page)
    return found


@pytest.fixture
def named(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST, identity={"name": "Trần Văn Cường"})


def review_paths(app: Flask, case_id: str) -> list[str]:
    """Every GET page of the review app that takes no argument or only a case's id."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or any(rule.rule.startswith(p) for p in NOT_PAGES):
            continue
        if "." in rule.rule.rsplit("/", 1)[-1]:
            continue  # a file to download (figures.csv), not a page
        if not rule.arguments:
            paths.add(rule.rule)
        elif rule.arguments == {"public_id"}:
            paths.add(rule.rule.replace("<public_id>", case_id))
    return sorted(paths)


@pytest.mark.parametrize("role", ROLES)
def test_every_review_page_a_role_opens_has_no_serious_violation(
    audited_page: Page,
    review_url: str,
    engine: Engine,
    tmp_path: Path,
    accounts: dict[str, Account],
    named: SealedCase,
    role: str,
) -> None:
    page, found, seen = audited_page, [], 0
    review_app = create_review_app(review_settings(engine, tmp_path))  # for its routes
    helpers.sign_in(page, review_url, accounts[role], "/")
    for language in LANGUAGES:
        in_language(page, review_url, language)
        for path in review_paths(review_app, named.case.public_id):
            response = page.goto(review_url + path)
            if response is None or response.status != 200:
                continue  # not this role's page: its refusal is checked once below
            seen += 1
            found += violations(page)
        page.goto(f"{review_url}/no-such-page")
        found += violations(page)
    assert seen >= 4, f"{role} opened only {seen} pages"
    assert found == []


# --- pages as they are without JavaScript ---------------------------------------------------

SCRIPTS = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)
DETAILS = re.compile(r"<details\b", re.IGNORECASE)
OPEN_ALL = """() => {
  const entries = document.querySelectorAll("#followup-app details");
  entries.forEach((entry) => { entry.open = true; });
  return entries.length;
}"""


def audit_as_drawn(audited: Page, drawn: Page, opened: bool = False) -> list[str]:
    """axe on ``drawn`` (a page with JavaScript off) as it is: its HTML, without scripts,
    served again at its address to a page where axe can run, with the site's stylesheets;
    ``opened``: with every <details> open, as a reporter may leave them."""
    html, url = SCRIPTS.sub("", drawn.content()), drawn.url
    if opened:
        html = DETAILS.sub("<details open", html)
    audited.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    audited.goto(url)
    audited.unroute(url)
    return violations(audited)


def test_the_public_pages_without_javascript_have_no_serious_violation(
    audited_page: Page,
    browser: Browser,
    base_url: str,
    session: Session,
    world: World,
    settings: Settings,
) -> None:
    made = helpers.accept_case(session, world, settings, received=unit_today())
    recorder = helpers.Recorder()
    drawn = helpers.new_page(browser, recorder, javascript=False)
    found: list[str] = []
    with helpers.closed_then_checked(recorder, drawn):
        for language in LANGUAGES:
            in_language(drawn, base_url, language)
            for path in ("/report", "/followup"):
                drawn.goto(base_url + path)
                found += audit_as_drawn(audited_page, drawn)
            drawn.goto(f"{base_url}/report")
            helpers.fill(drawn, {"what": "Cán bộ thu tiền ngoài quy định."})
            helpers.post_and_read_code(drawn)  # the confirmation
            found += audit_as_drawn(audited_page, drawn)
            drawn.goto(f"{base_url}/followup")
            helpers.type_code(drawn, made.code.display())  # the case
            found += audit_as_drawn(audited_page, drawn)
            assert drawn.locator("details").count() >= 4  # its "What you can do" entries
            found += audit_as_drawn(audited_page, drawn, opened=True)
    assert found == []
