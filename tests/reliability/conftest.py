"""What the reliability tests need of the machine: cheap costs through the settings, a
PostgreSQL cluster of their own that a test may stop and start, and a small tmpfs that a
test may fill up."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import URL, make_url

# Production costs stay the defaults; the suite lowers them through the settings.
CHEAP = {
    "MINHBACH_CODE_ARGON2": "1,8",
    "MINHBACH_PASSPHRASE_ARGON2": "1,8",
    "MINHBACH_POW_DIFFICULTY": "4",
}


@pytest.fixture(autouse=True)
def cheap_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CHEAP.items():
        monkeypatch.setenv(name, value)


# --- a PostgreSQL cluster of the test's own ------------------------------------------------


@dataclass
class Cluster:
    """A throwaway PostgreSQL on a Unix socket in a private folder, like
    scripts/with-services makes, but the test's own: it may stop and start it."""

    folder: Path
    bin: Path
    owner: list[str]  # runuser prefix when running as root (initdb refuses root)

    @property
    def url(self) -> URL:
        return make_url(f"postgresql+psycopg://postgres@/postgres?host={self.folder}&port=5432")

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-l", str(self.folder / "server.log"), "-o",
                     f"-c listen_addresses='' -k {self.folder} -p 5432 -c fsync=off")  # fmt: skip

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast", "-w")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.owner, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip(
            "PostgreSQL's server programs are not installed (scripts/ensure-system-packages)"
        )
    # Straight under the temporary folder: pytest's own folders are closed to the
    # postgres user that the server runs as.
    folder = Path(tempfile.mkdtemp(prefix="minhbach-cluster-"))
    owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        owner = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*owner, str(binaries / "initdb"), "-D", str(folder / "data"), "-A", "trust",
         "-U", "postgres", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    running = Cluster(folder, binaries, owner)
    running.start()
    try:
        yield running
    finally:
        subprocess.run(
            [*owner, str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate",
             "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


# --- a small disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs mounted for the test (root only), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir(mode=0o700)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs for the disk-full test: {done.stderr.strip()}")
        pytest.skip(f"mounting a tmpfs needs root: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)
