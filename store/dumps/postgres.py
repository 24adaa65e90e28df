"""PostgreSQL: ``pg_dump`` in the custom format, under a snapshot this process exports.

The snapshot is exported by a REPEATABLE READ transaction of ours, which reads the
backup's facts (``store.dumps.Facts``) and stays open while ``pg_dump --snapshot`` dumps
exactly what it sees: the blob list and the dump cannot disagree, whatever the apps commit
meanwhile. ``pg_dump``'s output is streamed to the caller as it comes; nothing is written
to disk here.

``pg_dump`` must be at least the server's major version (older ones refuse to dump a
newer server, and say so less clearly), and ``pg_restore`` at least the version of the
``pg_dump`` that wrote the dump. Both are looked for on PATH and in Debian's
``/usr/lib/postgresql/*/bin``; the newest one found is used.

The password never appears on a command line (other users can read those): it goes to
the child in ``PGPASSWORD``, and everything else in a libpq connection string.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from store.dumps import PIECE_SIZE, DumpError, Snapshot, read_facts

DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")
# Table-of-contents lines of what a restore leaves out (see ``restore``).
_LEFT_OUT = re.compile(rb"\d+; \d+ \d+ (POLICY|ROW SECURITY) ")
# What the libpq connection string may carry from a SQLAlchemy URL's query.
_PASSWORD_KEYS = ("password",)
# The first lines of a program's error output are shown: enough to act on.
_ERROR_LINES = 5
_WAIT_SECONDS = 60


@dataclass(frozen=True)
class Program:
    path: Path
    major: int


def find_program(name: str, at_least: int) -> Program:
    """The newest ``name`` found, if its major version is at least ``at_least``."""
    candidates = {Path(found) for found in glob.glob(f"{DEBIAN_BINARIES}/{name}")}
    on_path = shutil.which(name)
    if on_path is not None:
        candidates.add(Path(on_path))
    found = [Program(path, _major(path)) for path in sorted(candidates)]
    if not found:
        raise DumpError(
            f"{name} is not installed (looked on PATH and in {DEBIAN_BINARIES}): "
            "install the PostgreSQL client programs (Debian: postgresql-client)"
        )
    newest = max(found, key=lambda program: program.major)
    if newest.major < at_least:
        raise DumpError(
            f"{name} {newest.major} ({newest.path}) is older than PostgreSQL {at_least}, "
            f"which it must at least be: install postgresql-client-{at_least}"
        )
    return newest


def _major(path: Path) -> int:
    result = subprocess.run(  # noqa: S603 - a program found above, no shell
        [str(path), "--version"], capture_output=True, text=True, timeout=_WAIT_SECONDS
    )
    match = _VERSION.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise DumpError(f"{path} --version did not say which PostgreSQL it belongs to")
    return int(match.group(1))


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` without its password, and the environment
    for the child process (the password in ``PGPASSWORD``)."""
    options: dict[str, object] = dict(
        url.translate_connect_args(username="user", database="dbname")
    )
    options.update(url.query)
    env = dict(os.environ)
    for key in _PASSWORD_KEYS:
        password = options.pop(key, None)
        if password is not None:
            env["PGPASSWORD"] = str(password)
    pairs = [f"{key}={_quote(value)}" for key, value in options.items()]
    return " ".join(pairs), env


def _quote(value: object) -> str:
    text_value = value[0] if isinstance(value, tuple) else value
    escaped = str(text_value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


@contextmanager
def snapshot(engine: Engine) -> Iterator[Snapshot]:
    """The database as it is now: facts, then ``pg_dump``'s custom-format output."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            exported = str(connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
            facts = read_facts(lambda sql: connection.execute(text(sql)).all())
            server = connection.dialect.server_version_info or (0,)
            program = find_program("pg_dump", int(server[0]))
            command = [str(program.path), "--format=custom", f"--snapshot={exported}"]
            yield Snapshot(facts, _output(command, engine.url))


def dump_major(engine: Engine) -> int:
    """The major version of the ``pg_dump`` that ``snapshot`` runs for this server."""
    with engine.connect() as connection:
        server = connection.dialect.server_version_info or (0,)
    return find_program("pg_dump", int(server[0])).major


def is_empty(engine: Engine) -> bool:
    """Whether the database has no table in its default schema."""
    return not inspect(engine).get_table_names()


def restore(
    engine: Engine, dump: Iterable[bytes], dumped_by: int, contents: Iterable[bytes]
) -> None:
    """Feed a custom-format dump to ``pg_restore``, in one transaction.

    ``contents`` is the same dump again, of which only the start is read: its table of
    contents, from which row security and its policies are left out. They name the
    instance's roles, which a new cluster does not have yet (pg_restore would fail on the
    first one), and ``minhbach database grant`` makes them again with the roles. Owners and
    grants are left out likewise: the restoring role owns what it restores. Until the grants
    are given, the apps' roles can reach nothing, so leaving these out fails closed.

    If ``dump`` raises half-way, ``pg_restore`` is killed before it can commit, so nothing
    of it stays.
    """
    if not is_empty(engine):
        raise DumpError("the database already has tables; restore only into an empty one")
    program = str(find_program("pg_restore", dumped_by).path)
    conninfo, env = libpq_target(engine.url)
    with _memory_file("toc") as listed:
        _feed([program, "--list"], contents, env, stdout=listed)
        os.lseek(listed, 0, os.SEEK_SET)
        with os.fdopen(os.dup(listed), "rb") as reader:
            kept = [line for line in reader if not _LEFT_OUT.match(line)]
    with _memory_file("kept") as use_list:
        os.write(use_list, b"".join(kept))
        command = [
            program, "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", "--no-password", f"--use-list=/dev/fd/{use_list}",
            f"--dbname={conninfo}",
        ]  # fmt: skip
        _feed(command, dump, env, stdout=subprocess.DEVNULL, keep=(use_list,))


@contextmanager
def _memory_file(name: str) -> Iterator[int]:
    """A file in memory only (memfd): the table of contents never touches a disk."""
    descriptor = os.memfd_create(f"minhbach-{name}", os.MFD_CLOEXEC)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _feed(
    command: list[str],
    pieces: Iterable[bytes],
    env: dict[str, str],
    *,
    stdout: int,
    keep: tuple[int, ...] = (),
) -> None:
    """Run ``command`` with ``pieces`` on its standard input; DumpError if it fails. A
    program that stops reading early (``--list`` reads only the start) is not an error."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - a program found above, no shell
            command, stdin=subprocess.PIPE, stdout=stdout, stderr=errors, env=env, pass_fds=keep
        )
        assert process.stdin is not None
        try:
            try:
                for piece in pieces:
                    process.stdin.write(piece)
            except BrokenPipeError:
                pass  # it stopped reading: its exit status says whether it meant to
            with suppress(BrokenPipeError):
                process.stdin.close()
            status = process.wait(timeout=_WAIT_SECONDS * 10)
        except BaseException:
            process.kill()
            process.wait()
            raise
        if status != 0:
            raise DumpError(f"{Path(command[0]).name} failed: {_first_lines(errors)}")


def _output(command: list[str], url: URL) -> Iterator[bytes]:
    """The standard output of ``command`` run against ``url``, piece by piece; raises
    DumpError after the last piece if the program failed."""
    conninfo, env = libpq_target(url)
    full = [*command, "--no-password", f"--dbname={conninfo}"]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - a program found above, no shell
            full, stdout=subprocess.PIPE, stderr=errors, env=env
        )
        assert process.stdout is not None
        finished = False
        try:
            while piece := process.stdout.read(PIECE_SIZE):
                yield piece
            status = process.wait(timeout=_WAIT_SECONDS)
            finished = True
        finally:
            if not finished:
                process.kill()
                process.wait()
            process.stdout.close()
        if status != 0:
            raise DumpError(f"{Path(command[0]).name} failed: {_first_lines(errors)}")


def _first_lines(errors: IO[bytes]) -> str:
    """The program's first lines of error, without PostgreSQL's DETAIL lines, which may
    echo a row's values."""
    errors.seek(0)
    lines = errors.read(8192).decode("utf-8", "replace").strip().splitlines()
    kept = [line for line in lines if "DETAIL:" not in line]
    return " / ".join(kept[:_ERROR_LINES]) or "no message"
