"""Rate-limit storage: the instance's SQLite file (the embedded default, shared by every
process) against ``memory://`` (one counter set per process), per counted request.

    .venv/bin/python -m benchmarks.limit_storage            # 20,000 increments each, 5 rounds

A request to a limited endpoint costs one ``incr`` per rule (two at most) and a proof of
work one more; the report's own work is ~100 ms of CPU (benchmarks/load.py). The target is
an absolute ceiling, not a ratio: the shared file must cost under 1 ms per increment on
the machine it runs on. The ratio to memory is printed for information.
"""

from __future__ import annotations

import argparse
import statistics
import time

from limits.storage import MemoryStorage, Storage

from benchmarks import _harness as harness
from casework.settings import LIMITS_SCHEME
from web.limit_storage import SqliteStorage

CEILING_MICROSECONDS = 1000.0


def per_increment(storage: Storage, count: int) -> tuple[float, float]:
    """Microseconds of CPU and of elapsed time per ``incr``, over ``count`` increments of a
    few keys (elapsed time shows what waiting on the disk adds)."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for number in range(count):
        storage.incr(f"global:{number % 8}", 60)
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    return cpu / count * 1e6, wall / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    harness.add_repeat_argument(parser, 5, "each storage")
    options = parser.parse_args()
    with harness.scratch_dir("minhbach-limits-") as folder:
        shared = SqliteStorage(f"{LIMITS_SCHEME}://{folder / 'limits.sqlite3'}")
        memory = MemoryStorage()
        rounds = [
            (per_increment(shared, options.count), per_increment(memory, options.count))
            for _ in range(options.repeat)
        ]
    sqlite_cpu, sqlite_wall = (statistics.median(s[i] for s, _m in rounds) for i in (0, 1))
    memory_cpu, memory_wall = (statistics.median(m[i] for _s, m in rounds) for i in (0, 1))
    passed = sqlite_wall < CEILING_MICROSECONDS
    text = "\n".join(
        [
            f"Rate-limit storage, {options.count:,} increments x {options.repeat}, medians",
            harness.versions(),
            "storage                 cpu us   elapsed us",
            f"shared SQLite file   {sqlite_cpu:9.1f}    {sqlite_wall:9.1f}",
            f"memory://            {memory_cpu:9.1f}    {memory_wall:9.1f}",
            f"ratio (information)  {sqlite_cpu / memory_cpu:8.1f}x    "
            f"{sqlite_wall / memory_wall:8.1f}x",
            f"{harness.pass_fail(passed)}  shared file under {CEILING_MICROSECONDS:.0f} us "
            "elapsed per increment",
        ]
    )
    return harness.print_report(text, passed)


if __name__ == "__main__":
    harness.run_main(main)
