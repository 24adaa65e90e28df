"""Firefox ESR, Tor Browser's engine: the browser crypto library's vectors run in it too.

The static server is tests/browser/conftest.py's (same roots, same strict CSP); Firefox is
Debian's firefox-esr, driven by run-in-firefox.mjs through puppeteer-core (an npm
devDependency, installed by `make unit` with `npm ci`), which downloads no browser.
One Firefox for the session runs the support probe and every vector runner, and reports
what each returned as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser import conftest as browser_conftest
from tests.browser.conftest import settings, static_server, store, submit_app
from tests.browser.helpers import ROOT
from tests.browser.test_crypto_vectors import RUNNERS

# The static server and the submit app are tests/browser's fixtures, reused here.
__all__ = [
    "firefox_report",
    "pytest_configure",
    "settings",
    "static_server",
    "store",
    "submit_app",
]

FIREFOX = Path("/usr/bin/firefox-esr")
DRIVER = Path(__file__).resolve().parent / "run-in-firefox.mjs"
PUPPETEER = ROOT / "node_modules" / "puppeteer-core" / "package.json"
TIMEOUT_SECONDS = 180


def pytest_configure(config: pytest.Config) -> None:
    """The `browser` marker as tests/browser registers it, for runs of tests/firefox alone."""
    if not config.pluginmanager.is_registered(browser_conftest) and not any(
        line.startswith("browser:") for line in config.getini("markers")
    ):
        browser_conftest.pytest_configure(config)


@pytest.fixture(scope="session")
def firefox_report(static_server: str) -> dict[str, Any]:
    """What run-in-firefox.mjs printed: {version, userAgent, support, results, errors}."""
    return run_driver(DRIVER, static_server, json.dumps(RUNNERS))


def run_driver(driver: Path, *arguments: str) -> dict[str, Any]:
    """Run a puppeteer-core script in Firefox ESR; the JSON object it printed."""
    if not FIREFOX.exists():
        pytest.fail(f"{FIREFOX} is missing: run `make browser` (scripts/ensure-system-packages)")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js (18 or later) with npm, then `make unit`")
    if not PUPPETEER.exists():
        pytest.fail(f"{PUPPETEER.parent} is missing: run `npm ci` (`make unit` does)")
    command = [node, str(driver), *arguments, str(FIREFOX)]
    # A session of its own, so that a timeout ends Firefox (node's child) along with node.
    with subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
            pytest.fail(f"{driver.name} ran over {TIMEOUT_SECONDS} s:\n{stderr}")
    if process.returncode != 0:
        pytest.fail(f"{driver.name} exited with {process.returncode}:\n{stderr}")
    report: dict[str, Any] = json.loads(stdout)
    return report
