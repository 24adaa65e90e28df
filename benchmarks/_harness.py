"""What the benchmarks share: sizes, synthetic input, clocks, targets, report columns, the
command line's common flags and the exit statuses.

Each benchmark keeps what it measures and the layout of its own tables; the pieces here are
the ones they would otherwise each spell out again, so that ``64M`` parses, a ratio is
taken, a verdict reads and an exit status means the same in all of them (README.md).

The benchmarks import by name what they use throughout (``MiB``, ``describe_size``,
``BenchmarkError``, ...) and call the rest as ``harness.<name>``, so that a shared step
shows as shared where it is used.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

from crypto.padding import file_bucket

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZE = GiB

EXIT_PASSED = 0  # every target met
EXIT_MISSED = 1  # a target missed
EXIT_FAILED = 2  # a run failed or gave a wrong answer: there are no figures to judge
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process stopped by SIGINT

_Item = TypeVar("_Item")


class BenchmarkError(Exception):
    """A run failed or gave a wrong answer: its numbers would be meaningless."""


# --- Sizes -----------------------------------------------------------------------------------

_SIZE_PATTERN = re.compile(r"\s*([0-9]+(?:_[0-9]+)*)\s*(?:([KMG])(?:I?B)?|B)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": KiB, "M": MiB, "G": GiB}


def parse_size(text: str) -> int:
    """``1G``, ``256M``, ``64KiB``, ``100000`` or ``100_000``; suffixes are binary (K = 1024)."""
    match = _SIZE_PATTERN.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1G, 256M or 100000)")
    size = int(match.group(1)) * _UNITS[(match.group(2) or "").upper()]
    if size < 1:
        raise argparse.ArgumentTypeError("sizes must be at least one byte")
    return size


def describe_size(size: int) -> str:
    """For people: ``1 GiB``, ``1.5 MiB``, ``64 KiB``, ``100,000 B``."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB")):
        if size % unit == 0:
            return f"{size // unit} {name}"
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    return f"{size // KiB} KiB" if size % KiB == 0 else f"{size:,} B"


def padding_note(size: int) -> str:
    """How the file format pads a file of ``size`` bytes, for a report's heading."""
    padded = file_bucket(size)
    return "no padding" if padded == size else f"padded to {describe_size(padded)}"


# --- Synthetic input -------------------------------------------------------------------------

PLAINTEXT_SEED = 1_000_003
PATTERN_SIZE = MiB  # a multiple of the format's 64 KiB chunks: raw calls see the same bytes


class Plaintext:
    """The synthetic stream: one seeded random MiB repeated, handed out as zero-copy windows.

    Input costs nothing inside the timed region, and the stream is never held in memory.
    """

    def __init__(self, size: int, longest_window: int) -> None:
        pattern = random.Random(PLAINTEXT_SEED).randbytes(PATTERN_SIZE)
        copies = 1 + -(-longest_window // PATTERN_SIZE)  # any window fits after any start
        self._view = memoryview(pattern * copies)
        self.size = size

    def window(self, offset: int, length: int) -> memoryview:
        start = offset % PATTERN_SIZE
        return self._view[start : start + length]

    def pieces(self, piece_size: int) -> Iterator[memoryview]:
        for offset in range(0, self.size, piece_size):
            yield self.window(offset, min(piece_size, self.size - offset))


class OutputChecker:
    """Compares decrypted output with the plaintext, so a fast but wrong run cannot pass."""

    def __init__(self, plaintext: Plaintext) -> None:
        self._plaintext = plaintext
        self._offset = 0

    def check(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), PATTERN_SIZE):
            part = view[start : start + PATTERN_SIZE]
            # memoryview == memoryview compares item by item; bytes == bytes is one memcmp.
            if part.tobytes() != self._plaintext.window(self._offset, len(part)).tobytes():
                raise BenchmarkError(f"decrypted output differs near byte {self._offset}")
            self._offset += len(part)

    def finish(self) -> None:
        if self._offset != self._plaintext.size:
            raise BenchmarkError(f"decrypted {self._offset} bytes, expected {self._plaintext.size}")


@contextlib.contextmanager
def scratch_dir(prefix: str = "minhbach-bench-") -> Iterator[Path]:
    """A temporary folder in ``$TMPDIR``, removed at exit.

    Benchmark data is synthetic, never user data, so it may rest on disk.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


# --- Measuring -------------------------------------------------------------------------------


class Clock(enum.StrEnum):
    """What a benchmark's times are measured in."""

    CPU = "cpu"  # this thread's CPU time: time spent preempted by neighbours is not counted
    WALL = "wall"  # elapsed time, which on a busy machine includes other processes' turns


CLOCKS: dict[Clock, Callable[[], float]] = {
    Clock.CPU: time.thread_time,
    Clock.WALL: time.perf_counter,
}


def alternate(items: Sequence[_Item], turn: int) -> list[_Item]:
    """``items`` in order on even turns, reversed on odd ones.

    Alternating which side goes first means slow drift on the machine (heat, neighbours)
    favours neither.
    """
    return list(items) if turn % 2 == 0 else list(reversed(items))


def run_label(repeat: int, repeats: int) -> str:
    return f"run {repeat + 1}/{repeats}"


def progress(line: str) -> None:
    """One line of progress: on stderr, so that stdout carries only the report."""
    print(line, file=sys.stderr, flush=True)


def status_bytes(field: str, pid: int | str = "self") -> int:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM), in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * KiB
    raise BenchmarkError(f"/proc/{pid}/status has no {field} (this benchmark needs Linux)")


def python_command(module: str, *args: str) -> list[str]:
    """The command that runs ``module`` with this interpreter (so in this virtualenv)."""
    return [sys.executable, "-m", module, *args]


# --- Targets and report ----------------------------------------------------------------------


def versions(*others: str) -> str:
    """``Python 3.11.7, <others>``: what the figures were measured with, for a heading."""
    return ", ".join([f"Python {platform.python_version()}", *others])


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str
    margin: float  # how far inside the target (negative: outside); picks the worst case


def pass_fail(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def all_passed(verdicts: Sequence[Verdict]) -> bool:
    return all(verdict.passed for verdict in verdicts)


@dataclass(frozen=True)
class Table:
    """One table of a report: its caption, its rows (headings first) and their verdicts."""

    caption: Sequence[str]
    rows: Sequence[str]
    verdicts: Sequence[Verdict] = ()


def render_report(
    heading: str, tables: Sequence[Table], goals: dict[str, str], notes: Sequence[str] = ()
) -> tuple[str, bool]:
    """The report's text, and whether every target was met.

    The tables follow the heading, a blank line before each; then one line per target (see
    ``target_lines``), then the notes.
    """
    verdicts = [verdict for table in tables for verdict in table.verdicts]
    lines = [heading]
    for table in tables:
        lines += ["", *table.caption, *table.rows]
    lines += ["", *target_lines(goals, verdicts), *notes]
    return "\n".join(lines), all_passed(verdicts)


def target_lines(goals: dict[str, str], verdicts: Sequence[Verdict]) -> list[str]:
    """One line per target, naming every case that misses it, or the closest call if none.

    ``goals`` maps each target's name (``Verdict.target``) to its goal, in report order.
    """
    lines = []
    for target, goal in goals.items():
        cases = [v for v in verdicts if v.target == target]
        failed = [v.detail for v in cases if not v.passed]
        if failed:
            lines.append(f"FAIL  {target} ({goal}): " + "; ".join(failed))
        else:
            worst = min(cases, key=lambda v: v.margin)
            lines.append(f"PASS  {target} ({goal}): worst {worst.detail}")
    return lines


RATIO_HEADINGS = f"{'ratio best':>11} {'ratio median':>13} {'range':>11}  result"


@dataclass(frozen=True)
class Ratio:
    """Baseline time over candidate time, higher is better: its best and its spread."""

    best: float
    paired: tuple[float, ...]  # one per repeat

    @classmethod
    def of(cls, baseline: Sequence[float], candidate: Sequence[float]) -> Ratio:
        """``baseline[i]`` and ``candidate[i]`` are the two sides of repeat ``i``."""
        # Noise only ever slows a run down, so each side's fastest run is closest to its
        # own cost; the paired ratios (same repeat, back to back) show the spread.
        paired = tuple(b / c for b, c in zip(baseline, candidate, strict=True))
        return cls(min(baseline) / min(candidate), paired)

    def columns(self, passed: bool) -> str:
        """The cells under ``RATIO_HEADINGS``."""
        return (
            f"{self.best:11.3f} {statistics.median(self.paired):13.2f} "
            f"{min(self.paired):5.2f}-{max(self.paired):<5.2f}  {pass_fail(passed)}"
        )


@dataclass(frozen=True)
class Peaks:
    """One case's peak memory (in bytes) at the small and at the full input size."""

    small: int
    large: int
    small_size: int
    size: int

    @property
    def change(self) -> int:
        return self.large - self.small

    def cells(self, width: int) -> str:
        """The cells under ``peak_headings`` with the same width."""
        return (
            f"{self.small / MiB:{width}.1f} {self.large / MiB:{width}.1f} {self.change / MiB:+8.1f}"
        )


def peak_headings(small_size: int, size: int, prefix: str, width: int) -> str:
    """Headings of a memory table's columns: the peak at each size, and the change."""
    small, large = prefix + describe_size(small_size), prefix + describe_size(size)
    return f"{small:>{width}} {large:>{width}} {'change':>8}"


@dataclass(frozen=True)
class MemoryTarget:
    """A peak below ``limit`` at the full size, and flat: about the same at a smaller size."""

    name: str  # the target, as the report's verdict lines name it
    limit: int
    # Two runs of the same code differ by some allocator slack; a buffer that grew with the
    # input would differ by a fraction of (large - small), far more than this at the defaults.
    slack: int = 8 * MiB
    growth: bool = False  # the peaks are growth over a baseline: written with a sign

    @property
    def goal(self) -> str:
        return f"< {self.limit // MiB} MiB, and flat: within {self.slack // MiB} MiB across sizes"

    def judge(self, case: str, peaks: Peaks) -> Verdict:
        """The verdict on one case (``case`` names it in the report's verdict line)."""
        large, change = peaks.large, peaks.change
        sign = "+" if self.growth else ""
        detail = (
            f"{case}: {sign}{large / MiB:.1f} MiB at {describe_size(peaks.size)}, "
            f"{change / MiB:+.1f} MiB vs {describe_size(peaks.small_size)}"
        )
        passed = large < self.limit and change <= self.slack
        margin = min(self.limit - large, self.slack - change) / MiB
        return Verdict(self.name, passed, detail, margin)


# --- Command line ----------------------------------------------------------------------------


def add_size_arguments(parser: argparse.ArgumentParser, subject: str) -> None:
    """``--size`` and ``--small-size``: the two sizes of the memory flatness check."""
    parser.add_argument(
        "--size", type=parse_size, default=DEFAULT_SIZE, help=f"{subject} size (default 1G)"
    )
    parser.add_argument(
        "--small-size",
        type=parse_size,
        help=f"second {subject} size for the memory flatness check (default: size/8)",
    )


def add_repeat_argument(parser: argparse.ArgumentParser, default: int, runs_of: str) -> None:
    parser.add_argument(
        "--repeat", type=int, default=default, help=f"runs of {runs_of} (default {default})"
    )


def add_clock_argument(parser: argparse.ArgumentParser, timed: str) -> None:
    parser.add_argument(
        "--clock",
        type=Clock,
        choices=list(Clock),
        default=Clock.CPU,
        help=f"time {timed} by this thread's CPU time (default; robust to busy neighbours) "
        "or by wall-clock time",
    )


def require_at_least(parser: argparse.ArgumentParser, flag: str, value: int, minimum: int) -> None:
    """Exit as argparse does (status 2, with the usage) if ``value`` is below ``minimum``."""
    if value < minimum:
        parser.error(f"{flag} must be at least {minimum:,}")


def distinct(values: Sequence[int] | None, default: Sequence[int]) -> tuple[int, ...]:
    """The values given (or else the default), each once, in the order first given."""
    return tuple(dict.fromkeys(values or default))


@dataclass(frozen=True)
class CommonConfig:
    """The settings of ``add_size_arguments`` and ``add_repeat_argument``.

    A benchmark's own configuration is a subclass that adds its fields after these.
    """

    size: int
    small_size: int  # the second size of the memory flatness check
    repeat: int

    @staticmethod
    def fields_from(args: argparse.Namespace) -> tuple[int, int, int]:
        """The three fields, in order; ``--small-size`` is by default an eighth of ``--size``."""
        size: int = args.size
        return size, args.small_size or max(1, size // 8), args.repeat


# --- Entry point -----------------------------------------------------------------------------


def print_report(text: str, passed: bool) -> int:
    """Print the report on stdout; returns the exit status."""
    print(text)
    return EXIT_PASSED if passed else EXIT_MISSED


def run_main(main: Callable[[], int], *, handle_interrupt: bool = False) -> NoReturn:
    """Exit with ``main()``'s status, or 2 with the message if a run failed.

    ``handle_interrupt``: a Ctrl-C ends with a one-line note and status 130 instead of a
    traceback (for a benchmark that cleans up on the way out, so that this is all there
    is to say).
    """
    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"benchmark error: {error}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        if not handle_interrupt:
            raise
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
