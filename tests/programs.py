"""Real programs the tests run (nginx, tor, systemd-analyze, redis-server, pg_dump): found,
or the test is skipped here and fails in CI.

``make test`` installs every one of them (scripts/ensure-system-packages); a machine that
lacks one outside CI skips the tests that need it, with the reason. In CI (``CI`` set, as
every CI service does) a missing program is a failure: a missing install step must never
hide behind a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

# Debian puts daemons in /usr/sbin, which is not on every user's PATH.
_EXTRA_PATHS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip the test outside CI, fail it in CI: ``reason`` says what is missing."""
    if in_ci():
        pytest.fail(f"{reason} (CI must install it: scripts/ensure-system-packages)")
    pytest.skip(reason)


def require_program(name: str) -> str:
    """The full path of program ``name``, or skip (fail in CI) when it is not installed."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_EXTRA_PATHS])
    path = shutil.which(name, path=search)
    if path is None:
        missing(f"{name} is not installed")
        raise AssertionError("unreachable")  # pytest.skip and pytest.fail raise
    return path


def require_variable(name: str, started_by: str = "scripts/with-services") -> str:
    """The value of environment variable ``name``, set by the services wrapper."""
    value = os.environ.get(name)
    if not value:
        missing(f"set {name} ({started_by} does)")
        raise AssertionError("unreachable")
    return value
