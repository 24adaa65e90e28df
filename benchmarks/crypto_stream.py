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
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from benchmarks import _harness as harness
from benchmarks._harness import BenchmarkError, MiB, Plaintext, Verdict, describe_size
from crypto.files import (
    CHUNK_SIZE,
    CIPHER_CHUNK_SIZE,
    STREAM_HEADER_SIZE,
    FileDecryptor,
    FileEncryptor,
    FileMeta,
    Piece,
    decrypt_stream,
    encrypt_stream,
    read_pieces,
)

RATIO_TARGET = 0.8
MEMORY_TARGET = harness.MemoryTarget("peak memory growth", limit=64 * MiB, growth=True)

DEFAULT_PIECE_SIZES = (MiB, 100_000)  # a typical read size, and one that splits chunks
DEFAULT_REPEAT = 3

# Synthetic key material and data, never user data. The fixed salt, and a plaintext that does
# not depend on the piece size, make the ciphertext the same for every piece size and API, so
# a decryption run can consume whichever encryption run wrote the file last.
KEY = bytes(range(32))
SALT = bytes(range(32, 64))
CASE_ID = "benchmark"
RAW_READ_CHUNKS = 16  # chunks per file read in the raw phases (reads are not timed)
RAW_AAD = bytes(STREAM_HEADER_SIZE)  # the format authenticates its 34-byte header per chunk


class Api(enum.StrEnum):
    """Which entry points of the format the format phases drive."""

    STREAM = "stream"  # encrypt_stream / decrypt_stream, the way uploads and downloads stream
    UPDATE = "update"  # FileEncryptor / FileDecryptor: update() per piece, then finalize()


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
    clock: harness.Clock

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


# --- Child side: the phases ------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """The clock the stopwatches read, and what one empty start/stop lap costs on it."""

    clock: Callable[[], float]
    lap_cost: float

    @classmethod
    def calibrate(cls, clock: harness.Clock) -> Timing:
        uncorrected = cls(harness.CLOCKS[clock], 0.0)
        best = float("inf")
        for _ in range(3):
            empty = Stopwatch(uncorrected)
            for _ in range(5_000):
                empty.start()
                empty.stop()
            best = min(best, empty.total / empty.laps)  # the least disturbed round
        return cls(harness.CLOCKS[clock], best)


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


class TimedSource:
    """Pieces from an iterator, timing how long it takes to hand each one over.

    The format pulls its input from the source inside the timed calls of the stream API; a
    real source is a socket or a file, not the format's work, so the phases take this time out.
    """

    def __init__(self, pieces: Iterable[Piece], timing: Timing) -> None:
        self._pieces = iter(pieces)
        self.watch = Stopwatch(timing)

    def __iter__(self) -> Iterator[Piece]:
        pieces, watch = self._pieces, self.watch
        while True:
            watch.start()
            piece = next(pieces, None)
            watch.stop()
            if piece is None:
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
    checker = harness.OutputChecker(plaintext)
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
            # encrypt_stream pulls from the source, so its pieces are made inside the stopwatch.
            source = TimedSource(pieces, timing)
            watch = drain_timed(encrypt_stream(encryptor, source), sink.write, timing)
            return watch.seconds - source.watch.cost_when_nested
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
    checker = harness.OutputChecker(plaintext)
    with job.path.open("rb") as file:
        reader = TimedSource(read_pieces(file, job.piece_size), timing)
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
    meta: FileMeta, reader: TimedSource, checker: harness.OutputChecker, timing: Timing
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
    plaintext = Plaintext(job.size, longest_window=max(job.piece_size, harness.PATTERN_SIZE))
    timing = Timing.calibrate(job.clock)
    peak_reset = reset_peak_rss()
    baseline = harness.status_bytes("VmRSS")
    seconds = PHASES[job.phase](job, plaintext, timing)
    return PhaseResult(seconds, harness.status_bytes("VmHWM") - baseline, peak_reset)


# --- Parent side: orchestration --------------------------------------------------------------


def run_child(job: Job) -> PhaseResult:
    command = harness.python_command("benchmarks.crypto_stream", *job.argv())
    # Our own interpreter and arguments, no shell: nothing untrusted reaches the command.
    done = subprocess.run(  # noqa: S603
        command, cwd=harness.REPO_ROOT, capture_output=True, text=True, check=False
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
class Config(harness.CommonConfig):
    piece_sizes: tuple[int, ...]
    api: Api
    clock: harness.Clock


@dataclass
class Measurements:
    """Results keyed by (phase, piece size): every repeat at the full size, one at the small."""

    timed: dict[tuple[Phase, int], list[PhaseResult]]
    small: dict[tuple[Phase, int], PhaseResult]


def phase_order(repeat: int) -> list[Phase]:
    """Encryption, then decryption; within each, raw or format first by turns."""
    return [phase for pair in DIRECTIONS.values() for phase in harness.alternate(pair, repeat)]


def show_progress(job: Job, result: PhaseResult, label: str) -> None:
    harness.progress(
        f"  {label:<9} {describe_size(job.piece_size):>10} pieces  {job.phase.value:<15}"
        f"{result.throughput(job.size):7.0f} MiB/s  peak RSS +{result.growth / MiB:.1f} MiB"
    )


def measure(config: Config, workdir: Path) -> Measurements:
    def run(phase: Phase, size: int, piece_size: int, label: str) -> PhaseResult:
        path = workdir / ("raw.bin" if phase.is_raw else "format.bin")
        job = Job(phase, size, piece_size, path, config.api, config.clock)
        result = run_child(job)
        show_progress(job, result, label)
        return result

    timed: dict[tuple[Phase, int], list[PhaseResult]] = {}
    for repeat in range(config.repeat):
        label = harness.run_label(repeat, config.repeat)
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


def ratio_table(config: Config, data: Measurements) -> harness.Table:
    rows = [
        f"{'direction':<9} {'pieces':>10} {'raw MiB/s':>10} {'format MiB/s':>13} "
        + harness.RATIO_HEADINGS
    ]
    verdicts = []
    for direction, (raw_phase, format_phase) in DIRECTIONS.items():
        for piece_size in config.piece_sizes:
            raws = [r.seconds for r in data.timed[(raw_phase, piece_size)]]
            formats = [f.seconds for f in data.timed[(format_phase, piece_size)]]
            ratio = harness.Ratio.of(raws, formats)
            passed = ratio.best >= RATIO_TARGET
            rows.append(
                f"{direction:<9} {describe_size(piece_size):>10} "
                f"{config.size / MiB / min(raws):10.0f} {config.size / MiB / min(formats):13.0f} "
                + ratio.columns(passed)
            )
            detail = f"{ratio.best:.3f} with {describe_size(piece_size)} pieces"
            margin = ratio.best - RATIO_TARGET
            verdicts.append(Verdict(f"{direction} throughput", passed, detail, margin))
    caption = (
        "Throughput over the time inside crypto calls only; ratio = format/raw, higher is better"
    )
    return harness.Table([caption], rows, verdicts)


def memory_table(config: Config, data: Measurements) -> harness.Table:
    peak_headings = harness.peak_headings(config.small_size, config.size, "at ", 12)
    raw_heading = "raw at " + describe_size(config.size)
    rows = [f"{'direction':<9} {'pieces':>10} {peak_headings} {raw_heading:>16}  result"]
    verdicts = []
    for direction, (raw_phase, format_phase) in DIRECTIONS.items():
        for piece_size in config.piece_sizes:
            peaks = harness.Peaks(
                small=data.small[(format_phase, piece_size)].growth,
                large=max(r.growth for r in data.timed[(format_phase, piece_size)]),
                small_size=config.small_size,
                size=config.size,
            )
            raw = max(r.growth for r in data.timed[(raw_phase, piece_size)])
            pieces = describe_size(piece_size)
            verdict = MEMORY_TARGET.judge(f"{direction}, {pieces} pieces", peaks)
            rows.append(
                f"{direction:<9} {pieces:>10} {peaks.cells(12)} {raw / MiB:16.1f}  "
                f"{harness.pass_fail(verdict.passed)}"
            )
            verdicts.append(verdict)
    caption = (
        "Peak RSS growth of the format, MiB over the RSS before the phase (fresh process each)"
    )
    return harness.Table([caption], rows, verdicts)


GOALS = {
    "encrypt throughput": f"format/raw >= {RATIO_TARGET:.2f}",
    "decrypt throughput": f"format/raw >= {RATIO_TARGET:.2f}",
    MEMORY_TARGET.name: MEMORY_TARGET.goal,
}


def heading(config: Config) -> str:
    return (
        f"{describe_size(config.size)} stream ({harness.padding_note(config.size)}), "
        f"format API: {config.api}, {config.clock} time, best of {config.repeat}\n"
        + harness.versions(
            f"cryptography {cryptography.__version__}", openssl_backend.openssl_version_text()
        )
    )


def report(config: Config, data: Measurements) -> tuple[str, bool]:
    tables = [ratio_table(config, data), memory_table(config, data)]
    results = [r for group in data.timed.values() for r in group] + [*data.small.values()]
    notes = []
    if not all(r.peak_reset for r in results):
        notes.append("note: could not reset VmHWM, so memory figures are upper bounds")
    return harness.render_report(heading(config), tables, GOALS, notes)


# --- Command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.crypto_stream",
        description="Attachment stream format vs raw AES-256-GCM: throughput and memory.",
    )
    harness.add_size_arguments(parser, "stream")
    parser.add_argument(
        "--piece-size",
        type=harness.parse_size,
        action="append",
        help="bytes handed to the format per call; repeat for several (default: 1M and 100000)",
    )
    harness.add_repeat_argument(parser, DEFAULT_REPEAT, "each phase")
    parser.add_argument(
        "--api",
        type=Api,
        choices=list(Api),
        default=Api.STREAM,
        help="format entry points: the encrypt/decrypt_stream generators (default) or update()",
    )
    harness.add_clock_argument(parser, "phases")
    # Internal: how the parent asks a child process to run one phase.
    parser.add_argument("--phase", type=Phase, choices=list(Phase), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_at_least(parser, "--repeat", args.repeat, 1)
    if args.phase is not None and args.file is None:
        parser.error("--phase needs --file")
    return args


def config_from(args: argparse.Namespace) -> Config:
    piece_sizes = harness.distinct(args.piece_size, DEFAULT_PIECE_SIZES)
    return Config(*harness.CommonConfig.fields_from(args), piece_sizes, args.api, args.clock)


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
    with harness.scratch_dir() as workdir:  # the ciphertext files
        data = measure(config, workdir)
    return harness.print_report(*report(config, data))


if __name__ == "__main__":
    harness.run_main(main)
