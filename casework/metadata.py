"""Removing metadata (EXIF and GPS, document authors...) from decrypted files, with mat2.

The export for verifiers (DOMAIN.md, Art. 56) hands out a case's files without the
details that could point at the reporter: a photo's GPS position and camera owner, a
document's author. Parsing a dozen formats by hand would be a liability, so the work is
done by Debian's ``mat2`` (the Metadata Anonymisation Toolkit), run as a subprocess.

mat2 works on paths, so the plaintext has to touch a file. It only ever touches a
``Scratch`` directory: a fresh ``minhbach-scratch-<random>`` directory (mode 0700)
under a parent that must be RAM-backed (tmpfs or ramfs, checked against
``/proc/self/mounts``; anything else is refused), removed with everything in it when the
work is done, whatever happens. Tools run without a shell, with a minimal environment
whose HOME, TMPDIR and caches point into the scratch directory, and with a timeout that
kills their whole process group. Files get neutral names (``file-3.jpg``), so neither a
reporter's file name nor its content appears on a command line or in a process list.

The type of a file is what its content says (libmagic, through ``file``), never the name
or type the reporter's browser declared: a photo renamed ``notes.txt`` would otherwise be
"cleaned" as text, i.e. copied with its GPS position. A type mat2 cannot clean, or a
file mat2 fails on, is left out: nothing is ever passed on uncleaned.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import mimetypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from casework.errors import CaseworkError

MAT2 = Path("/usr/bin/mat2")
FILE = Path("/usr/bin/file")  # libmagic's command line
# Checked to be tmpfs; a private 0700 directory is made in it.
DEFAULT_SCRATCH_PARENT = Path("/dev/shm")  # noqa: S108  # nosec B108
MOUNTS = Path("/proc/self/mounts")
RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
SCRATCH_PREFIX = "minhbach-scratch-"
# mat2 renders every page of a PDF to an image: a long document takes a while.
MAT2_TIMEOUT = 120.0
DETECT_TIMEOUT = 30.0
READ_SIZE = 64 * 1024

_LISTED_FORMAT = re.compile(r"^\s*-\s+(\S+)\s+\(([^)]*)\)\s*$")
_SAFE_EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")


class MetadataError(CaseworkError):
    """Cleaning cannot run safely here (no RAM-backed scratch space, a tool missing)."""


class LeftOut(enum.StrEnum):
    """Why a file was not passed on."""

    UNSUPPORTED = "unsupported"  # mat2 has no cleaner for this type of content
    FAILED = "failed"  # mat2 could not clean this file (damaged, or parts it does not know)
    TIMEOUT = "timeout"  # mat2 took too long and was stopped


@dataclass(frozen=True)
class Outcome:
    """One file's result. ``cleaned`` is a path in the scratch directory, None when the
    file was left out (then ``left_out`` says why)."""

    content_type: str  # as libmagic reads the content
    extension: str  # the usual extension of that type (".jpg"), "" if it has none
    cleaned: Path | None
    left_out: LeftOut | None

    def read(self) -> Iterator[bytes]:
        """The cleaned bytes, a piece at a time (memory stays flat)."""
        if self.cleaned is None:
            raise ValueError("this file was left out: there is nothing to read")
        with self.cleaned.open("rb") as handle:
            while piece := handle.read(READ_SIZE):
                yield piece


# --- where plaintext may be written ------------------------------------------------------


def _unescape_mount_path(text: str) -> str:
    # /proc/self/mounts writes space, tab, newline and backslash as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), text)


def filesystem_of(path: Path, mounts: str) -> str | None:
    """The type of filesystem ``path`` is on: the mount with the longest mount point that
    contains it (the last one listed wins a tie: it is mounted over the others)."""
    target = str(path)
    best_length, best_type = -1, None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape_mount_path(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best_length:
            best_length, best_type = len(point), fields[2]
    return best_type


def check_ram_backed(directory: Path, mounts_file: Path | None = None) -> Path:
    """``directory``, resolved, if it exists and lies on tmpfs or ramfs; else refuse."""
    try:
        resolved = directory.resolve(strict=True)
        mounts = (mounts_file or MOUNTS).read_text(encoding="utf-8", errors="replace")
    except OSError:
        raise MetadataError(
            "scratch_unavailable",
            f"the scratch directory {directory} or the mount table cannot be read",
        ) from None
    if not resolved.is_dir():
        raise MetadataError("scratch_unavailable", f"{directory} is not a directory")
    kind = filesystem_of(resolved, mounts)
    if kind not in RAM_FILESYSTEMS:
        raise MetadataError(
            "scratch_not_ram",
            f"{resolved} is on {kind or 'an unknown filesystem'}, not tmpfs or ramfs: "
            "decrypted files may only be written to memory",
        )
    return resolved


# --- what mat2 can clean -----------------------------------------------------------------


@functools.cache
def supported_formats(mat2: Path = MAT2) -> Mapping[str, tuple[str, ...]]:
    """MIME type -> extensions, as ``mat2 --list`` prints them (read once per process)."""
    if not mat2.is_file():
        raise MetadataError("mat2_missing", f"{mat2} is missing: install Debian's mat2")
    # Lists formats only: no file of a case is involved.
    done = _run([str(mat2), "--list"], Path("/"), DETECT_TIMEOUT, capture=True)
    if done is None or done.returncode != 0:
        raise MetadataError("mat2_broken", "mat2 --list failed")
    formats: dict[str, tuple[str, ...]] = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        match = _LISTED_FORMAT.match(line)
        if match:
            extensions = tuple(part.strip() for part in match.group(2).split(","))
            formats[match.group(1)] = tuple(e for e in extensions if _SAFE_EXTENSION.fullmatch(e))
    return formats


def extension_for(content_type: str, formats: Mapping[str, tuple[str, ...]]) -> str:
    """The extension under which mat2 recognises ``content_type``; "" if it does not."""
    listed = formats.get(content_type, ())
    preferred = mimetypes.guess_extension(content_type)
    if preferred in listed:
        return preferred or ""
    return sorted(listed)[0] if listed else ""


# --- the scratch directory and the cleaning ----------------------------------------------


class Scratch:
    """A private RAM-backed directory for one job; ``close`` (or leaving the ``with``
    block) removes it with everything in it. Never reused between requests."""

    def __init__(
        self,
        parent: Path = DEFAULT_SCRATCH_PARENT,
        *,
        mounts_file: Path | None = None,  # None: /proc/self/mounts
        mat2: Path = MAT2,
        file_tool: Path = FILE,
    ) -> None:
        for tool, package in ((mat2, "mat2"), (file_tool, "file")):
            if not tool.is_file():
                raise MetadataError("tool_missing", f"{tool} is missing: install {package}")
        ram_parent = check_ram_backed(parent, mounts_file)
        self._mat2 = mat2
        self._file_tool = file_tool
        # mkdtemp: mode 0700, a random name, created exclusively (no one can pre-plant it).
        self.path = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=ram_parent))
        self._count = 0
        self._closed = False

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the directory and every file in it. Safe to call more than once."""
        if not self._closed:
            self._closed = True
            shutil.rmtree(self.path, ignore_errors=True)

    def discard(self, outcome: Outcome) -> None:
        """Remove a cleaned file as soon as it has been passed on."""
        if outcome.cleaned is not None:
            outcome.cleaned.unlink(missing_ok=True)

    def clean(self, plaintext: Iterable[bytes], *, timeout: float = MAT2_TIMEOUT) -> Outcome:
        """Write one decrypted file (given as pieces) here, clean it with mat2, and remove
        the original. The cleaned copy stays here until ``discard`` or ``close``."""
        if self._closed:
            raise MetadataError("scratch_closed", "this scratch directory has been removed")
        self._count += 1
        stem = f"file-{self._count}"
        original = self.path / stem
        try:
            self._write(original, plaintext)
            content_type = self._detect(original)
            extension = extension_for(content_type, supported_formats(self._mat2))
            if not extension:
                return Outcome(content_type, "", None, LeftOut.UNSUPPORTED)
            named = original.rename(self.path / f"{stem}{extension}")
            original = named
            cleaned = self.path / f"{stem}.cleaned{extension}"
            left_out = self._mat2_clean(named, cleaned, timeout)
            if left_out is not None:
                cleaned.unlink(missing_ok=True)  # a partial output is never passed on
                return Outcome(content_type, extension, None, left_out)
            return Outcome(content_type, extension, cleaned, None)
        finally:
            original.unlink(missing_ok=True)

    # --- internals ---

    def _environment(self) -> dict[str, str]:
        # Nothing of the server's environment (secrets, proxies) reaches the tools; every
        # place a library might write a cache or a temporary file is in RAM and removed.
        scratch = str(self.path)
        return {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": scratch,
            "TMPDIR": scratch,
            "XDG_CACHE_HOME": scratch,
            "XDG_CONFIG_HOME": scratch,
            "XDG_DATA_HOME": scratch,
        }

    @staticmethod
    def _write(path: Path, plaintext: Iterable[bytes]) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(path, flags, 0o600), "wb") as handle:
            for piece in plaintext:
                handle.write(piece)

    def _detect(self, path: Path) -> str:
        done = _run(
            [str(self._file_tool), "--brief", "--mime-type", "--", path.name],
            self.path,
            DETECT_TIMEOUT,
            capture=True,
            env=self._environment(),
        )
        text = "" if done is None else done.stdout.decode("ascii", "replace").strip().lower()
        if done is None or done.returncode != 0 or not _MIME_TYPE.fullmatch(text):
            return "application/octet-stream"  # unknown: mat2 has no cleaner for it
        return text

    def _mat2_clean(self, source: Path, cleaned: Path, timeout: float) -> LeftOut | None:
        done = _run(
            [str(self._mat2), "--", source.name],
            self.path,
            timeout,
            capture=False,
            env=self._environment(),
        )
        if done is None:
            return LeftOut.TIMEOUT
        if done.returncode != 0 or not cleaned.is_file() or cleaned.is_symlink():
            return LeftOut.FAILED
        return None


def _run(
    argv: list[str],
    cwd: Path,
    timeout: float,
    *,
    capture: bool,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes] | None:
    """Run a tool without a shell; None if it timed out (its process group is killed).

    Output goes to a pipe only when asked for (the type or the format list); mat2's own
    messages are dropped, so nothing a tool prints about a file can reach a log.
    """
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    environment = (
        dict(env) if env is not None else {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    )
    with subprocess.Popen(  # noqa: S603 (fixed tools by absolute path, no shell, neutral file names)
        argv,
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a group of its own: a timeout kills helpers it started
        close_fds=True,
    ) as process:
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return None
    return subprocess.CompletedProcess(argv, process.returncode, stdout or b"", b"")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
