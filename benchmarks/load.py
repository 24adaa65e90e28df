"""Load: many tipsters at once on the real apps, and not one report lost.

Both apps run under gunicorn with the production settings (``deploy/gunicorn.conf.py``:
two workers of four threads each), on SQLite and on PostgreSQL, and are driven as people
use them, all at the same time:

- tipsters send reports, half through the form without JavaScript (with a file), half
  through the JSON API as the browser does (sealed envelopes, every other one with an
  uploaded file; proofs of work paid beforehand: a challenge lasts ten minutes);
- every fifth tipster comes back with the code (the code form, or the API's session call);
- inspectors sign in and work: the inbox, the newest case (decrypted and audited), a reply
  now and then.

Afterwards the database is read directly: how many reports were stored, how many open with
an inspector's key and hold exactly what was sent (and their files), duplicate codes or
cases, every HTTP 5xx. Throughput is compared with the server's unavoidable work per
report, measured in the same run: one Argon2id hash of the lookup token, on all cores at
once (the floor, in hashes per second: the mean of a measurement just before the run and
one just after, so that other load on a shared machine weighs on both sides).

Targets (500 reports, 32 at a time; ``README.md``): every report stored and decryptable,
no duplicates and no HTTP 5xx on both databases; on PostgreSQL, reports per second at
least half the floor. Rate limits are scaled up for the run through the setting
``MINHBACH_RATE_LIMIT_SCALE``; Argon2id and the proof of work keep their production costs
unless the caller's environment sets ``MINHBACH_CODE_ARGON2``, ``MINHBACH_PASSPHRASE_ARGON2``
or ``MINHBACH_POW_DIFFICULTY`` (the test suite's small run does).

    scripts/with-services .venv/bin/python -m benchmarks.load            # the real check
    scripts/with-services .venv/bin/python -m benchmarks.load --reports 40 --concurrency 8
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from benchmarks import _harness as harness
from benchmarks._harness import BenchmarkError
from casework import access
from casework.blobs import blob_store
from casework.intake import Submission
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from casework.settings import Settings
from crypto.encoding import b64u_encode
from store.blobs import BlobStore
from store.db import make_engine, session_factory
from store.models import Case
from submit import pow
from tests import gunicorn
from tests.instances import DATABASES, PASSED_THROUGH, Instance, instance
from tests.review.conftest import Account
from tests.submit.test_api_support import (
    SealedFile,
    case_key_of,
    envelope_of,
    open_attachment,
    pending_files,
    seal_file,
)
from tests.visitor import FORM_TOKEN, META_TOKEN, Tally, Visitor, token_in

FILE_SIZE = 4096
THINK_SECONDS = (
    1.0  # an inspector reads for a while between pages (still far quicker than a person)
)
FLOOR_ROUNDS = 16  # Argon2id hashes per core for the floor: about a second of hashing
TARGET_RATIO = 0.5
_CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}\b")
_CASE_LINK = re.compile(r'href="/cases/([0-9a-f-]{36})"')


@dataclass(frozen=True)
class Config:
    reports: int = 500
    concurrency: int = 32
    followup_every: int = 5
    inspectors: int = 2
    databases: tuple[str, ...] = DATABASES


# --- One database: an instance, both apps, the crowd ------------------------------------------


@dataclass
class Sent:
    """What one tipster sent and what the server answered."""

    marker: str
    path: str  # "form" or "api"
    status: int = 0
    seconds: float = 0.0
    code: str = ""
    with_file: bool = False
    followed_up: bool | None = None  # None: not asked to


@dataclass
class Outcome:
    database: str
    config: Config
    sent: list[Sent]
    elapsed: float
    floor: float  # Argon2id hashes per second, all cores
    tally: Tally
    stored: set[str] = field(default_factory=set)  # markers found in decrypted reports
    undecryptable: int = 0
    duplicate_cases: int = 0
    inspector_pages: int = 0

    @property
    def accepted(self) -> int:
        return sum(1 for item in self.sent if item.status in (200, 201))

    @property
    def told_received_but_lost(self) -> int:
        return sum(
            1 for item in self.sent if item.status in (200, 201) and item.marker not in self.stored
        )

    @property
    def duplicate_codes(self) -> int:
        codes = [item.code for item in self.sent if item.code]
        return len(codes) - len(set(codes))

    @property
    def reports_per_second(self) -> float:
        return len(self.stored) / self.elapsed if self.elapsed else 0.0

    @property
    def ratio(self) -> float:
        return self.reports_per_second / self.floor if self.floor else 0.0

    def latency(self, quantile: float) -> float:
        times = sorted(item.seconds for item in self.sent if item.seconds)
        if not times:
            return 0.0
        return times[min(len(times) - 1, int(quantile * len(times)))]

    @property
    def followups(self) -> tuple[int, int]:
        asked = [item.followed_up for item in self.sent if item.followed_up is not None]
        return sum(1 for ok in asked if ok), len(asked)


def run_database(database: str, config: Config, root: Path) -> Outcome:
    """The whole run on one database; the instance lives under ``root``."""
    with instance(database, root) as place:
        floors = [argon2_floor(place.settings)]  # before, and again after: a shared
        jobs = prepare(place, config)  # machine's other load shifts both sides alike
        env = place.env
        logs = root / f"{database}-submit.log", root / f"{database}-review.log"
        with (
            gunicorn.running("submit:create_app()", env, logs[0], ready_path="/report") as submit,
            gunicorn.running("review:create_app()", env, logs[1], ready_path="/login") as review,
        ):
            tally = Tally()
            jobs.solve(submit.url, tally)
            sent, elapsed, pages = crowd(submit.url, review.url, place, jobs, config, tally)
        floors.append(argon2_floor(place.settings))
        floor = sum(floors) / len(floors)
        outcome = Outcome(database, config, sent, elapsed, floor, tally, inspector_pages=pages)
        verify(place, outcome)
        return outcome


# --- Before the run: envelopes sealed, proofs of work paid ------------------------------------


@dataclass
class ApiReport:
    marker: str
    keys: NewCaseKeys
    submission: Submission
    file: SealedFile | None
    solutions: dict[str, str] = field(default_factory=dict)  # purpose -> solution


@dataclass
class Jobs:
    form_markers: list[str]
    api_reports: list[ApiReport]
    category: str

    def solve(self, submit_url: str, tally: Tally) -> None:
        """Fetch and solve every proof of work the API reports will spend."""
        visitor = Visitor(submit_url, tally)
        token = token_in(visitor.get("/report"), META_TOKEN)
        wanted = [
            (report, purpose)
            for report in self.api_reports
            for purpose in ("report", "followup", *(("upload",) if report.file else ()))
        ]
        challenges = []
        for _report, purpose in wanted:
            reply = visitor.post_json("/api/v1/pow", {"purpose": purpose}, token)
            if reply.status != 200:
                raise BenchmarkError(f"no proof-of-work challenge: {reply.status}")
            document = json.loads(reply.body)
            challenges.append((document["challenge"], document["difficulty"]))
        with concurrent.futures.ProcessPoolExecutor() as pool:
            solutions = pool.map(_solve, challenges, chunksize=8)
            for (report, purpose), solution in zip(wanted, solutions, strict=True):
                report.solutions[purpose] = solution


def _solve(challenge: tuple[str, int]) -> str:
    return pow.solve(*challenge)


def prepare(place: Instance, config: Config) -> Jobs:
    engine = make_engine(place.database_url)
    try:
        with session_factory(engine)() as session:
            unit = session.merge(place.world.unit, load=True)
            recipients = unit_recipients(session, unit)
            category = unit.categories[0]
            form_markers, api_reports = [], []
            for number in range(config.reports):
                marker = f"load-{number:05d}-{uuid.uuid4().hex}"
                if number % 2 == 0:
                    form_markers.append(marker)
                    continue
                keys = NewCaseKeys()
                report = {"schema": 1, "language": "en", "category": category, "what": marker}
                file = None
                if number % 4 == 1:  # sealed first: the report names its file (protocol 2)
                    file = seal_file(
                        keys.case_key, keys.case_id, _file(marker), "e.bin", "x/y", keys.signer
                    )
                submission = seal_submission(
                    keys,
                    recipients,
                    category=category,
                    report=report,
                    identity=None,
                    attachments=pending_files(file.meta) if file else [],
                )
                api_reports.append(ApiReport(marker, keys, submission, file))
    finally:
        engine.dispose()
    return Jobs(form_markers, api_reports, category)


def _file(marker: str) -> bytes:
    return (marker.encode() * (FILE_SIZE // len(marker) + 1))[:FILE_SIZE]


def argon2_floor(settings: Settings) -> float:
    """Lookup-token hashes per second with every core hashing: the server's floor."""
    cores = os.cpu_count() or 1
    rounds = cores * FLOOR_ROUNDS
    with concurrent.futures.ProcessPoolExecutor(cores) as pool:
        list(pool.map(_hash, [settings.code_kdf] * cores))  # warm the workers up
        start = time.perf_counter()
        list(pool.map(_hash, [settings.code_kdf] * rounds))
        return rounds / (time.perf_counter() - start)


def _hash(params: crypto.Argon2Params) -> bytes:
    return crypto.hash_lookup_token(secrets.token_bytes(32), params)


# --- The run ----------------------------------------------------------------------------------


def crowd(
    submit_url: str, review_url: str, place: Instance, jobs: Jobs, config: Config, tally: Tally
) -> tuple[list[Sent], float, int]:
    """Every tipster's job on ``config.concurrency`` threads, inspectors working meanwhile.
    Returns what was sent, the seconds it all took, and the inspectors' page count."""
    tasks: list[Any] = []
    for number, marker in enumerate(jobs.form_markers):
        tasks.append(lambda m=marker, n=number: _by_form(submit_url, tally, jobs, m, n, config))
    for number, report in enumerate(jobs.api_reports):
        tasks.append(lambda r=report, n=number: _by_api(submit_url, tally, r, n, config))
    tasks.sort(key=lambda _task: secrets.randbits(32))  # both paths mixed through the run
    stop = threading.Event()
    inspectors = [
        concurrent.futures.ThreadPoolExecutor(1).submit(
            _inspector, review_url, tally, account, stop
        )
        for account in list(place.accounts.values())[: config.inspectors]
    ]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(config.concurrency) as pool:
        sent = list(pool.map(lambda task: task(), tasks))
    elapsed = time.perf_counter() - start
    stop.set()
    pages = sum(future.result() for future in inspectors)
    return sent, elapsed, pages


def _by_form(url: str, tally: Tally, jobs: Jobs, marker: str, number: int, config: Config) -> Sent:
    visitor = Visitor(url, tally)
    token = token_in(visitor.get("/report"), FORM_TOKEN)
    parts: list[tuple[str, str | bytes]] = [("csrf_token", token), ("category", jobs.category)]
    parts += [("what", marker), ("files", _file(marker))]
    sent = Sent(marker, "form", with_file=True)
    start = time.perf_counter()
    reply = visitor.post_multipart("/report", parts)
    sent.seconds, sent.status = time.perf_counter() - start, reply.status
    found = _CODE.search(reply.text) if reply.status == 200 else None
    sent.code = found.group(0) if found else ""
    if sent.code and number % config.followup_every == 0:
        start_page = visitor.get("/followup")
        opened = visitor.post_form(
            "/followup", [("csrf_token", token_in(start_page, FORM_TOKEN)), ("code", sent.code)]
        )
        sent.followed_up = opened.status == 303 and visitor.get("/followup/case").status == 200
    return sent


def _by_api(url: str, tally: Tally, report: ApiReport, number: int, config: Config) -> Sent:
    visitor = Visitor(url, tally)
    token = token_in(visitor.get("/report"), META_TOKEN)
    sent = Sent(report.marker, "api", code=report.keys.code.display())
    attachments = []
    if report.file is not None:
        sent.with_file = True
        upload = _upload(visitor, token, report.file, report.solutions["upload"])
        if upload is None:
            return sent
        attachments.append((upload, report.file.meta))
    document = envelope_of(report.submission, report.solutions["report"], attachments)
    start = time.perf_counter()
    reply = visitor.post_json("/api/v1/reports", document, token)
    sent.seconds, sent.status = time.perf_counter() - start, reply.status
    if reply.status == 201 and number % config.followup_every == 0:
        lookup = b64u_encode(report.keys.code.lookup_token())
        answer = visitor.post_json(
            "/api/v1/followup/session",
            {"lookup_token": lookup, "pow": report.solutions["followup"]},
            token,
        )
        sent.followed_up = answer.status == 200
    return sent


def _upload(visitor: Visitor, token: str, file: SealedFile, solution: str) -> str | None:
    stream = file.stream
    created = visitor.post_json("/api/v1/uploads", {"size": len(stream), "pow": solution}, token)
    if created.status != 201:
        return None
    upload = str(json.loads(created.body)["id"])
    headers = {
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
        "X-CSRFToken": token,
    }
    appended = visitor.request("PATCH", f"/api/v1/uploads/{upload}", stream, headers)
    return upload if appended.status == 204 else None


def _inspector(url: str, tally: Tally, account: Account, stop: threading.Event) -> int:
    """Sign in, then read the inbox and the newest case, replying to every third, until
    ``stop``; returns the pages seen and the replies sent, together."""
    visitor = Visitor(url, tally)
    token = token_in(visitor.get("/login"), FORM_TOKEN)
    signed_in = visitor.post_form(
        "/login",
        [
            ("csrf_token", token),
            ("username", account.username),
            ("passphrase", account.passphrase),
            ("code", account.code()),
            ("next", "/"),
        ],
    )
    if signed_in.status != 303:
        raise BenchmarkError(f"{account.username} could not sign in: {signed_in.status}")
    pages = cases_read = 0
    while True:  # at least one round, however quick the crowd
        found = _CASE_LINK.search(visitor.get("/cases").text)
        pages += 1
        if found is not None:
            case = visitor.get(f"/cases/{found.group(1)}")
            pages, cases_read = pages + 1, cases_read + 1
            if cases_read % 3 == 0 and case.status == 200:
                pages += 1
                visitor.post_form(
                    f"/cases/{found.group(1)}/reply",
                    [("csrf_token", token_in(case, FORM_TOKEN)), ("text", "Cảm ơn, đã nhận.")],
                )
        if stop.wait(THINK_SECONDS):
            break
    return pages


# --- Afterwards: what the database holds ------------------------------------------------------


def verify(place: Instance, outcome: Outcome, settings: Settings | None = None) -> None:
    """Open every case of the unit with an inspector's key; count what was stored. The
    blobs are where ``settings`` (by default the instance's) keep them."""
    inspector = place.world.people["lan"]
    key = place.world.key_of("lan")
    store = blob_store(settings or place.settings)
    with_file = {item.marker for item in outcome.sent if item.with_file}
    seen: Counter[str] = Counter()
    engine = make_engine(place.database_url)
    try:
        with session_factory(engine)() as session:
            for case in session.scalars(select(Case).where(Case.unit_id == place.world.unit.id)):
                marker = _open(session, case, inspector.id, key, store, with_file)
                if marker is None:
                    outcome.undecryptable += 1
                else:
                    seen[marker] += 1
    finally:
        engine.dispose()
    sent = {item.marker for item in outcome.sent}
    outcome.stored = set(seen) & sent
    outcome.duplicate_cases = sum(n - 1 for n in seen.values() if n > 1)


def _open(
    session: Session,
    case: Case,
    inspector_id: int,
    key: Any,
    store: BlobStore,
    with_file: set[str],
) -> str | None:
    """The marker of a case whose report (checked as the review app checks it: signed, in
    its place) and files open and match; None otherwise."""
    try:
        case_key = case_key_of(case, inspector_id, key)
        report = access.open_report(case_key, case)
        if report is None:
            return None
        marker = str(report["what"])
        files = [a for a in case.attachments if a.message_id is None]
        if marker in with_file and len(files) != 1:
            return None
        for attachment in files:
            if open_attachment(store, case, case_key, attachment)[1] != _file(marker):
                return None
    except (crypto.CryptoError, StopIteration, KeyError, TypeError):
        return None
    return marker


# --- The report -------------------------------------------------------------------------------


GOALS = {
    "nothing lost": "every report sent is stored and opens with an inspector's key",
    "no duplicates": "no code and no case twice",
    "no server errors": "no HTTP 5xx, from any app, in any request",
    "throughput": f"PostgreSQL reports/s >= {TARGET_RATIO} x the Argon2id floor",
}


def verdicts(outcome: Outcome) -> list[harness.Verdict]:
    sent, stored = len(outcome.sent), len(outcome.stored)
    name = outcome.database
    found = [
        harness.Verdict(
            "nothing lost",
            stored == sent and outcome.undecryptable == 0,
            f"{name}: {stored} of {sent} stored, {outcome.undecryptable} not opening",
            stored - sent - outcome.undecryptable,
        ),
        harness.Verdict(
            "no duplicates",
            outcome.duplicate_codes == 0 and outcome.duplicate_cases == 0,
            f"{name}: {outcome.duplicate_codes} codes, {outcome.duplicate_cases} cases",
            -(outcome.duplicate_codes + outcome.duplicate_cases),
        ),
        harness.Verdict(
            "no server errors",
            outcome.tally.server_errors == 0,
            f"{name}: {outcome.tally.server_errors}",
            -outcome.tally.server_errors,
        ),
    ]
    if name == "postgresql":
        found.append(
            harness.Verdict(
                "throughput",
                outcome.ratio >= TARGET_RATIO,
                f"{name}: {outcome.ratio:.2f} x the floor",
                outcome.ratio - TARGET_RATIO,
            )
        )
    return found


def table(outcome: Outcome) -> harness.Table:
    good, asked = outcome.followups
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(outcome.tally.statuses.items()))
    rows = [
        f"sent {len(outcome.sent)}   answered received {outcome.accepted}   "
        f"stored {len(outcome.stored)}   decryptable {len(outcome.stored)}   "
        f"not opening {outcome.undecryptable}",
        f"told received but not stored {outcome.told_received_but_lost}   duplicate codes "
        f"{outcome.duplicate_codes}   duplicate cases {outcome.duplicate_cases}",
        f"HTTP 5xx {outcome.tally.server_errors}   all answers: {statuses}",
        f"follow-ups with the code {good} of {asked}   inspector requests (pages and replies) "
        f"{outcome.inspector_pages}",
        f"{outcome.reports_per_second:.1f} reports/s in {outcome.elapsed:.1f} s   "
        f"latency p50 {outcome.latency(0.5) * 1000:.0f} ms, p95 "
        f"{outcome.latency(0.95) * 1000:.0f} ms",
        f"Argon2id floor {outcome.floor:.1f} hashes/s on {os.cpu_count()} cores   "
        f"ratio {outcome.ratio:.2f}",
    ]
    caption = [f"{outcome.database}: {outcome.config.reports} reports, "
               f"{outcome.config.concurrency} at a time"]  # fmt: skip
    return harness.Table(caption, rows, verdicts(outcome))


def report(outcomes: list[Outcome], settings: Settings) -> tuple[str, bool]:
    heading = (
        "Load: tipsters, follow-ups and inspectors at once; gunicorn 2 workers x 4 threads\n"
        + harness.versions()
        + f"\ncode Argon2id {settings.code_kdf.ops} passes, {settings.code_kdf.memory_kib} KiB; "
        f"proof of work {settings.pow_difficulty} bits"
    )
    goals = {k: v for k, v in GOALS.items() if k != "throughput"}
    if any(outcome.database == "postgresql" for outcome in outcomes):
        goals["throughput"] = GOALS["throughput"]
    return harness.render_report(heading, [table(outcome) for outcome in outcomes], goals)


def parse(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=Config.reports)
    parser.add_argument("--concurrency", type=int, default=Config.concurrency)
    parser.add_argument(
        "--database", choices=DATABASES, action="append", help="repeatable (default: both)"
    )
    options = parser.parse_args(argv)
    harness.require_at_least(parser, "--reports", options.reports, 2)
    harness.require_at_least(parser, "--concurrency", options.concurrency, 1)
    return Config(
        reports=options.reports,
        concurrency=options.concurrency,
        databases=tuple(options.database or DATABASES),
    )


def main() -> int:
    config = parse()
    outcomes = []
    with harness.scratch_dir("minhbach-load-") as root:
        for database in config.databases:
            harness.progress(f"{database}: {config.reports} reports, {config.concurrency} at once")
            place = root / database
            place.mkdir()
            outcomes.append(run_database(database, config, place))
        settings = Settings.from_env({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    text, passed = report(outcomes, settings)
    return harness.print_report(text, passed)


if __name__ == "__main__":
    harness.run_main(main)
