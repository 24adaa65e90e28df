"""The public pages' one script, submit/static/js/dist/main.js (`make bundle`).

It is built from the modules under submit/static/js by the esbuild that package.json pins,
and committed so that installing the app needs no Node.js: these tests build it again and
fail while the committed file is stale, check what the build may contain, and that every
page loads it and nothing else. The browser tests of the pages (test_report_js.py,
test_followup_*.py, tests/firefox) run this build, as production does.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser import helpers
from tests.browser.helpers import Recorder

pytestmark = pytest.mark.browser

BUNDLE = helpers.ROOT / "submit" / "static" / "js" / "dist" / "main.js"
BUILD = helpers.ROOT / "scripts" / "bundle"
ESBUILD = helpers.ROOT / "node_modules" / "esbuild" / "package.json"


def pinned_esbuild() -> str:
    package = json.loads((helpers.ROOT / "package.json").read_text(encoding="utf-8"))
    version: str = package["devDependencies"]["esbuild"]
    return version


def test_esbuild_is_pinned_and_installed_at_that_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned_esbuild())  # exact: the same build everywhere
    installed = json.loads(ESBUILD.read_text(encoding="utf-8"))["version"]
    assert installed == pinned_esbuild(), "run `npm ci` (make test does)"


def test_the_committed_bundle_is_what_its_sources_build(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BUILD), str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["main.js"]  # no map, no chunk
    built = (tmp_path / "main.js").read_bytes()
    assert built == BUNDLE.read_bytes(), "stale: run `make bundle` and commit the result"


def test_the_bundle_loads_nothing_else_and_runs_no_dynamic_code() -> None:
    text = BUNDLE.read_text(encoding="utf-8")
    # One request: no static import, no import() left (the lazy modules are inside), and
    # no source map, whose URL would make a browser's developer tools fetch one.
    assert not re.search(r"\bimport\s*[(\"'{*]|\bimport\s+\w|\bexport\b", text)
    assert "sourceMappingURL" not in text
    # The build adds no dynamic code that the sources (see their own tests) do not have.
    assert not re.search(r"\beval\s*\(|\bFunction\s*\(|document\.write", text)
    assert "data-enhanced" in text  # the marker main.js sets, kept by the build


@pytest.mark.parametrize(
    ("path", "selector"),
    [("/report", "#report-form"), ("/followup", "#followup-form"), ("/", None)],
    ids=["report", "followup", "home"],
)
def test_each_page_loads_the_bundle_alone(
    page: Page, recorder: Recorder, base_url: str, path: str, selector: str | None
) -> None:
    page.goto(f"{base_url}{path}")
    if selector is not None:
        # Set once the page's enhancement has finished: the build ran it.
        page.locator(f"{selector}[data-enhanced]").wait_for(state="attached")
    else:
        page.wait_for_load_state("load")
        assert page.locator("[data-enhanced]").count() == 0
    scripts = [sent.url for sent in recorder.requests if sent.url.endswith(".js")]
    assert scripts == [f"{base_url}/static/js/dist/main.js"]
