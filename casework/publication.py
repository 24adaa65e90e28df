"""Published conclusions (LTC Art. 40, NĐ31 Art. 6): posting, correcting, taking down.

A unit makes the conclusion of a named case public: a summary it writes, posted somewhere
(its office, its website) for at least 15 consecutive days, never naming the reporter.
The summary is public by nature, so it is stored in the clear in ``published_conclusions``,
linked to its case for staff only; the public app reads its public columns alone
(``public_page``). Posting records the profile's ``publication`` event, which stops the
publication clock (7 working days from the conclusion) like any recorded notice.

Which cases can be published is the profile's: those on a track of its ``publication``
deadline rule that entered one of the rule's ``start`` statuses (``concluded``). A profile
without that rule publishes nothing.

Pure Python: no Flask. Callers own the transaction and the audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework import workflow
from casework.errors import CaseworkError
from casework.profiles import DeadlineRule
from store.models import Case, Inspector, PublishedConclusion

# NĐ31 Art. 6: posted "at least 15 consecutive days". Read as 15 whole days on display,
# the posting day included: a summary posted on the 1st may come down on the 16th.
MIN_DAYS_POSTED = 15
MAX_TITLE = 200
MAX_SUMMARY = 10_000
MAX_WHERE = 500
PER_PAGE = 10  # conclusions on one public page


class PublicationError(CaseworkError):
    """A refused posting, correction or take-down; ``code`` names the rule broken."""


@dataclass(frozen=True)
class Draft:
    """What the unit writes when it posts a conclusion."""

    title: str
    summary: str
    posted_where: str
    posted_on: date
    earliest_removal_on: date


@dataclass(frozen=True)
class PublicConclusion:
    """What the public sees of one conclusion: nothing that leads back to its case."""

    id: int
    title: str
    summary: str
    concluded_on: date
    posted_on: date


@dataclass(frozen=True)
class PublicPage:
    items: list[PublicConclusion]
    number: int  # from 1
    pages: int  # at least 1, even with nothing published


def earliest_removal(posted_on: date) -> date:
    """The first day a summary posted on ``posted_on`` may come down."""
    return posted_on + timedelta(days=MIN_DAYS_POSTED)


def concluded_on(case: Case) -> date | None:
    """The day of the case's (latest) conclusion, or None if it has none to publish."""
    rule = _rule(case)
    if rule is None or case.purged_on is not None:
        return None
    days = [
        event.occurred_on
        for event in case.events
        if event.kind == workflow.STATUS_CHANGE and event.to_status in rule.start
    ]
    return days[-1] if days else None


def posted(session: Session, case: Case) -> list[PublishedConclusion]:
    """Every summary of ``case`` ever posted, the latest first."""
    query = (
        select(PublishedConclusion)
        .where(PublishedConclusion.case_id == case.id)
        .order_by(PublishedConclusion.id.desc())
    )
    return list(session.scalars(query))


def still_up(session: Session, case: Case) -> PublishedConclusion | None:
    return next((row for row in posted(session, case) if row.removed_on is None), None)


def publish(
    session: Session,
    case: Case,
    inspector: Inspector,
    draft: Draft,
    *,
    today: date,
    now: datetime,
) -> PublishedConclusion:
    """Post ``draft`` for ``case`` and record the ``publication`` event on the posting day
    while the publication clock runs (once closed, the case's history is left alone)."""
    concluded = concluded_on(case)
    if concluded is None:
        raise PublicationError("not_concluded", "only a concluded named case is published")
    if still_up(session, case) is not None:
        raise PublicationError("already_posted", "this conclusion is already posted")
    _check_dates(draft, concluded, today)
    row = PublishedConclusion(
        unit_id=case.unit_id,
        case_id=case.id,
        title=checked_text(draft.title, MAX_TITLE, "title"),
        summary=checked_text(draft.summary, MAX_SUMMARY, "summary"),
        posted_where=checked_text(draft.posted_where, MAX_WHERE, "posted_where"),
        concluded_on=concluded,
        posted_on=draft.posted_on,
        earliest_removal_on=draft.earliest_removal_on,
        posted_by=inspector,
        posted_at=now,
    )
    session.add(row)
    if workflow.PUBLICATION in workflow.recordable(case, inspector):
        workflow.record(
            case, workflow.PUBLICATION, inspector=inspector, today=draft.posted_on, now=now
        )
        workflow.refresh(case, today)  # judged against today, not the posting day
    return row


def correct(row: PublishedConclusion, title: str, summary: str) -> list[str]:
    """Correct a summary still up (a typo); the names of the fields that changed."""
    if row.removed_on is not None:
        raise PublicationError("taken_down", "a summary taken down is no longer corrected")
    new = {
        "title": checked_text(title, MAX_TITLE, "title"),
        "summary": checked_text(summary, MAX_SUMMARY, "summary"),
    }
    changed = [name for name, value in new.items() if getattr(row, name) != value]
    if not changed:
        raise PublicationError("unchanged", "the correction changes nothing")
    row.title, row.summary = new["title"], new["summary"]
    return changed


def take_down_refusal(row: PublishedConclusion, today: date) -> PublicationError | None:
    """Why ``row`` cannot be taken down ``today``, or None if it can."""
    if row.removed_on is not None:
        return PublicationError("taken_down", "this summary was already taken down")
    if today < row.earliest_removal_on:
        return PublicationError(
            "too_early", f"this summary stays up until {row.earliest_removal_on.isoformat()}"
        )
    return None


def take_down(row: PublishedConclusion, inspector: Inspector, today: date) -> None:
    refusal = take_down_refusal(row, today)
    if refusal is not None:
        raise refusal
    row.removed_on = today
    row.removed_by = inspector


def public_page(session: Session, unit_id: int, number: int) -> PublicPage:
    """One page of the unit's conclusions still up, the latest posted first.

    Only the public columns are selected: the submit role may read nothing else of the
    table (deploy/postgres/grants.toml), and its row security hides what was taken down."""
    up = (PublishedConclusion.unit_id == unit_id, PublishedConclusion.removed_on.is_(None))
    total = session.scalar(select(func.count()).select_from(PublishedConclusion).where(*up)) or 0
    pages = max(1, -(-total // PER_PAGE))
    number = min(max(1, number), pages)
    query = (
        select(
            PublishedConclusion.id,
            PublishedConclusion.title,
            PublishedConclusion.summary,
            PublishedConclusion.concluded_on,
            PublishedConclusion.posted_on,
        )
        .where(*up)
        .order_by(PublishedConclusion.posted_on.desc(), PublishedConclusion.id.desc())
        .offset((number - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    items = [PublicConclusion(*row) for row in session.execute(query)]
    return PublicPage(items, number, pages)


def checked_text(text: str, limit: int, field: str) -> str:
    """``text`` with its line breaks made LF and its ends trimmed; refused empty or long."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise PublicationError(f"{field}_missing", f"the {field} is empty")
    if len(cleaned) > limit:
        raise PublicationError(f"{field}_too_long", f"the {field} is over {limit} characters")
    return cleaned


def _check_dates(draft: Draft, concluded: date, today: date) -> None:
    if draft.posted_on > today:
        raise PublicationError("posted_later", "record a posting once it is up, not before")
    if draft.posted_on < concluded:
        raise PublicationError("posted_before_conclusion", "posted before the conclusion")
    if draft.earliest_removal_on < earliest_removal(draft.posted_on):
        raise PublicationError(
            "too_short", f"a conclusion stays posted at least {MIN_DAYS_POSTED} days"
        )


def _rule(case: Case) -> DeadlineRule | None:
    rule = workflow.profile_of(case).deadlines.get(workflow.PUBLICATION)
    return rule if rule is not None and case.track in rule.tracks else None
