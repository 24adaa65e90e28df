"""Each public page's script, submit/static/js/dist/<page>.js (`make bundle`).

They are built from the modules under submit/static/js by the esbuild that package.json
pins, and committed so that installing the app needs no Node.js: these tests build them
again and fail while a committed file is stale, check what a build may contain, and that
each page loads its own and nothing else, sent gzipped where accepted
(submit/page_scripts.py). The browser tests of the
pages (test_report_js.py, test_followup_*.py, tests/firefox) run these builds, as
production does.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from werkzeug.test import TestResponse

from submit.page_scripts import PAGE_SCRIPTS
from tests.browser import helpers
from tests.browser.helpers import Recorder

pytestmark = pytest.mark.browser

STATIC = helpers.ROOT / "submit" / "static"
DIST = STATIC / "js" / "dist"
BUILD = helpers.ROOT / "scripts" / "bundle"
ESBUILD = helpers.ROOT / "node_modules" / "esbuild" / "package.json"
FORMS = {"report_form.html": "report-form", "followup_start.html": "followup-form"}


def pinned_esbuild() -> str:
    package = json.loads((helpers.ROOT / "package.json").read_text(encoding="utf-8"))
    version: str = package["devDependencies"]["esbuild"]
    return version


def test_esbuild_is_pinned_and_installed_at_that_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned_esbuild())  # exact: the same build everywhere
    installed = json.loads(ESBUILD.read_text(encoding="utf-8"))["version"]
    assert installed == pinned_esbuild(), "run `npm ci` (make test does)"


def test_the_committed_builds_are_what_their_sources_build(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BUILD), str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    built = sorted(path.name for path in tmp_path.iterdir())
    assert built == ["followup.js", "report.js"]  # no map, no shared chunk
    assert built == sorted(path.name for path in DIST.iterdir())  # none left over
    for name in built:
        stale = f"dist/{name} is stale: run `make bundle` and commit the result"
        assert (tmp_path / name).read_bytes() == (DIST / name).read_bytes(), stale


@pytest.mark.parametrize("name", ["report.js", "followup.js"])
def test_a_build_loads_nothing_else_and_runs_no_dynamic_code(name: str) -> None:
    text = (DIST / name).read_text(encoding="utf-8")
    # One request: no static import, no import() left (the lazy modules are inside), and
    # no source map, whose URL would make a browser's developer tools fetch one.
    assert not re.search(r"\bimport\s*[(\"'{*]|\bimport\s+\w|\bexport\b", text)
    assert "sourceMappingURL" not in text
    # The build adds no dynamic code that the sources (see their own tests) do not have.
    assert not re.search(r"\beval\s*\(|\bFunction\s*\(|document\.write", text)
    assert "data-enhanced" in text  # the marker main.js sets, kept by the build


def test_every_template_with_an_enhanced_form_chooses_its_build() -> None:
    templates = helpers.ROOT / "submit" / "templates"
    drawn = {
        path.name
        for path in templates.glob("*.html")
        if re.search(r'\sid="(?:report|followup)-form"', path.read_text(encoding="utf-8"))
    }
    assert drawn == set(FORMS) == set(PAGE_SCRIPTS)
    for script in PAGE_SCRIPTS.values():
        assert (STATIC / script).is_file(), script


@pytest.mark.parametrize(
    ("path", "script", "form"),
    [
        ("/report", "report.js", "#report-form"),
        ("/followup", "followup.js", "#followup-form"),
        ("/", None, None),
    ],
    ids=["report", "followup", "home"],
)
def test_each_page_loads_its_build_alone_or_nothing(
    page: Page, recorder: Recorder, base_url: str, path: str, script: str | None, form: str | None
) -> None:
    page.goto(f"{base_url}{path}")
    if form is not None:
        # Set once the page's enhancement has finished: the build ran it.
        page.locator(f"{form}[data-enhanced]").wait_for(state="attached")
    else:
        page.wait_for_load_state("load")
    scripts = [sent.url for sent in recorder.requests if sent.url.endswith(".js")]
    assert scripts == ([f"{base_url}/static/js/dist/{script}"] if script else [])
    assert page.locator("[data-enhanced]").count() == (1 if form else 0)


@pytest.mark.parametrize("name", ["report.js", "followup.js"])
def test_a_build_is_sent_gzipped_only_to_a_browser_that_accepts_it(
    submit_app: Flask, name: str
) -> None:
    client = submit_app.test_client()
    url = f"/static/js/dist/{name}"
    whole = (DIST / name).read_bytes()
    for accepted in ("gzip, deflate, br", "gzip;q=0.5"):
        sent = client.get(url, headers={"Accept-Encoding": accepted})
        assert sent.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(sent.data) == whole
        assert len(sent.data) < len(whole) / 2
        checked(sent)
    for refused in (None, "identity", "gzip;q=0, br"):
        headers = {"Accept-Encoding": refused} if refused else {}
        plain = client.get(url, headers=headers)
        assert "Content-Encoding" not in plain.headers
        assert plain.data == whole
        checked(plain)


def checked(response: TestResponse) -> None:
    """What every build response carries, compressed or not."""
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "Accept-Encoding" in response.vary
    assert response.headers["Cache-Control"] == "no-store, max-age=0"  # as every answer


def test_only_the_builds_are_compressed(submit_app: Flask) -> None:
    client = submit_app.test_client()
    gzip_ok = {"Accept-Encoding": "gzip"}
    for path in ("/report", "/followup", "/static/css/site.css", "/static/js/main.js"):
        response = client.get(path, headers=gzip_ok)
        assert response.status_code == 200, path
        assert "Content-Encoding" not in response.headers, path  # BREACH: a page holds secrets
    assert client.get("/static/js/dist/nothing.js", headers=gzip_ok).status_code == 404
    # The name cannot step out of dist/ (a path outside it is Flask's static file, unzipped).
    outside = client.get("/static/js/dist/..%2Fmain.js", headers=gzip_ok)
    assert "Content-Encoding" not in outside.headers
