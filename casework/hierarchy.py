"""Which unit is directly superior to which (*cơ quan cấp trên trực tiếp*).

The head of the directly superior unit answers a reporter's escalation of an overdue case
(LTC Art. 38; NĐ31 Art. 5) and reviews a re-denunciation of a resolution the reporter
believes unlawful (Art. 37). A unit names at most one superior; following superiors
upwards must end, so a change that would make a unit its own superior, directly or through
others, is refused before anything is written.

Pure Python: no Flask, no click. The caller owns the transaction and audits the change.
"""

from __future__ import annotations

from casework.errors import CaseworkError
from store.models import Unit


class HierarchyError(CaseworkError):
    """A superior that would close a cycle; nothing has changed."""


def set_superior(unit: Unit, superior: Unit | None) -> None:
    """Make ``superior`` the directly superior unit of ``unit`` (None: it has none)."""
    if superior is not None:
        _refuse_cycle(unit, superior)
    unit.superior = superior


def answering_unit(unit: Unit) -> Unit:
    """The unit whose head answers escalations of ``unit``'s cases: its superior, or itself
    when it names none."""
    return unit.superior or unit


def _refuse_cycle(unit: Unit, superior: Unit) -> None:
    chain = [unit.slug]
    above: Unit | None = superior
    while above is not None:
        chain.append(above.slug)
        if above is unit or (above.id is not None and above.id == unit.id):
            raise HierarchyError(
                "superior_cycle",
                f"{superior.slug} cannot be the superior of {unit.slug}: "
                f"that would make a cycle ({' -> '.join(chain)})",
            )
        above = above.superior
