"""Inbox benchmark: pages of ``minhbach.casework.inbox`` against a bare indexed SELECT.

Seeds a fresh, migrated SQLite database with synthetic cases (random statuses, categories,
dates and flags; case-key wraps for one inspector on about 90% of them; read markers and
messages on some), then times, for several inbox pages, the whole ``fetch_page`` call next
to a bare SELECT of the same rows by primary key in the same run. Prints p50/p95 of each
and the ratio of the p95s.

Not part of the test suite; run it by hand from the repository root (see README.md):

    .venv/bin/python -m benchmarks.inbox                   # 100,000 cases: the real check
    .venv/bin/python -m benchmarks.inbox --cases 20000     # a quick look

The exit status is 0 only if every target is met, 1 if one is missed, 2 if a run failed.
"""

from __future__ import annotations

import argparse
import base64
import enum
import functools
import platform
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from minhbach.casework import inbox
from minhbach.casework.categories import DEFAULT_CATEGORIES
from minhbach.store.db import make_engine, session_factory, upgrade_to_head
from minhbach.store.models import (
    Case,
    CaseExclusion,
    CaseRead,
    Inspector,
    InspectorRole,
    KeyWrap,
    Message,
    Party,
    RecipientKind,
    Track,
    Unit,
    WrapPurpose,
)

RATIO_TARGET = 3.0  # p95 of the inbox page over p95 of the bare SELECT
LATENCY_TARGET_MS = 100.0  # p95 of the inbox page
DEFAULT_CASES = 100_000
DEFAULT_REPEAT = 200
DEFAULT_DEEP_PAGE = 200
PAGE_SIZE = inbox.DEFAULT_PAGE_SIZE
SEED = 20_261_127
BATCH = 10_000

# Synthetic data, never user data: a fixed "today" keeps the figures reproducible.
TODAY = date(2026, 11, 27)
STATUSES = (
    "received",
    "triage",
    "forwarded",
    "not_accepted",
    "accepted",
    "verifying",
    "suspended",
    "terminated",
    "withdrawn",
    "concluded",
    "handling",
    "closed",
)
WRAPPED_SHARE = 0.9  # cases the timed inspector can open
EXCLUDED_SHARE = 0.02  # of the others: excluded for a conflict of interest
READ_SHARE = 0.6  # of the wrapped cases: opened before
MESSAGE_SHARE = 0.3  # cases with a reporter message


class BenchmarkError(Exception):
    """Seeding or a page failed, or a page returned the wrong rows."""


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


class Clock(enum.StrEnum):
    """What a page's time is measured in."""

    CPU = "cpu"  # this thread's CPU time (SQLite runs in it): preemption is not counted
    WALL = "wall"  # elapsed time, which on a busy machine includes other processes' turns


CLOCKS: dict[Clock, Callable[[], float]] = {
    Clock.CPU: time.thread_time,
    Clock.WALL: time.perf_counter,
}


@dataclass(frozen=True)
class Config:
    cases: int
    repeat: int
    deep_page: int
    sort_by_due: bool
    clock: Clock


@dataclass
class Timings:
    page: list[float]  # seconds
    bare: list[float]


# --- seeding -------------------------------------------------------------------------------


def seed(engine: Engine, count: int, rng: random.Random) -> int:
    """Fill the database; returns the id of the inspector whose inbox is timed."""
    with session_factory(engine)() as session:
        unit = Unit(
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
            connection.execute(insert(Case), [_case(i, unit_id, rng) for i in ids])
            wraps, exclusions, reads, messages = _children(ids, timed, other, rng)
            connection.execute(insert(KeyWrap), wraps)
            for table, rows in (
                (CaseExclusion, exclusions),
                (CaseRead, reads),
                (Message, messages),
            ):
                if rows:
                    connection.execute(insert(table), rows)
        connection.exec_driver_sql("ANALYZE")
    return timed


def _inspector(unit: Unit, name: str) -> Inspector:
    return Inspector(
        unit=unit,
        username=name,
        display_name=name,
        role=InspectorRole.INSPECTOR,
        public_key=secrets.token_bytes(32),
        sealed_key_passphrase=secrets.token_bytes(48),
        sealed_key_recovery=secrets.token_bytes(48),
        totp_secret=base64.b32encode(secrets.token_bytes(20)).decode("ascii"),
    )


def _case(case_id: int, unit_id: int, rng: random.Random) -> dict[str, Any]:
    received = TODAY - timedelta(days=rng.randrange(3 * 365))

    def due(chance: float) -> date | None:
        return received + timedelta(days=rng.randrange(5, 120)) if rng.random() < chance else None

    protection = rng.random() < 0.08
    return {
        "id": case_id,
        "public_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "unit_id": unit_id,
        "track": Track.NAMED if rng.random() < 0.3 else Track.ANONYMOUS,
        "status": rng.choice(STATUSES),
        "category": rng.choice(DEFAULT_CATEGORIES),
        "received_on": received,
        "status_changed_on": received,
        "triage_due": due(0.5),
        "resolution_due": due(0.3),
        "target_due": due(0.4),
        "lookup_index": rng.randbytes(5),
        "lookup_hash": b"$argon2id$benchmark",
        "reporter_public_key": rng.randbytes(32),
        "body": rng.randbytes(64),
        "identity": None,
        "submitted_with_js": rng.random() < 0.7,
        "protection_requested": protection,
        "retaliation_reported": rng.random() < 0.04,
        "urgent": protection or rng.random() < 0.02,
        "last_reporter_activity_on": received,
    }


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
                    "author": Party.REPORTER,
                    "inspector_id": None,
                    "body": rng.randbytes(64),
                    "created_on": TODAY,
                }
            )
    return wraps, exclusions, reads, messages


def _wrap(case_id: int, inspector_id: int, rng: random.Random) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "purpose": WrapPurpose.CASE_KEY,
        "recipient_kind": RecipientKind.INSPECTOR,
        "inspector_id": inspector_id,
        "wrapped": rng.randbytes(82),
        "created_on": TODAY,
    }


# --- timing --------------------------------------------------------------------------------


def bare_query(ids: Sequence[int], newest_first: bool) -> Any:
    """The floor: the same rows' columns straight from the primary key, no access check."""
    order = Case.id.desc() if newest_first else Case.id.asc()
    return (
        select(
            Case.id,
            Case.public_id,
            Case.track,
            Case.status,
            Case.category,
            Case.received_on,
            Case.triage_due,
            Case.resolution_due,
            Case.target_due,
            Case.urgent,
            Case.protection_requested,
            Case.retaliation_reported,
        )
        .where(Case.id.in_(ids))
        .order_by(order)
    )


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


def measure(
    session: Session, inspector_id: int, scenario: Scenario, repeat: int, clock: Callable[[], float]
) -> Timings:
    after = cursor_for(session, inspector_id, scenario)
    expected = fetch(session, inspector_id, scenario, after)
    ids = [row.id for row in expected.rows]
    if len(ids) != PAGE_SIZE:
        raise BenchmarkError(f"{scenario.name}: a page of {len(ids)} rows, not {PAGE_SIZE}")
    newest_first = scenario.sort is inbox.Sort.NEWEST
    bare = bare_query(ids, newest_first) if scenario.sort is not inbox.Sort.DUE else None
    timings = Timings([], [])
    for turn in range(repeat):
        # Alternate which side goes first, so drift on the machine favours neither.
        for side in ("page", "bare") if turn % 2 == 0 else ("bare", "page"):
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
            select(KeyWrap.case_id).where(
                KeyWrap.case_id.in_(ids), KeyWrap.inspector_id == inspector_id
            )
        )
    )
    if wrapped != set(ids):
        raise BenchmarkError("the inbox listed a case without the inspector's key wrap")


# --- report --------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(config: Config, results: dict[Scenario, Timings]) -> tuple[str, bool]:
    lines = [
        f"{config.cases:,} cases, {PAGE_SIZE} rows a page, {config.repeat} runs each, "
        f"{config.clock} time in ms",
        f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"SQLite {sqlite3.sqlite_version}",
        "",
        f"{'page':<28} {'page p50':>9} {'page p95':>9} {'bare p50':>9} {'bare p95':>9}"
        f" {'ratio p95':>10}  result",
    ]
    passed_all = True
    for scenario, timing in results.items():
        page95, bare95 = percentile(timing.page, 0.95), percentile(timing.bare, 0.95)
        ratio = page95 / bare95 if bare95 > 0 else float("inf")
        passed = ratio <= RATIO_TARGET and page95 * 1000 < LATENCY_TARGET_MS
        if scenario.graded:
            passed_all = passed_all and passed
            result = "PASS" if passed else "FAIL"
        else:
            result = "info"
        name = scenario.name if scenario.page == 1 else f"{scenario.name} (page {scenario.page})"
        lines.append(
            f"{name:<28} {ms(statistics.median(timing.page)):>9} {ms(page95):>9}"
            f" {ms(statistics.median(timing.bare)):>9} {ms(bare95):>9}"
            f" {ratio:>10.2f}  {result}"
        )
    lines += [
        "",
        f"{'PASS' if passed_all else 'FAIL'}  every page: p95 <= {RATIO_TARGET:.0f}x the bare "
        f"SELECT's p95, and p95 < {LATENCY_TARGET_MS:.0f} ms",
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
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help="runs of each page (default 200)"
    )
    parser.add_argument(
        "--deep-page",
        type=int,
        default=DEFAULT_DEEP_PAGE,
        help="which page the deep keyset page is (default 200)",
    )
    parser.add_argument(
        "--sort-by-due",
        action="store_true",
        help="also time the first page sorted by next deadline (a full sort: no index can "
        "serve an earliest-of-three-dates key)",
    )
    parser.add_argument(
        "--clock",
        type=Clock,
        choices=list(Clock),
        default=Clock.CPU,
        help="time pages by this thread's CPU time (default; robust to busy neighbours) "
        "or by wall-clock time",
    )
    args = parser.parse_args(argv)
    if args.repeat < 2:
        parser.error("--repeat must be at least 2")
    if args.deep_page < 2:
        parser.error("--deep-page must be at least 2")
    if args.cases < PAGE_SIZE * args.deep_page * 2:
        parser.error(f"--cases must be at least {PAGE_SIZE * args.deep_page * 2:,}")
    return Config(args.cases, args.repeat, args.deep_page, args.sort_by_due, args.clock)


def scenarios(config: Config) -> Iterator[Scenario]:
    for scenario in SCENARIOS:
        if scenario.page > 1:
            yield Scenario(scenario.name, scenario.filters, scenario.sort, config.deep_page)
        else:
            yield scenario
    if config.sort_by_due:
        yield Scenario("sorted by due date", inbox.Filters(), inbox.Sort.DUE, 1, graded=False)


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    rng = random.Random(SEED)
    # Synthetic data only, so it may rest on disk; the directory goes at exit.
    with tempfile.TemporaryDirectory(prefix="minhbach-bench-") as workdir:
        engine = make_engine(f"sqlite:///{Path(workdir) / 'inbox.sqlite3'}")
        try:
            upgrade_to_head(engine)
            started = time.perf_counter()
            inspector_id = seed(engine, config.cases, rng)
            print(f"seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            results: dict[Scenario, Timings] = {}
            with session_factory(engine)() as session:
                check_access(session, inspector_id)
                for scenario in scenarios(config):
                    print(f"timing {scenario.name}", file=sys.stderr)
                    results[scenario] = measure(
                        session, inspector_id, scenario, config.repeat, CLOCKS[config.clock]
                    )
        finally:
            engine.dispose()
    text, passed = report(config, results)
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"benchmark error: {error}", file=sys.stderr)
        sys.exit(2)
