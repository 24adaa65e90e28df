"""Tor Browser's engine, Firefox ESR, runs the protocol's WebCrypto as Chromium does.

X25519 and Ed25519 came to WebCrypto late and separately in each engine; this runs the
support probe and every vector of tests/vectors/ (the runners and counts of
tests/browser/test_crypto_vectors.py: keyring.json's public parts only, as there) in
Debian's firefox-esr. One test, so that one Firefox serves it under pytest-xdist too; its
one comparison shows every difference at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_crypto_vectors import RUNNERS, count


@pytest.mark.browser
def test_support_and_every_vector_in_firefox_esr(firefox_report: dict[str, Any]) -> None:
    assert firefox_report["version"].startswith("firefox/"), firefox_report["version"]
    results: dict[str, dict[str, Any]] = firefox_report["results"]
    # A runner that threw reports {"error": ...} instead of its failures and count.
    observed = {
        "support": firefox_report["support"],
        "failures": {
            name: r["failures"] if "error" not in r else [f"threw {r['error']}"]
            for name, r in results.items()
            if "error" in r or r["failures"]
        },
        "vectors": {name: r.get("vectors") for name, r in results.items()},
        "errors": firefox_report["errors"],  # console and page errors: CSP violations too
    }
    assert observed == {
        "support": {"secure": True, "supported": True},
        "failures": {},
        "vectors": {name: count(name) for name in RUNNERS},
        "errors": [],
    }
