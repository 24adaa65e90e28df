"""Browser fixtures: one headless Chromium per session, a static server, and the two apps.

For the in-page tests of the browser code, a static server on 127.0.0.1: WebCrypto exists
only in secure contexts, and http://127.0.0.1 is one, so a plain local HTTP server is
enough. It serves the app's static files under /static/, the protocol's vectors under
/vectors/, the in-page test modules under /tests/ and an empty page at /blank.html, all
with a strict Content-Security-Policy so that any inline script, eval or new Function in
the code under test fails here as it would in production.

For the tests of the Flask apps, the submit app (`base_url`) and the review app
(`review_url`) served live on one database and one instance folder, the unit's accounts,
and `page`: a recorded page that fails the test on any error it logs. What the tests do
with them (forms, codes, signing in, leak checks) is in helpers.py.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    sync_playwright,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from casework.settings import Settings
from review import create_app as create_review_app
from store.blobs import FilesystemBlobStore
from submit import create_app as create_submit_app
from tests.browser.helpers import ROOT, Recorder, closed_then_checked, new_page
from tests.live import serve
from tests.review.conftest import Account, give_credentials, review_settings
from tests.submit.conftest import TEST_ENV as SUBMIT_TEST_ENV
from tests.worlds import World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# URL prefix -> directory served under it.
STATIC_ROOTS = {
    "/static/": ROOT / "submit" / "static",
    "/vectors/": ROOT / "tests" / "vectors",
    "/tests/": Path(__file__).resolve().parent / "js",
}
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
BLANK_HTML = b'<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>blank</title></html>\n'
# As strict as production will be: scripts only from this origin, no eval, no inline.
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

KIB = 1024
MAX_FILE_SIZE = 512 * KIB
MAX_REPORT_SIZE = 1024 * KIB

JsCall = Callable[..., Any]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs in headless Chromium through Playwright")
    config.addinivalue_line(
        "markers", 'no_javascript: `page` has JavaScript off, as Tor Browser at "Safest"'
    )
    config.addinivalue_line(
        "markers", "browser_locale(tag): `page` is a browser that prefers that language"
    )


class StaticHandler(http.server.BaseHTTPRequestHandler):
    """GET/HEAD for a few directories, nothing else; never serves outside them."""

    protocol_version = "HTTP/1.1"  # keep-alive: a page loads a dozen modules

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        found = self.resolve(path)
        if found is None:
            self.send_error(404)
            return
        body, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    @staticmethod
    def resolve(path: str) -> tuple[bytes, str] | None:
        """Body and content type for a decoded URL path, or None. Resolving symlinks and
        ".." before the containment check keeps every answer inside the served roots."""
        if path == "/blank.html":
            return BLANK_HTML, CONTENT_TYPES[".html"]
        for prefix, root in STATIC_ROOTS.items():
            if not path.startswith(prefix):
                continue
            target = (root / path[len(prefix) :]).resolve()
            if target.is_relative_to(root.resolve()) and target.is_file():
                content_type = CONTENT_TYPES.get(target.suffix, "application/octet-stream")
                return target.read_bytes(), content_type
        return None

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests report what matters."""


@pytest.fixture(scope="session")
def static_server() -> Iterator[str]:
    """Base URL (http://127.0.0.1:<free port>) of the static server, in a thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StaticHandler)
    thread = threading.Thread(target=server.serve_forever, name="static-server", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (Playwright's own download cannot work here), headless."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (scripts/ensure-system-packages)")
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context per test: no storage, cache or service worker is shared."""
    context = browser.new_context()
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def blank_page(browser_context: BrowserContext, static_server: str) -> Iterator[Page]:
    """A page at the static server's blank page, failing the test if the page logs any error.

    Console errors include Content-Security-Policy violations, so code that needs an
    inline script or eval cannot pass silently.
    """
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console error: {message.text}")

    page.on("console", on_console)
    page.goto(f"{static_server}/blank.html")
    yield page
    assert errors == []


@pytest.fixture
def js(blank_page: Page) -> JsCall:
    """Call an exported function of an in-page module: js("/tests/x.js", "name", *args).

    Arguments and results cross as JSON, so bytes travel as hex strings.
    """

    def call(module: str, function: str, *args: Any) -> Any:
        try:
            return blank_page.evaluate(
                "async ([module, name, args]) => (await import(module))[name](...args)",
                [module, function, list(args)],
            )
        except Error as error:
            raise AssertionError(f"{module} {function}: {error.message}") from None

    return call


# --- the apps, served live ------------------------------------------------------------------


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    """The submit app's settings, with file limits small enough to cross with kilobytes.

    review_settings points them at the test database and at tmp_path/"instance", as it
    does the review app's, so that both apps of a test share one database and one blob
    store; the submit tests' environment adds their cheap proof of work.
    """
    limits = {
        "MINHBACH_MAX_FILE_SIZE": str(MAX_FILE_SIZE),
        "MINHBACH_MAX_REPORT_SIZE": str(MAX_REPORT_SIZE),
    }
    return review_settings(engine, tmp_path, **SUBMIT_TEST_ENV, **limits)


@pytest.fixture
def store(settings: Settings) -> FilesystemBlobStore:
    """Where the submit app keeps files (and the review app reads them)."""
    return FilesystemBlobStore(settings.blob_path)


@pytest.fixture
def submit_app(settings: Settings, world: World) -> Flask:
    return create_submit_app(settings)


@pytest.fixture
def base_url(submit_app: Flask) -> Iterator[str]:
    """The submit app on http://127.0.0.1:<port>: a secure context, so WebCrypto is there."""
    with serve(submit_app) as base:
        yield base


@pytest.fixture
def accounts(session: Session, world: World) -> dict[str, Account]:
    """Everyone in the unit can sign in: a passphrase-sealed key and a TOTP secret each."""
    return give_credentials(session, world)


@pytest.fixture
def review_url(engine: Engine, tmp_path: Path, accounts: dict[str, Account]) -> Iterator[str]:
    """The review app on http://127.0.0.1:<port>, on the submit app's database and blobs."""
    with serve(create_review_app(review_settings(engine, tmp_path))) as base:
        yield base


# --- a page of either app -------------------------------------------------------------------


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def page(browser: Browser, recorder: Recorder, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A desktop-sized page recorded by `recorder` that fails the test on any error it logs
    (Content-Security-Policy violations included). JavaScript is on unless the test is
    marked no_javascript; the browser prefers English (en-US) unless the test is marked
    browser_locale("vi-VN") or the like."""
    javascript = request.node.get_closest_marker("no_javascript") is None
    locale = request.node.get_closest_marker("browser_locale")
    page = new_page(
        browser, recorder, javascript=javascript, locale=locale.args[0] if locale else None
    )
    with closed_then_checked(recorder, page):
        yield page
