"""The browser refuses what Python refuses, with the same error classes (by name).

Each batch mirrors a Python test module of tests/crypto and runs in one page.evaluate;
a failure names the case that failed.
"""

from __future__ import annotations

import pytest

from crypto import padding
from tests.browser.conftest import JsCall

pytestmark = pytest.mark.browser

MODULE = "/tests/negative.js"


BATCHES = ["wraps", "records", "files", "codes", "jsonRefusals"]
# Sizes past 2^31, where 32-bit bitwise arithmetic would go wrong; Python says what is right.
LARGE_SIZES = [2**31 - 1, 2**31, 2**31 + 1, 2**32 + 1, 2**40 + 12_345, 2**52 + 3]


def test_refusals(js: JsCall) -> None:
    results = {batch: js(MODULE, batch) for batch in BATCHES}
    buckets = [(n, padding.record_bucket(n), padding.file_bucket(n)) for n in LARGE_SIZES]
    results["paddingEdges"] = js(MODULE, "paddingEdges", buckets)
    assert {batch: r["failures"] for batch, r in results.items() if r["failures"]} == {}
    assert all(r["checks"] > 10 for r in results.values()), results
