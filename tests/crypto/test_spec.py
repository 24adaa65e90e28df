"""docs/crypto.md and the code agree on kinds, labels and sizes: the spec cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from crypto.envelope import Kind
from crypto.files import CHUNK_SIZE, CIPHER_CHUNK_SIZE
from crypto.keyring import RECOVERY_SIZE
from crypto.places import PURPOSES
from crypto.records import RECORD_LABELS
from crypto.wrapping import WRAP_SIZE, Purpose

SPEC = (Path(__file__).parents[2] / "docs" / "crypto.md").read_text(encoding="utf-8")


def test_every_kind_is_specified_with_its_byte() -> None:
    rows = dict(re.findall(r"^\| `0x([0-9a-f]{2})` \| (\w+) \|", SPEC, re.MULTILINE))
    assert {int(byte, 16): name for byte, name in rows.items()} == {k.value: k.name for k in Kind}


def test_every_record_label_is_specified() -> None:
    section_5 = SPEC[SPEC.index("## 5.") : SPEC.index("## 6.")]
    rows = dict(re.findall(r"^\| (\w+) \| `([a-z-]+)` \|", section_5, re.MULTILINE))
    assert rows == {kind.name: text for kind, text in RECORD_LABELS.items()}


def test_every_purpose_of_version_2_is_specified() -> None:
    section_13 = SPEC[SPEC.index("### 13.3") : SPEC.index("### 13.4")]
    rows = dict(re.findall(r"^\| (\w+) \| (`[a-z-]+`(?:, `[a-z-]+`)*) \|$", section_13, re.M))
    table = {kind: set(re.findall(r"`([a-z-]+)`", text)) for kind, text in rows.items()}
    assert table == {kind.name: set(purposes) for kind, purposes in PURPOSES.items()}


def test_every_wrap_purpose_is_specified() -> None:
    for purpose in Purpose:
        assert f"`{purpose.value}`" in SPEC


def test_sizes_in_the_spec() -> None:
    assert f"WRAP, {WRAP_SIZE} bytes" in SPEC
    assert f"{CHUNK_SIZE:,}-byte pieces" in SPEC
    assert f"{CIPHER_CHUNK_SIZE:,} bytes" in SPEC
    assert f"{RECOVERY_SIZE} random bytes" in SPEC
