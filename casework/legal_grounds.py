"""The closed lists of grounds the law gives for a decision, each with its article.

Some decisions may only be taken on grounds the law lists: an extension of the resolution
deadline (NĐ31 Art. 3's criteria of a complex case), a suspension (LTC Art. 34(1)), going
on with a withdrawn denunciation (LTC Art. 33(3), NĐ31 Art. 4). A profile names the list
a step or an extension draws from (docs/workflow.md, "The profile format"); the step
records which grounds apply as plain keys on its event. They are categories, not the
case's content, so they are not sealed: the free-text grounds beside them are.

The words of each ground, in both languages, live with the program's other labels
(web/labels.py, LEGAL_GROUNDS); here are the keys and the article each comes from.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from casework.errors import CaseworkError


class GroundsError(CaseworkError):
    """Chosen grounds that the list does not know, or too few of them."""


@dataclass(frozen=True)
class Ground:
    key: str
    article: str  # the provision the ground is read from, shown beside it


@dataclass(frozen=True)
class GroundList:
    name: str
    article: str
    grounds: tuple[Ground, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(ground.key for ground in self.grounds)

    def chosen(self, values: Iterable[str], *, at_least: int) -> list[str]:
        """``values`` in the list's order, each once; refused when one is unknown or
        fewer than ``at_least`` apply."""
        wanted = set(values)
        unknown = sorted(wanted - set(self.keys))
        if unknown:
            raise GroundsError(
                "unknown_ground", f"{', '.join(unknown)} is not a ground of {self.article}"
            )
        if len(wanted) < at_least:
            raise GroundsError(
                "too_few_grounds",
                f"this step needs at least {at_least} of the grounds of {self.article}",
            )
        return [key for key in self.keys if key in wanted]


# NĐ31 Art. 3(2): a case is complex when one of these applies; especially complex when two
# or more do (Art. 3(3)). LTC Art. 30(1): one extension of 30 days for a complex case, two
# for an especially complex one.
COMPLEX_CASE = GroundList(
    "nd31-art3",
    "NĐ31 Art. 3(2)",
    (
        Ground("several_places", "NĐ31 Art. 3(2)(a)"),
        Ground("several_contents", "NĐ31 Art. 3(2)(b)"),
        Ground("many_people", "NĐ31 Art. 3(2)(c)"),
        Ground("foreign_element", "NĐ31 Art. 3(2)(d)"),
        Ground("several_bodies", "NĐ31 Art. 3(2)(đ)"),
        Ground("bodies_disagree", "NĐ31 Art. 3(2)(e)"),
        Ground("conflicting_evidence", "NĐ31 Art. 3(2)(g)"),
    ),
)

# LTC Art. 34(1): the two grounds on which the resolution may be suspended.
SUSPENSION = GroundList(
    "ltc-art34",
    "LTC Art. 34(1)",
    (
        Ground("awaiting_other_result", "LTC Art. 34(1)(a)"),
        Ground("awaiting_expert_result", "LTC Art. 34(1)(b)"),
    ),
)

# LTC Art. 24(3): a denunciation the unit is not competent for is not handled at all when
# it was sent at the same time to the body that is, or sent again after the reporter was
# told where to send it.
NOT_HANDLED = GroundList(
    "ltc-art24-3",
    "LTC Art. 24(3)",
    (
        Ground("sent_to_competent_body_too", "LTC Art. 24(3)"),
        Ground("sent_again_after_guidance", "LTC Art. 24(3)"),
    ),
)

# LTC Art. 33(3), detailed by NĐ31 Art. 4 (rewritten by Decree 156/2026/NĐ-CP): a
# denunciation withdrawn in full is still resolved on one of these grounds.
CONTINUE_AFTER_WITHDRAWAL = GroundList(
    "ltc-art33-3",
    "LTC Art. 33(3); NĐ31 Art. 4",
    (
        Ground("signs_of_violation", "LTC Art. 33(3)"),
        Ground("withdrawn_under_pressure", "LTC Art. 33(3)"),
        Ground("abusive_denunciation", "LTC Art. 33(3)"),
    ),
)

# NĐ31 Art. 4 as Decree 156/2026/NĐ-CP rewrites it (in force 1 July 2026): three grounds
# on which a denunciation withdrawn in full is still resolved. The decree's text was not
# available to us; these are LTC Art. 33(3)'s three, which the rewritten article details
# (low-medium confidence, DOMAIN.md "Amendments").
CONTINUE_AFTER_WITHDRAWAL_2026 = GroundList(
    "nd31-art4-2026",
    "NĐ31 Art. 4 (Decree 156/2026/NĐ-CP)",
    tuple(
        Ground(ground.key, "NĐ31 Art. 4 (Decree 156/2026/NĐ-CP); LTC Art. 33(3)")
        for ground in CONTINUE_AFTER_WITHDRAWAL.grounds
    ),
)

# LTC Art. 54(2): protection ends at the conclusion or termination of the case (by itself:
# casework.protection.end_with_the_case), when its grounds cease, or on the protected
# person's request.
PROTECTION_END = GroundList(
    "ltc-art54-2",
    "LTC Art. 54(2)",
    (
        Ground("case_ended", "LTC Art. 54(2)"),
        Ground("grounds_ceased", "LTC Art. 54(2)"),
        Ground("on_request", "LTC Art. 54(2)"),
    ),
)
# Law 136/2025/QH15 (in force 1 July 2026) adds one: the protected person deliberately
# breached their duties (DOMAIN.md, "Amendments", medium confidence).
PROTECTION_END_2026 = GroundList(
    "ltc-art54-2-2026",
    "LTC Art. 54(2) (Law 136/2025/QH15)",
    (
        *PROTECTION_END.grounds,
        Ground("deliberate_breach", "LTC Art. 54 as amended by Law 136/2025/QH15"),
    ),
)

GROUND_LISTS: dict[str, GroundList] = {
    found.name: found
    for found in (
        COMPLEX_CASE,
        SUSPENSION,
        NOT_HANDLED,
        CONTINUE_AFTER_WITHDRAWAL,
        CONTINUE_AFTER_WITHDRAWAL_2026,
        PROTECTION_END,
        PROTECTION_END_2026,
    )
}
# The ground of a protection that ends with its case (end_with_the_case).
CASE_ENDED = "case_ended"
