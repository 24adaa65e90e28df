"""A case's transcript: the report and every message, each entry linked to the one before it
(docs/crypto.md §13.5).

    link[-1] = SHA-256("minhbach/2/transcript/" || case id)
    link[i]  = SHA-256("minhbach/2/link" || link[i-1] || SHA-256(envelope i))

Entry ``i`` names ``link[i-1]`` in its signed place, so an entry deleted, inserted or moved
breaks every link after it. Cutting entries off the end cannot be seen from the records
alone; the reporter's page compares the count with what it saw last (§13.5).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from crypto.places import Place
from crypto.wrapping import check_context

_GENESIS = b"minhbach/2/transcript/"
_LINK = b"minhbach/2/link"


def genesis(case_id: str) -> bytes:
    return hashlib.sha256(_GENESIS + check_context(case_id)).digest()


def next_link(previous: bytes, envelope: bytes) -> bytes:
    return hashlib.sha256(_LINK + previous + hashlib.sha256(envelope).digest()).digest()


def file_digest(envelope: bytes) -> str:
    """How a report or message names a FILE_META record it carries: SHA-256, hex."""
    return hashlib.sha256(envelope).hexdigest()


class Position(enum.StrEnum):
    IN_ORDER = "in_order"
    OUT_OF_ORDER = "out_of_order"  # its link names another entry: one is missing or moved
    CARRIED = "carried"  # a version-1 entry from before the case's upgrade: not linked


@dataclass(frozen=True)
class Stored:
    """One entry as the database gives it: its envelope and, for version 2, its signed place."""

    envelope: bytes
    place: Place | None  # None for a version-1 entry


def check_order(case_id: str, entries: Sequence[Stored]) -> list[Position]:
    """Where each entry stands, in the order the database lists them.

    Each entry is judged only against the one listed before it: it is in order when its
    signed link is that entry's link. So one entry deleted marks the one after it, not every
    entry to the end; two entries swapped mark the pair and the entry after them.
    """
    positions = []
    link = genesis(case_id)
    for stored in entries:
        place = stored.place
        if place is None:
            positions.append(Position.CARRIED)
            link = next_link(link, stored.envelope)
            continue
        positions.append(Position.IN_ORDER if place.prev == link.hex() else Position.OUT_OF_ORDER)
        link = next_link(bytes.fromhex(place.prev or ""), stored.envelope)
    return positions
