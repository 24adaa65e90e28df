"""Attachment stream benchmark: the chunked file format against raw AES-256-GCM.

For each piece size, encrypts and decrypts a synthetic stream through the file format
(``crypto.files``) and, side by side in the same repeat, through bare ``AESGCM``
calls over the same bytes in 64 KiB chunks. Prints format/raw throughput ratios and the peak
RSS growth of the format phases at two stream sizes. Every phase runs in a fresh child
process, so one phase's high-water mark cannot hide or inflate another's.

Not part of the test suite; run it by hand from the repository root (see README.md):

    .venv/bin/python -m benchmarks.crypto_stream              # 1 GiB: the real check
    .venv/bin/python -m benchmarks.crypto_stream --size 64M   # a quick look

The exit status is 0 only if every target is met, 1 if one is missed, 2 if a run failed.
"""

from __future__ import annotations

import argparse
import enum
import json
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.files import (
    CHUNK_SIZE,
    CIPHER_CHUNK_SIZE,
    STREAM_HEADER_SIZE,
    FileDecryptor,
    FileEncryptor,
    FileMeta,
    decrypt_stream,
    encrypt_stream,
)
from crypto.padding import file_bucket

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

RATIO_TARGET = 0.8
MEMORY_LIMIT = 64 * MiB
# Two runs of the same code differ by some allocator slack; a buffer that grows with the
# stream would differ by a fraction of (large - small), far more than this at the defaults.
FLATNESS_SLACK = 8 * MiB

DEFAULT_SIZE = GiB
DEFAULT_PIECE_SIZES = (MiB, 100_000)  # a typical read size, and one that splits chunks
DEFAULT_REPEAT = 3

# Synthetic key material and data, never user data. The fixed salt, and a plaintext that does
# not depend on the piece size, make the ciphertext the same for every piece size and API, so
# a decryption run can consume whichever encryption run wrote the file last.
KEY = bytes(range(32))
SALT = bytes(range(32, 64))
CASE_ID = "benchmark"
SEED = 1_000_003
PATTERN_SIZE = MiB  # a multiple of CHUNK_SIZE, so the raw 64 KiB calls see the same bytes
RAW_READ_CHUNKS = 16  # chunks per file read in the raw phases (reads are not timed)
RAW_AAD = bytes(STREAM_HEADER_SIZE)  # the format authenticates its 34-byte header per chunk

REPO_ROOT = Path(__file__).resolve().parent.parent


class BenchmarkError(Exception):
    """A phase failed or produced wrong output: its numbers would be meaningless."""


class Api(enum.StrEnum):
    """Which entry points of the format the format phases drive."""

    STREAM = "stream"  # encrypt_stream / decrypt_stream, the way uploads and downloads stream
    UPDATE = "update"  # FileEncryptor / FileDecryptor: update() per piece, then finalize()


class Clock(enum.StrEnum):
    """What a phase's time is measured in."""

    CPU = "cpu"  # this thread's CPU time: time spent preempted by neighbours is not counted
    WALL = "wall"  # elapsed time, which on a busy machine includes other processes' turns


CLOCKS: dict[Clock, Callable[[], float]] = {
    Clock.CPU: time.thread_time,
    Clock.WALL: time.perf_counter,
}


class Phase(enum.StrEnum):
    RAW_ENCRYPT = "raw-encrypt"
    FORMAT_ENCRYPT = "format-encrypt"
    RAW_DECRYPT = "raw-decrypt"
    FORMAT_DECRYPT = "format-decrypt"

    @property
    def is_raw(self) -> bool:
        return self in (Phase.RAW_ENCRYPT, Phase.RAW_DECRYPT)


# Each direction's (raw, format) pair: the two sides of one ratio.
DIRECTIONS = {
    "encrypt": (Phase.RAW_ENCRYPT, Phase.FORMAT_ENCRYPT),
    "decrypt": (Phase.RAW_DECRYPT, Phase.FORMAT_DECRYPT),
}


@dataclass(frozen=True)
class Job:
    """One phase over one stream, run in a child process."""

    phase: Phase
    size: int
    piece_size: int
    path: Path  # the ciphertext file: written by encryption, read back by decryption
    api: Api
    clock: Clock

    def argv(self) -> list[str]:
        return [
            *("--phase", self.phase.value),
            *("--api", self.api.value),
            *("--clock", self.clock.value),
            *("--size", str(self.size)),
            *("--piece-size", str(self.piece_size)),
            *("--file", str(self.path)),
        ]


@dataclass(frozen=True)
class PhaseResult:
    seconds: float  # time inside the crypto calls only: reads, writes and checks left out
    growth: int  # peak RSS minus the RSS just before the phase, in bytes
    peak_reset: bool  # whether the kernel let us restart the high-water mark at the baseline

    def throughput(self, size: int) -> float:
        return size / MiB / self.seconds if self.seconds > 0 else float("inf")


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
    for unit, name in ((GiB, "GiB"), (MiB, "MiB")):
        if size % unit == 0:
            return f"{size // unit} {name}"
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    return f"{size // KiB} KiB" if size % KiB == 0 else f"{size:,} B"


# --- Child side: the phases ------------------------------------------------------------------


class Plaintext:
    """The synthetic stream: one seeded random MiB repeated, handed out as zero-copy windows.

    Input costs nothing inside the timed region, and the stream is never held in memory.
    """

    def __init__(self, size: int, longest_window: int) -> None:
        pattern = random.Random(SEED).randbytes(PATTERN_SIZE)
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


@dataclass(frozen=True)
class Timing:
    """The clock the stopwatches read, and what one empty start/stop lap costs on it."""

    clock: Callable[[], float]
    lap_cost: float

    @classmethod
    def calibrate(cls, clock: Clock) -> Timing:
        uncorrected = cls(CLOCKS[clock], 0.0)
        best = float("inf")
        for _ in range(3):
            empty = Stopwatch(uncorrected)
            for _ in range(5_000):
                empty.start()
                empty.stop()
            best = min(best, empty.total / empty.laps)  # the least disturbed round
        return cls(CLOCKS[clock], best)


class Stopwatch:
    """Adds up the time spent between ``start()`` and ``stop()``, less the clock's own cost.

    Each lap costs two clock reads and two method calls (about 0.8 us on the CPU clock);
    ``seconds`` takes that out per lap, so a phase timed per 64 KiB call and one timed per
    1 MiB piece are charged alike.
    """

    def __init__(self, timing: Timing) -> None:
        self._clock, self._lap_cost = timing.clock, timing.lap_cost
        self.total = 0.0
        self.laps = 0
        self._started = 0.0

    def start(self) -> None:
        self._started = self._clock()

    def stop(self) -> None:
        self.total += self._clock() - self._started
        self.laps += 1

    @property
    def seconds(self) -> float:
        return self.total - self.laps * self._lap_cost

    @property
    def cost_when_nested(self) -> float:
        """What these laps add to a stopwatch running around them: their time and clock reads."""
        return self.total + self.laps * self._lap_cost


class TimedReader:
    """A file in pieces, timing the reads so that they can be taken out."""

    def __init__(self, file: BinaryIO, piece_size: int, timing: Timing) -> None:
        self._file, self._piece_size = file, piece_size
        self.watch = Stopwatch(timing)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.watch.start()
            piece = self._file.read(self._piece_size)  # bytes, as a real reader would pass
            self.watch.stop()
            if not piece:
                return
            yield piece


def drain_timed(
    pieces: Iterator[bytes], consume: Callable[[bytes], object], timing: Timing
) -> Stopwatch:
    """Consume a generator's pieces, timing only the generator itself."""
    watch = Stopwatch(timing)
    while True:
        watch.start()
        piece = next(pieces, None)
        watch.stop()
        if piece is None:
            return watch
        consume(piece)


def _raw_nonce(counter: int) -> bytes:
    return counter.to_bytes(12, "big")


def raw_encrypt(job: Job, plaintext: Plaintext, timing: Timing) -> float:
    aead, watch, counter = AESGCM(KEY), Stopwatch(timing), 0
    with job.path.open("wb") as sink:
        for batch in plaintext.pieces(RAW_READ_CHUNKS * CHUNK_SIZE):
            for at in range(0, len(batch), CHUNK_SIZE):
                # One call at a time, its output written and dropped before the next: the
                # allocator hands back the same warm block, the best case for raw AES-GCM.
                watch.start()
                sealed = aead.encrypt(_raw_nonce(counter), batch[at : at + CHUNK_SIZE], RAW_AAD)
                watch.stop()
                counter += 1
                sink.write(sealed)
    return watch.seconds


def raw_decrypt(job: Job, plaintext: Plaintext, timing: Timing) -> float:
    aead, watch, counter = AESGCM(KEY), Stopwatch(timing), 0
    checker = OutputChecker(plaintext)
    with job.path.open("rb") as source:
        while batch := memoryview(source.read(RAW_READ_CHUNKS * CIPHER_CHUNK_SIZE)):
            for at in range(0, len(batch), CIPHER_CHUNK_SIZE):
                watch.start()
                opened = aead.decrypt(
                    _raw_nonce(counter), batch[at : at + CIPHER_CHUNK_SIZE], RAW_AAD
                )
                watch.stop()
                counter += 1
                checker.check(opened)
    checker.finish()
    return watch.seconds


def format_encrypt(job: Job, plaintext: Plaintext, timing: Timing) -> float:
    encryptor = FileEncryptor(KEY, CASE_ID, salt=SALT)
    pieces = plaintext.pieces(job.piece_size)
    with job.path.open("wb") as sink:
        if job.api is Api.STREAM:
            return drain_timed(encrypt_stream(encryptor, pieces), sink.write, timing).seconds
        watch = Stopwatch(timing)
        for piece in pieces:
            watch.start()
            sealed = encryptor.update(piece)
            watch.stop()
            sink.write(sealed)
        tail = drain_timed(encryptor.finalize(), sink.write, timing)  # finalize is lazy
        return watch.seconds + tail.seconds


def format_decrypt(job: Job, plaintext: Plaintext, timing: Timing) -> float:
    meta = FileMeta(
        name="benchmark.bin", type="application/octet-stream", size=job.size, stream=SALT
    )
    checker = OutputChecker(plaintext)
    with job.path.open("rb") as file:
        reader = TimedReader(file, job.piece_size, timing)
        if job.api is Api.STREAM:
            # decrypt_stream pulls from the reader, so the reads run inside the stopwatch.
            opened = decrypt_stream(KEY, CASE_ID, meta, reader)
            watch = drain_timed(opened, checker.check, timing)
            seconds = watch.seconds - reader.watch.cost_when_nested
        else:
            seconds = _decrypt_with_update(meta, reader, checker, timing)
    checker.finish()
    return seconds


def _decrypt_with_update(
    meta: FileMeta, reader: TimedReader, checker: OutputChecker, timing: Timing
) -> float:
    decryptor, watch = FileDecryptor(KEY, CASE_ID, meta), Stopwatch(timing)
    for piece in reader:
        watch.start()
        opened = decryptor.update(piece)
        watch.stop()
        checker.check(opened)
    watch.start()
    opened = decryptor.finalize()
    watch.stop()
    checker.check(opened)
    return watch.seconds


PHASES = {
    Phase.RAW_ENCRYPT: raw_encrypt,
    Phase.RAW_DECRYPT: raw_decrypt,
    Phase.FORMAT_ENCRYPT: format_encrypt,
    Phase.FORMAT_DECRYPT: format_decrypt,
}


def status_bytes(field: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * KiB
    raise BenchmarkError(f"/proc/self/status has no {field} (this benchmark needs Linux)")


def reset_peak_rss() -> bool:
    """Restart VmHWM at the current RSS (Linux >= 4.0), so earlier peaks do not count."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False  # then VmHWM may include the imports' peak: growth is an upper bound
    return True


def run_job(job: Job) -> PhaseResult:
    # The pattern buffer is the harness's, not the format's: allocate it before the baseline.
    plaintext = Plaintext(job.size, longest_window=max(job.piece_size, PATTERN_SIZE))
    timing = Timing.calibrate(job.clock)
    peak_reset = reset_peak_rss()
    baseline = status_bytes("VmRSS")
    seconds = PHASES[job.phase](job, plaintext, timing)
    return PhaseResult(seconds, status_bytes("VmHWM") - baseline, peak_reset)


# --- Parent side: orchestration --------------------------------------------------------------


def run_child(job: Job) -> PhaseResult:
    command = [sys.executable, "-m", "benchmarks.crypto_stream", *job.argv()]
    # Our own interpreter and arguments, no shell: nothing untrusted reaches the command.
    done = subprocess.run(  # noqa: S603
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchmarkError(f"{job.phase} failed:\n{done.stderr.strip()}")
    fields = json.loads(done.stdout)
    return PhaseResult(
        seconds=float(fields["seconds"]),
        growth=int(fields["growth"]),
        peak_reset=bool(fields["peak_reset"]),
    )


@dataclass(frozen=True)
class Config:
    size: int
    small_size: int
    piece_sizes: tuple[int, ...]
    repeat: int
    api: Api
    clock: Clock


@dataclass
class Measurements:
    """Results keyed by (phase, piece size): every repeat at the full size, one at the small."""

    timed: dict[tuple[Phase, int], list[PhaseResult]]
    small: dict[tuple[Phase, int], PhaseResult]


def phase_order(repeat: int) -> list[Phase]:
    """Alternate which side goes first, so drift (heat, neighbours) favours neither."""
    if repeat % 2 == 0:
        return [Phase.RAW_ENCRYPT, Phase.FORMAT_ENCRYPT, Phase.RAW_DECRYPT, Phase.FORMAT_DECRYPT]
    return [Phase.FORMAT_ENCRYPT, Phase.RAW_ENCRYPT, Phase.FORMAT_DECRYPT, Phase.RAW_DECRYPT]


def progress(job: Job, result: PhaseResult, label: str) -> None:
    print(
        f"  {label:<9} {describe_size(job.piece_size):>10} pieces  {job.phase.value:<15}"
        f"{result.throughput(job.size):7.0f} MiB/s  peak RSS +{result.growth / MiB:.1f} MiB",
        file=sys.stderr,
        flush=True,
    )


def measure(config: Config, workdir: Path) -> Measurements:
    def run(phase: Phase, size: int, piece_size: int, label: str) -> PhaseResult:
        path = workdir / ("raw.bin" if phase.is_raw else "format.bin")
        job = Job(phase, size, piece_size, path, config.api, config.clock)
        result = run_child(job)
        progress(job, result, label)
        return result

    timed: dict[tuple[Phase, int], list[PhaseResult]] = {}
    for repeat in range(config.repeat):
        label = f"run {repeat + 1}/{config.repeat}"
        for piece_size in config.piece_sizes:
            for phase in phase_order(repeat):
                result = run(phase, config.size, piece_size, label)
                timed.setdefault((phase, piece_size), []).append(result)
    small: dict[tuple[Phase, int], PhaseResult] = {}
    label = describe_size(config.small_size)
    for piece_size in config.piece_sizes:
        for phase in (Phase.FORMAT_ENCRYPT, Phase.FORMAT_DECRYPT):  # memory only: one run
            small[(phase, piece_size)] = run(phase, config.small_size, piece_size, label)
    return Measurements(timed, small)


# --- Report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str
    margin: float  # how far inside the target (negative: outside); picks the worst case


def ratio_table(config: Config, data: Measurements) -> tuple[list[str], list[Verdict]]:
    rows = [
        f"{'direction':<9} {'pieces':>10} {'raw MiB/s':>10} {'format MiB/s':>13} "
        f"{'ratio best':>11} {'ratio median':>13} {'range':>11}  result"
    ]
    verdicts = []
    for direction, (raw_phase, format_phase) in DIRECTIONS.items():
        for piece_size in config.piece_sizes:
            raws = data.timed[(raw_phase, piece_size)]
            formats = data.timed[(format_phase, piece_size)]
            # Noise only ever slows a run down, so each side's fastest run is closest to its
            # own cost; the paired ratios (same repeat, back to back) show the spread.
            best_raw = min(r.seconds for r in raws)
            best_format = min(f.seconds for f in formats)
            best = best_raw / best_format
            paired = [r.seconds / f.seconds for r, f in zip(raws, formats, strict=True)]
            passed = best >= RATIO_TARGET
            rows.append(
                f"{direction:<9} {describe_size(piece_size):>10} "
                f"{config.size / MiB / best_raw:10.0f} {config.size / MiB / best_format:13.0f} "
                f"{best:11.3f} {statistics.median(paired):13.2f} "
                f"{min(paired):5.2f}-{max(paired):<5.2f}  {'PASS' if passed else 'FAIL'}"
            )
            detail = f"{best:.3f} with {describe_size(piece_size)} pieces"
            verdicts.append(Verdict(f"{direction} throughput", passed, detail, best - RATIO_TARGET))
    return rows, verdicts


def memory_table(config: Config, data: Measurements) -> tuple[list[str], list[Verdict]]:
    small_name, large_name = describe_size(config.small_size), describe_size(config.size)
    rows = [
        f"{'direction':<9} {'pieces':>10} {'at ' + small_name:>12} {'at ' + large_name:>12} "
        f"{'change':>8} {'raw at ' + large_name:>16}  result"
    ]
    verdicts = []
    for direction, (raw_phase, format_phase) in DIRECTIONS.items():
        for piece_size in config.piece_sizes:
            small = data.small[(format_phase, piece_size)].growth
            large = max(r.growth for r in data.timed[(format_phase, piece_size)])
            raw = max(r.growth for r in data.timed[(raw_phase, piece_size)])
            change = large - small
            margin = min(MEMORY_LIMIT - large, FLATNESS_SLACK - change) / MiB
            passed = large < MEMORY_LIMIT and change <= FLATNESS_SLACK
            rows.append(
                f"{direction:<9} {describe_size(piece_size):>10} {small / MiB:12.1f} "
                f"{large / MiB:12.1f} {change / MiB:+8.1f} {raw / MiB:16.1f}  "
                f"{'PASS' if passed else 'FAIL'}"
            )
            detail = (
                f"{direction}, {describe_size(piece_size)} pieces: +{large / MiB:.1f} MiB "
                f"at {large_name}, {change / MiB:+.1f} MiB vs {small_name}"
            )
            verdicts.append(Verdict("peak memory growth", passed, detail, margin))
    return rows, verdicts


def target_lines(verdicts: Sequence[Verdict]) -> list[str]:
    """One line per target, naming every case that misses it, or the closest call if none."""
    goals = {
        "encrypt throughput": f"format/raw >= {RATIO_TARGET:.2f}",
        "decrypt throughput": f"format/raw >= {RATIO_TARGET:.2f}",
        "peak memory growth": (
            f"< {MEMORY_LIMIT // MiB} MiB, and flat: within {FLATNESS_SLACK // MiB} MiB "
            "across sizes"
        ),
    }
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


def heading(config: Config) -> str:
    padded = file_bucket(config.size)
    padding = "no padding" if padded == config.size else f"padded to {describe_size(padded)}"
    return (
        f"{describe_size(config.size)} stream ({padding}), format API: {config.api}, "
        f"{config.clock} time, best of {config.repeat}\n"
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{openssl_backend.openssl_version_text()}"
    )


def report(config: Config, data: Measurements) -> tuple[str, bool]:
    ratios, ratio_verdicts = ratio_table(config, data)
    memory, memory_verdicts = memory_table(config, data)
    verdicts = ratio_verdicts + memory_verdicts
    lines = [
        heading(config),
        "",
        "Throughput over the time inside crypto calls only; ratio = format/raw, higher is better",
        *ratios,
        "",
        "Peak RSS growth of the format, MiB over the RSS before the phase (fresh process each)",
        *memory,
        "",
        *target_lines(verdicts),
    ]
    results = [r for group in data.timed.values() for r in group] + [*data.small.values()]
    if not all(r.peak_reset for r in results):
        lines.append("note: could not reset VmHWM, so memory figures are upper bounds")
    return "\n".join(lines), all(v.passed for v in verdicts)


# --- Command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.crypto_stream",
        description="Attachment stream format vs raw AES-256-GCM: throughput and memory.",
    )
    parser.add_argument(
        "--size", type=parse_size, default=DEFAULT_SIZE, help="stream size (default 1G)"
    )
    parser.add_argument(
        "--small-size",
        type=parse_size,
        help="second stream size for the memory flatness check (default: size/8)",
    )
    parser.add_argument(
        "--piece-size",
        type=parse_size,
        action="append",
        help="bytes handed to the format per call; repeat for several (default: 1M and 100000)",
    )
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help="runs of each phase (default 3)"
    )
    parser.add_argument(
        "--api",
        type=Api,
        choices=list(Api),
        default=Api.STREAM,
        help="format entry points: the encrypt/decrypt_stream generators (default) or update()",
    )
    parser.add_argument(
        "--clock",
        type=Clock,
        choices=list(Clock),
        default=Clock.CPU,
        help="time phases by this thread's CPU time (default; robust to busy neighbours) "
        "or by wall-clock time",
    )
    # Internal: how the parent asks a child process to run one phase.
    parser.add_argument("--phase", type=Phase, choices=list(Phase), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.phase is not None and args.file is None:
        parser.error("--phase needs --file")
    return args


def config_from(args: argparse.Namespace) -> Config:
    size: int = args.size
    small_size: int = args.small_size or max(1, size // 8)
    piece_sizes = tuple(dict.fromkeys(args.piece_size or DEFAULT_PIECE_SIZES))
    return Config(size, small_size, piece_sizes, args.repeat, args.api, args.clock)


def child_main(args: argparse.Namespace) -> int:
    piece_size = args.piece_size[0] if args.piece_size else DEFAULT_PIECE_SIZES[0]
    job = Job(args.phase, args.size, piece_size, args.file, args.api, args.clock)
    result = run_job(job)
    fields = {"seconds": result.seconds, "growth": result.growth, "peak_reset": result.peak_reset}
    json.dump(fields, sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase is not None:
        return child_main(args)
    config = config_from(args)
    # Benchmark ciphertext is synthetic, so it may rest on disk; the directory goes at exit.
    with tempfile.TemporaryDirectory(prefix="minhbach-bench-") as workdir:
        data = measure(config, Path(workdir))
    text, passed = report(config, data)
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"benchmark error: {error}", file=sys.stderr)
        sys.exit(2)
