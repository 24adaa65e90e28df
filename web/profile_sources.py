"""The ``source`` of every deadline rule in casework/profiles/*.toml, as messages to
translate: staff read a rule's legal basis beside its deadline, in their own language.

A Babel extractor (babel.cfg's ``[extractors]``), so ``make messages`` and the translation
test find a new or changed source the way they find any string in the code, and the page
shows it through gettext (``{{ _(rule.source) }}``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

SOURCE_KEY = "source"


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """(line, function, message, comments) for each ``source = "..."`` line of a profile."""
    for lineno, line in enumerate(fileobj.read().decode("utf-8").splitlines(), start=1):
        if line.split("=", 1)[0].strip() != SOURCE_KEY:
            continue
        value = tomllib.loads(line).get(SOURCE_KEY)
        if isinstance(value, str) and value:
            yield lineno, None, value, ["The legal basis of a deadline, shown to staff."]
