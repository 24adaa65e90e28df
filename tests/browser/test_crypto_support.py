"""Feature detection, the Content-Security-Policy, and the shape of the browser modules."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Route

from crypto.files import CHUNK_SIZE, CIPHER_CHUNK_SIZE
from tests.browser.conftest import CSP, JsCall, StaticHandler

CRYPTO_JS = Path(__file__).resolve().parents[2] / "submit" / "static" / "js" / "crypto"
MODULE = "/tests/support.js"
IMPORT_AND_PROBE = """async () => {
  const api = await import("/static/js/crypto/index.js");
  return { secure: isSecureContext, supported: await api.supportsEncryption() };
}"""


@pytest.mark.browser
def test_supported_in_a_secure_context_unless_x25519_is_missing(js: JsCall) -> None:
    assert js(MODULE, "probe") == {"secure": True, "supported": True}
    assert js(MODULE, "supportedWithoutX25519") is False
    assert js(MODULE, "probe")["supported"] is True  # and the patch was undone
    assert js(MODULE, "publicKeysAgreeWithJwk", 20) == []


@pytest.mark.browser
def test_unsupported_in_a_non_secure_context(browser_context: BrowserContext) -> None:
    """Served from a non-loopback http:// origin, crypto.subtle does not exist: the
    modules still load, and the page learns to fall back to the no-JavaScript form."""
    insecure = "http://minhbach.test"

    def serve(route: Route) -> None:
        found = StaticHandler.resolve(urllib.parse.urlsplit(route.request.url).path)
        if found is None:
            route.fulfill(status=404)
            return
        body, content_type = found
        route.fulfill(
            body=body, content_type=content_type, headers={"Content-Security-Policy": CSP}
        )

    browser_context.route(f"{insecure}/**", serve)
    page = browser_context.new_page()
    page.goto(f"{insecure}/blank.html")
    assert page.evaluate(IMPORT_AND_PROBE) == {"secure": False, "supported": False}


# DevTools exempts the code it evaluates directly from the eval check, so try eval from
# a timer callback, as page code would run it.
EVAL_FROM_PAGE = """() => new Promise((resolve) => setTimeout(() => {
  try { eval("1"); resolve("ran"); } catch (error) { resolve(error.name); }
}))"""
INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.inlineRan = true";
  document.head.append(script);
  return window.inlineRan === undefined;
}"""


@pytest.mark.browser
def test_the_test_pages_enforce_the_csp(
    browser_context: BrowserContext, static_server: str
) -> None:
    """The test pages forbid inline scripts and eval, as production will, so modules that
    needed them would fail here. (DevTools' own evaluation is exempt from the eval check,
    which is why test_no_dynamic_code_and_no_third_party_imports also scans the sources.)"""
    page = browser_context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{static_server}/blank.html")
    assert page.evaluate(EVAL_FROM_PAGE) == "EvalError"
    assert page.evaluate(INLINE_SCRIPT) is True
    assert any("Content Security Policy" in text for text in messages)


@pytest.mark.browser
def test_files_are_read_a_chunk_at_a_time(js: JsCall) -> None:
    size = 5 * CHUNK_SIZE + 123
    result = js(MODULE, "readPattern", size)
    assert result["slices"] == [CHUNK_SIZE] * 5 + [123]
    assert max(result["pieces"]) <= CIPHER_CHUNK_SIZE
    assert sum(result["pieces"]) == result["predicted"]
    assert "changed" in js(MODULE, "changedWhileReading")


def js_sources() -> list[Path]:
    return sorted(CRYPTO_JS.glob("*.js"))


def test_no_dynamic_code_and_no_third_party_imports() -> None:
    forbidden = re.compile(
        r"\beval\s*\(|\bFunction\s*\(|innerHTML|document\.write|setTimeout\s*\(\s*['\"`]"
    )
    for path in js_sources():
        text = path.read_text(encoding="utf-8")
        assert not forbidden.search(text), path.name
        for specifier in re.findall(r"\bfrom\s+\"([^\"]+)\"", text):
            assert re.fullmatch(r"\./[a-z0-9-]+\.js", specifier), (path.name, specifier)
            assert (CRYPTO_JS / specifier).is_file(), (path.name, specifier)


def test_every_export_is_documented() -> None:
    """Each module opens with a JSDoc block, and each exported declaration has one."""
    declaration = re.compile(r"^export (?:async )?(?:function\*?|class|const) (\w+)")
    for path in js_sources():
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "/**", path.name
        for number, line in enumerate(lines):
            match = declaration.match(line)
            if match and not lines[number - 1].rstrip().endswith("*/"):
                undocumented = f"{path.name}:{number + 1} {match.group(1)}"
                assert match.group(1).isupper(), undocumented  # constants may go without
