"""Inbox benchmark: pages of ``casework.inbox`` against a bare indexed SELECT,
and the supervisors' dashboard figures (``casework.dashboard``) against the bare
SQL of the same aggregates.

Seeds a fresh, migrated SQLite database with synthetic cases (statuses, categories, dates,
running deadlines and flags; older cases mostly closed; case-key wraps for one inspector on
about 90% of them; read markers, messages, protection records and retaliation incidents
on some), then times, for several inbox pages, the whole ``fetch_page`` call next to a
bare SELECT of the same rows by primary key in the same run. Prints p50/p95 of each and
the ratio of the p95s. Before timing a page in received order (the dates are shuffled
against the ids, as forwarded and back-dated cases make them), it checks SQLite's plan:
the page must walk the index on (received_on, id), not sort every case it may open.

The dashboard is timed the same way: the whole ``dashboard.figures`` call next to its own
SQL statements, compiled once and replayed on the raw DB-API connection (the floor: the
database's own work for the same aggregates, without SQLAlchemy or the Python that
assembles ``Figures``). Its figures are first checked against a plain Python count over
every case, which is also timed and shown, for information, as what aggregating in
Python instead of SQL would cost.

Not part of the test suite; run it by hand from the repository root (see README.md):

    .venv/bin/python -m benchmarks.inbox                   # 100,000 cases: the real check
    .venv/bin/python -m benchmarks.inbox --cases 20000     # a quick look

The exit status is 0 only if every target is met, 1 if one is missed, 2 if a run failed.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import functools
import random
import secrets
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from benchmarks import _harness as harness
from benchmarks._harness import BenchmarkError
from casework import dashboard, inbox
from casework.categories import DEFAULT_CATEGORIES
from store import models
from store.db import make_engine, session_factory, upgrade_to_head

RATIO_TARGET = 3.0  # p95 of the inbox page over p95 of the bare SELECT
LATENCY_TARGET_MS = 100.0  # p95 of the inbox page
RECEIVED_INDEX = "ix_cases_received_keyset"  # what a page in received order must walk
SORTING = "USE TEMP B-TREE FOR ORDER BY"  # SQLite's plan step for sorting every row found
DEFAULT_CASES = 100_000
DEFAULT_REPEAT = 200
DEFAULT_DEEP_PAGE = 200
PAGE_SIZE = inbox.DEFAULT_PAGE_SIZE
SEED = 20_261_127
BATCH = 10_000

# Synthetic data, never user data: a fixed "today" keeps the figures reproducible.
TODAY = date(2026, 11, 27)
# Statuses of the profile vn-denunciation-2018: running ones carry a next deadline (but a
# suspended clock does not), ended ones a closing date and no deadline.
RUNNING_STATUSES = ("received", "triage", "accepted", "verifying", "concluded", "handling")
PAUSED_STATUSES = ("suspended",)
ENDED_STATUSES = ("forwarded", "not_accepted", "terminated", "withdrawn", "closed")
STATUSES = RUNNING_STATUSES + PAUSED_STATUSES + ENDED_STATUSES
RECENT_DAYS = 120  # cases received more recently are mostly still running
ENDED_SHARE_RECENT = 0.3
ENDED_SHARE_OLDER = 0.95
PROTECTION_RECORDS = 2  # per case with a protection request (person x category)
RETALIATION_INCIDENTS = 2  # per case with retaliation reported
WRAPPED_SHARE = 0.9  # cases the timed inspector can open
EXCLUDED_SHARE = 0.02  # of the others: excluded for a conflict of interest
READ_SHARE = 0.6  # of the wrapped cases: opened before
MESSAGE_SHARE = 0.3  # cases with a reporter message


@dataclass(frozen=True)
class Scenario:
    name: str
    filters: inbox.Filters
    sort: inbox.Sort
    page: int  # 1-based: the page timed, reached by following the cursors
    graded: bool = True  # False: shown for information, no target applies


SCENARIOS = (
    Scenario("first page", inbox.Filters(), inbox.Sort.NEWEST, 1),
    Scenario("filtered: status", inbox.Filters(status="verifying"), inbox.Sort.NEWEST, 1),
    Scenario(
        "filtered: unread, overdue",
        inbox.Filters(unread=True, overdue=True),
        inbox.Sort.NEWEST,
        1,
    ),
    Scenario(
        "filtered: protection", inbox.Filters(protection_requested=True), inbox.Sort.OLDEST, 1
    ),
    Scenario("deep page", inbox.Filters(), inbox.Sort.NEWEST, DEFAULT_DEEP_PAGE),
)


@dataclass(frozen=True)
class Config:
    cases: int
    repeat: int
    deep_page: int
    sort_by_due: bool
    clock: harness.Clock  # SQLite runs in this thread: its work shows on the CPU clock too


@dataclass
class Timings:
    page: list[float]  # seconds
    bare: list[float]


# --- seeding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    unit_id: int
    inspector_id: int  # whose inbox is timed


def seed(engine: Engine, count: int, rng: random.Random) -> Seeded:
    """Fill the database with one unit's cases and what hangs off them."""
    with session_factory(engine)() as session:
        unit = models.Unit(
            slug="benchmark",
            name="Benchmark unit",
            profile="vn-denunciation-2018",
            categories=list(DEFAULT_CATEGORIES),
            reception_schedule="-",
            escrow_public_key=secrets.token_bytes(32),
        )
        people = [_inspector(unit, name) for name in ("timed", "other")]
        session.add_all(people)
        session.commit()
        unit_id, timed, other = unit.id, people[0].id, people[1].id
    with engine.begin() as connection:
        for start in range(1, count + 1, BATCH):
            ids = range(start, min(start + BATCH, count + 1))
            cases = [_case(i, unit_id, rng) for i in ids]
            connection.execute(insert(models.Case), cases)
            wraps, exclusions, reads, messages = _children(ids, timed, other, rng)
            connection.execute(insert(models.KeyWrap), wraps)
            for table, rows in (
                (models.CaseExclusion, exclusions),
                (models.CaseRead, reads),
                (models.Message, messages),
                (models.ProtectionRecord, _protections(cases, rng)),
                (models.RetaliationIncident, _incidents(cases, rng)),
            ):
                if rows:
                    connection.execute(insert(table), rows)
        connection.exec_driver_sql("ANALYZE")
    return Seeded(unit_id, timed)


def _inspector(unit: models.Unit, name: str) -> models.Inspector:
    return models.Inspector(
        unit=unit,
        username=name,
        display_name=name,
        role=models.InspectorRole.INSPECTOR,
        public_key=secrets.token_bytes(32),
        sealed_key_passphrase=secrets.token_bytes(48),
        sealed_key_recovery=secrets.token_bytes(48),
        totp_secret=base64.b32encode(secrets.token_bytes(20)).decode("ascii"),
    )


def _case(case_id: int, unit_id: int, rng: random.Random) -> dict[str, Any]:
    age = rng.randrange(3 * 365)
    received = TODAY - timedelta(days=age)
    status, next_due, closed_on = _progress(received, age, rng)
    protection = rng.random() < 0.08
    return {
        "id": case_id,
        "public_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "unit_id": unit_id,
        "track": models.Track.NAMED if rng.random() < 0.3 else models.Track.ANONYMOUS,
        "status": status,
        "category": rng.choice(DEFAULT_CATEGORIES),
        "received_on": received,
        "status_changed_on": closed_on or received,
        "next_due": next_due,
        "closed_on": closed_on,
        # Retention purges some cases received long ago: they still count on the dashboard.
        "purged_on": TODAY if age > 2 * 365 and closed_on is not None else None,
        "lookup_index": rng.randbytes(5),
        "lookup_hash": b"$argon2id$benchmark",
        "reporter_public_key": rng.randbytes(32),
        "body": None if age > 2 * 365 and closed_on is not None else rng.randbytes(64),
        "identity": None,
        "submitted_with_js": rng.random() < 0.7,
        "protection_requested": protection,
        "retaliation_reported": rng.random() < 0.04,
        "urgent": protection or rng.random() < 0.02,
        "last_reporter_activity_on": received,
    }


def _progress(received: date, age: int, rng: random.Random) -> tuple[str, date | None, date | None]:
    """Status, next deadline and closing date: most older cases have ended; a running
    case's deadline lies around today (some overdue), a suspended one has none."""
    ended_share = ENDED_SHARE_RECENT if age < RECENT_DAYS else ENDED_SHARE_OLDER
    if rng.random() < ended_share:
        closed = received + timedelta(days=rng.randrange(min(age, 150) + 1))
        return rng.choice(ENDED_STATUSES), None, closed
    if rng.random() < 0.05:
        return rng.choice(PAUSED_STATUSES), None, None
    return rng.choice(RUNNING_STATUSES), TODAY + timedelta(days=rng.randrange(-30, 60)), None


def _protections(cases: Sequence[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        if not case["protection_requested"]:
            continue
        for category in rng.sample(list(models.ProtectionCategory), PROTECTION_RECORDS):
            rows.append(
                {
                    "case_id": case["id"],
                    "person": rng.choice(list(models.ProtectedPerson)),
                    "category": category,
                    "state": rng.choice(list(models.ProtectionState)),
                    "urgent": case["urgent"] and rng.random() < 0.5,
                    "requested_by": models.Party.REPORTER,
                    "requested_on": case["received_on"],
                    "details": rng.randbytes(64),
                }
            )
    return rows


def _incidents(cases: Sequence[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        if not case["retaliation_reported"]:
            continue
        for _ in range(rng.randrange(1, RETALIATION_INCIDENTS + 1)):
            reported = case["received_on"] + timedelta(days=rng.randrange(60))
            rows.append(
                {
                    "case_id": case["id"],
                    "kind": rng.choice(list(models.RetaliationKind)),
                    "reported_on": min(reported, TODAY),
                    "source": models.Party.REPORTER,
                    "details": rng.randbytes(64),
                }
            )
    return rows


def _children(
    ids: range, timed: int, other: int, rng: random.Random
) -> tuple[list[dict[str, Any]], ...]:
    wraps: list[dict[str, Any]] = []
    exclusions: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for case_id in ids:
        wraps.append(_wrap(case_id, other, rng))
        if rng.random() < WRAPPED_SHARE:
            wraps.append(_wrap(case_id, timed, rng))
            if rng.random() < READ_SHARE:
                reads.append({"inspector_id": timed, "case_id": case_id, "last_read_message_id": 0})
        elif rng.random() < EXCLUDED_SHARE / (1 - WRAPPED_SHARE):
            exclusions.append({"case_id": case_id, "inspector_id": timed})
        if rng.random() < MESSAGE_SHARE:
            messages.append(
                {
                    "case_id": case_id,
                    "author": models.Party.REPORTER,
                    "inspector_id": None,
                    "body": rng.randbytes(64),
                    "created_on": TODAY,
                }
            )
    return wraps, exclusions, reads, messages


def _wrap(case_id: int, inspector_id: int, rng: random.Random) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "purpose": models.WrapPurpose.CASE_KEY,
        "recipient_kind": models.RecipientKind.INSPECTOR,
        "inspector_id": inspector_id,
        "wrapped": rng.randbytes(82),
        "created_on": TODAY,
    }


# --- timing --------------------------------------------------------------------------------


@functools.cache
def listed_columns() -> tuple[Any, ...]:
    """The case columns an inbox row shows: the fields of ``InboxRow`` stored on the case.

    Taken from the row itself, so that the bare side reads what the page reads; the other
    fields (overdue, due soon, unread) are worked out per inspector and request.
    """
    stored = sqlalchemy.inspect(models.Case).columns.keys()
    fields = dataclasses.fields(inbox.InboxRow)
    return tuple(getattr(models.Case, field.name) for field in fields if field.name in stored)


def bare_query(ids: Sequence[int], newest_first: bool) -> Any:
    """The floor: the same rows' columns straight from the primary key, no access check,
    in the inbox's received order."""
    received, case_id = models.Case.received_on, models.Case.id
    order = (received.desc(), case_id.desc()) if newest_first else (received.asc(), case_id.asc())
    return select(*listed_columns()).where(models.Case.id.in_(ids)).order_by(*order)


def run_bare(session: Session, query: Any) -> Sequence[Any]:
    return session.execute(query).all()


def cursor_for(session: Session, inspector_id: int, scenario: Scenario) -> inbox.Cursor | None:
    """Follow the cursors from page 1 to the scenario's page (untimed)."""
    after: inbox.Cursor | None = None
    for _ in range(scenario.page - 1):
        page = fetch(session, inspector_id, scenario, after)
        if page.next_cursor is None:
            raise BenchmarkError(f"{scenario.name}: fewer than {scenario.page} pages")
        after = page.next_cursor
    return after


def fetch(
    session: Session, inspector_id: int, scenario: Scenario, after: inbox.Cursor | None
) -> inbox.InboxPage:
    return inbox.fetch_page(
        session,
        inspector_id,
        today=TODAY,
        filters=scenario.filters,
        sort=scenario.sort,
        after=after,
        limit=PAGE_SIZE,
    )


def timed(clock: Callable[[], float], action: Callable[[], Any]) -> tuple[float, Any]:
    start = clock()
    result = action()
    return clock() - start, result


def check_plan(
    session: Session, inspector_id: int, scenario: Scenario, after: inbox.Cursor | None
) -> None:
    """A page in received order must walk the index on (received_on, id) and stop after
    a page: sorting every case the inspector may open would be fast at 1,000 cases and
    slow at 100,000, which the timings alone might not show on a small run."""
    if scenario.sort is inbox.Sort.DUE:
        return
    [statement] = selects_of(session, lambda: fetch(session, inspector_id, scenario, after))
    explained = session.connection().exec_driver_sql(
        "EXPLAIN QUERY PLAN " + statement.sql, statement.parameters
    )
    steps = [str(row[3]) for row in explained]
    session.rollback()
    if not any(RECEIVED_INDEX in step for step in steps) or any(SORTING in s for s in steps):
        raise BenchmarkError(
            f"{scenario.name}: the page does not walk {RECEIVED_INDEX}: " + "; ".join(steps)
        )


def measure(
    session: Session, inspector_id: int, scenario: Scenario, repeat: int, clock: Callable[[], float]
) -> Timings:
    after = cursor_for(session, inspector_id, scenario)
    check_plan(session, inspector_id, scenario, after)
    expected = fetch(session, inspector_id, scenario, after)
    ids = [row.id for row in expected.rows]
    if len(ids) != PAGE_SIZE:
        raise BenchmarkError(f"{scenario.name}: a page of {len(ids)} rows, not {PAGE_SIZE}")
    newest_first = scenario.sort is inbox.Sort.NEWEST
    bare = bare_query(ids, newest_first) if scenario.sort is not inbox.Sort.DUE else None
    timings = Timings([], [])
    for turn in range(repeat):
        for side in harness.alternate(("page", "bare"), turn):
            if side == "page":
                seconds, page = timed(clock, lambda: fetch(session, inspector_id, scenario, after))
                if [row.id for row in page.rows] != ids:
                    raise BenchmarkError(f"{scenario.name}: the page changed between runs")
                timings.page.append(seconds)
            else:
                query = bare if bare is not None else bare_query(ids, True)
                seconds, rows = timed(clock, functools.partial(run_bare, session, query))
                if len(rows) != len(ids):
                    raise BenchmarkError(f"{scenario.name}: the bare query lost rows")
                timings.bare.append(seconds)
        session.rollback()  # end the read transaction, as a request would
    return timings


def check_access(session: Session, inspector_id: int) -> None:
    """Every listed case must carry the inspector's wrap (a fast wrong answer is no answer)."""
    page = inbox.fetch_page(session, inspector_id, today=TODAY, limit=inbox.MAX_PAGE_SIZE)
    ids = [row.id for row in page.rows]
    wrapped = set(
        session.scalars(
            select(models.KeyWrap.case_id).where(
                models.KeyWrap.case_id.in_(ids), models.KeyWrap.inspector_id == inspector_id
            )
        )
    )
    if wrapped != set(ids):
        raise BenchmarkError("the inbox listed a case without the inspector's key wrap")


# --- the dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any


def dashboard_figures(session: Session, unit_id: int) -> dashboard.Figures:
    return dashboard.figures(session, unit_id, TODAY)


def dashboard_statements(session: Session, unit_id: int) -> list[Statement]:
    """The SQL that ``figures`` sends, as sent (compiled text and parameters)."""
    return selects_of(session, lambda: dashboard_figures(session, unit_id))


def selects_of(session: Session, action: Callable[[], Any]) -> list[Statement]:
    """The SELECT statements ``action`` sends, as sent (compiled text and parameters)."""
    seen: list[Statement] = []

    def record(*args: Any) -> None:
        seen.append(Statement(args[2], args[3]))

    engine = session.get_bind()
    sqlalchemy.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", record)
    session.rollback()
    return [item for item in seen if item.sql.lstrip().upper().startswith("SELECT")]


def run_raw(cursor: Any, statements: Sequence[Statement]) -> list[Any]:
    """The floor: the same statements on the DB-API cursor, rows fetched, nothing built."""
    results = []
    for statement in statements:
        cursor.execute(statement.sql, statement.parameters)
        results.append(cursor.fetchall())
    return results


def python_loop_figures(session: Session, unit_id: int) -> dict[str, Any]:
    """A few of the figures counted in Python over every case: the check, and what the
    dashboard would cost without aggregates in SQL."""
    rows = session.execute(
        select(models.Case.status, models.Case.next_due, models.Case.closed_on).where(
            models.Case.unit_id == unit_id
        )
    ).all()
    horizon = TODAY + timedelta(days=dashboard.DEFAULT_DUE_SOON_DAYS)
    by_status: dict[str, int] = {}
    overdue = due_soon = still_open = 0
    for status, next_due, closed_on in rows:
        by_status[status] = by_status.get(status, 0) + 1
        overdue += next_due is not None and next_due < TODAY
        due_soon += next_due is not None and TODAY <= next_due <= horizon
        still_open += closed_on is None
    return {
        "total": len(rows),
        "by_status": tuple(sorted(by_status.items())),
        "overdue": overdue,
        "due_soon": due_soon,
        "open_cases": still_open,
    }


def check_dashboard(session: Session, unit_id: int, cases: int) -> None:
    """The figures must match a plain count (a fast wrong answer is no answer)."""
    found = dashboard_figures(session, unit_id)
    expected = python_loop_figures(session, unit_id)
    session.rollback()
    got = {name: getattr(found, name) for name in expected}
    if got != expected or found.total != cases:
        raise BenchmarkError(f"dashboard figures differ from a plain count: {got} != {expected}")
    if found.overdue == 0 or found.due_soon == 0 or found.protection_by_state == ():
        raise BenchmarkError("the synthetic data left a dashboard block empty")


def measure_dashboard(
    session: Session, engine: Engine, unit_id: int, repeat: int, clock: Callable[[], float]
) -> tuple[Timings, Timings]:
    """``figures`` vs its bare SQL; and, for information, the Python loop vs the bare SQL."""
    statements = dashboard_statements(session, unit_id)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        figures_timings, loop_timings = Timings([], []), Timings([], [])
        for turn in range(repeat):
            for side in harness.alternate(("figures", "bare"), turn):
                if side == "figures":
                    seconds, _ = timed(clock, lambda: dashboard_figures(session, unit_id))
                    figures_timings.page.append(seconds)
                    session.rollback()
                else:
                    seconds, _ = timed(clock, functools.partial(run_raw, cursor, statements))
                    figures_timings.bare.append(seconds)
                    raw.rollback()
        # The loop is slow: a tenth of the runs is enough to show the difference.
        for _ in range(max(2, repeat // 10)):
            seconds, _ = timed(clock, lambda: python_loop_figures(session, unit_id))
            loop_timings.page.append(seconds)
            session.rollback()
            seconds, _ = timed(clock, functools.partial(run_raw, cursor, statements))
            loop_timings.bare.append(seconds)
            raw.rollback()
    finally:
        raw.close()
    return figures_timings, loop_timings


# --- report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    name: str
    timings: Timings
    graded: bool  # False: shown for information, no target applies


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(config: Config, results: Sequence[Result]) -> tuple[str, bool]:
    lines = [
        f"{config.cases:,} cases, {PAGE_SIZE} rows a page, {config.repeat} runs each "
        f"(the Python loop: a tenth), {config.clock} time in ms",
        harness.versions(
            f"SQLAlchemy {sqlalchemy.__version__}", f"SQLite {sqlite3.sqlite_version}"
        ),
        "",
        f"{'page':<28} {'page p50':>9} {'page p95':>9} {'bare p50':>9} {'bare p95':>9}"
        f" {'ratio p95':>10}  result",
    ]
    passed_all = True
    for item in results:
        timing, name = item.timings, item.name
        page95, bare95 = percentile(timing.page, 0.95), percentile(timing.bare, 0.95)
        ratio = page95 / bare95 if bare95 > 0 else float("inf")
        passed = ratio <= RATIO_TARGET and page95 * 1000 < LATENCY_TARGET_MS
        if item.graded:
            passed_all = passed_all and passed
            result = harness.pass_fail(passed)
        else:
            result = "info"
        lines.append(
            f"{name:<28} {ms(statistics.median(timing.page)):>9} {ms(page95):>9}"
            f" {ms(statistics.median(timing.bare)):>9} {ms(bare95):>9}"
            f" {ratio:>10.2f}  {result}"
        )
    lines += [
        "",
        f"{harness.pass_fail(passed_all)}  every page and the dashboard: p95 <= "
        f"{RATIO_TARGET:.0f}x the bare query's p95, and p95 < {LATENCY_TARGET_MS:.0f} ms",
        "(bare query: for a page, the same rows by primary key; for the dashboard, its own "
        "aggregate SQL on the raw DB-API connection)",
    ]
    return "\n".join(lines), passed_all


# --- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.inbox",
        description="Inbox pages (filters, keyset pagination) vs a bare indexed SELECT.",
    )
    parser.add_argument(
        "--cases", type=int, default=DEFAULT_CASES, help="cases to seed (default 100000)"
    )
    harness.add_repeat_argument(parser, DEFAULT_REPEAT, "each page")
    parser.add_argument(
        "--deep-page",
        type=int,
        default=DEFAULT_DEEP_PAGE,
        help="which page the deep keyset page is (default 200)",
    )
    parser.add_argument(
        "--sort-by-due",
        action="store_true",
        help="also time the first page sorted by next deadline (for information)",
    )
    harness.add_clock_argument(parser, "pages")
    args = parser.parse_args(argv)
    harness.require_at_least(parser, "--repeat", args.repeat, 2)
    harness.require_at_least(parser, "--deep-page", args.deep_page, 2)
    # The deep page must exist, with room to spare: twice the rows up to it.
    harness.require_at_least(parser, "--cases", args.cases, PAGE_SIZE * args.deep_page * 2)
    return Config(args.cases, args.repeat, args.deep_page, args.sort_by_due, args.clock)


def scenarios(config: Config) -> Iterator[Scenario]:
    for scenario in SCENARIOS:
        if scenario.page > 1:
            yield Scenario(scenario.name, scenario.filters, scenario.sort, config.deep_page)
        else:
            yield scenario
    if config.sort_by_due:
        yield Scenario("sorted by due date", inbox.Filters(), inbox.Sort.DUE, 1, graded=False)


def _name(scenario: Scenario) -> str:
    return scenario.name if scenario.page == 1 else f"{scenario.name} (page {scenario.page})"


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    rng = random.Random(SEED)
    with harness.scratch_dir() as workdir:  # the database
        engine = make_engine(f"sqlite:///{workdir / 'inbox.sqlite3'}")
        try:
            upgrade_to_head(engine)
            started = time.perf_counter()
            seeded = seed(engine, config.cases, rng)
            harness.progress(f"seeded in {time.perf_counter() - started:.1f} s")
            results: list[Result] = []
            clock = harness.CLOCKS[config.clock]
            with session_factory(engine)() as session:
                check_access(session, seeded.inspector_id)
                check_dashboard(session, seeded.unit_id, config.cases)
                for scenario in scenarios(config):
                    harness.progress(f"timing {scenario.name}")
                    timing = measure(session, seeded.inspector_id, scenario, config.repeat, clock)
                    results.append(Result(_name(scenario), timing, scenario.graded))
                harness.progress("timing the dashboard")
                figures, loop = measure_dashboard(
                    session, engine, seeded.unit_id, config.repeat, clock
                )
                results.append(Result("dashboard figures", figures, graded=True))
                results.append(Result("dashboard as a Python loop", loop, graded=False))
        finally:
            engine.dispose()
    return harness.print_report(*report(config, results))


if __name__ == "__main__":
    harness.run_main(main)
