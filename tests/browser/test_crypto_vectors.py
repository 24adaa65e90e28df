"""The browser implementation reproduces and opens every vector in tests/vectors/.

One page runs every vector file (a fresh browser page costs more than all the vectors);
failures come back keyed by file and name each vector and check that failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import JsCall

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
MODULE = "/tests/vectors.js"
# vector file -> the in-page function that runs all of it
RUNNERS = {
    "wrap.json": "wrapVectors",
    "hpke-rfc9180.json": "hpkeVector",
    "records.json": "recordVectors",
    "files.json": "fileVectors",
    "codes.json": "codeVectors",
    "padding.json": "paddingVectors",
    "keyring.json": "keyringPublicParts",
    "bound.json": "boundVectors",
}


def count(name: str) -> int:
    """How many vectors the file holds (the runner must report having run them all)."""
    document: Any = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    if name == "codes.json":
        return len(document["valid"]) + len(document["invalid"])
    if name == "bound.json":  # every author's signing key, then every record
        return len(document["signing_keys"]) + len(document["vectors"])
    if "vectors" in document:
        return len(document["vectors"])
    return 1


def test_every_vector_file_has_a_runner() -> None:
    assert {p.name for p in VECTORS.glob("*.json")} == set(RUNNERS)


@pytest.mark.browser
def test_every_vector(js: JsCall) -> None:
    results = {name: js(MODULE, runner) for name, runner in RUNNERS.items()}
    assert {name: r["failures"] for name, r in results.items() if r["failures"]} == {}
    assert {name: r["vectors"] for name, r in results.items()} == {
        name: count(name) for name in RUNNERS
    }


def test_keyring_seals_are_python_only() -> None:
    """keyring.json's passphrase seal needs Argon2id, which WebCrypto lacks, and its
    recovery seal XSalsa20-Poly1305; inspectors' keyrings are never opened in the
    submission page. Its key pair and fingerprint are checked in test_every_vector."""
    pytest.skip("Argon2id and XSalsa20-Poly1305 are not in WebCrypto: Python-only vectors")
