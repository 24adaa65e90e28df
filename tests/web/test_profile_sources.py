"""Every deadline rule's legal basis reaches the catalogue, so staff read it translated."""

from __future__ import annotations

import io

from casework.profiles import BUILT_IN, load_profile, profile_names
from web.profile_sources import extract


def extracted(text: str) -> list[str]:
    return [
        message
        for _line, _function, message, _comments in extract(io.BytesIO(text.encode()), {}, [], {})
    ]


def test_every_source_of_the_built_in_profiles_is_extracted() -> None:
    found = {
        message
        for path in BUILT_IN.glob("*.toml")
        for message in extracted(path.read_text(encoding="utf-8"))
    }
    sources = {
        rule.source
        for name in profile_names()
        for rule in load_profile(name).deadlines.values()
        if rule.source
    }
    assert sources
    assert sources <= found


def test_only_source_lines_are_taken_with_toml_s_own_escapes() -> None:
    text = 'label = "not this"\nsource = "LTC Art. 24(1) \\"quoted\\""\nsources = "nor this"\n'
    assert extracted(text) == ['LTC Art. 24(1) "quoted"']
