"""The submit app served on 127.0.0.1 for browser tests, with the unit of tests/worlds.py.

The fixtures mirror tests/submit/conftest.py (which browser tests cannot reach as a
conftest) with small file limits, so that crossing them takes kilobytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from casework.settings import Settings
from submit import create_app
from tests.live import serve
from tests.submit.conftest import TEST_ENV
from tests.worlds import World

KIB = 1024
MAX_FILE_SIZE = 512 * KIB
MAX_REPORT_SIZE = 1024 * KIB


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            **TEST_ENV,
            "MINHBACH_INSTANCE": str(tmp_path / "instance"),
            "MINHBACH_DATABASE_URL": str(engine.url),
            "MINHBACH_MAX_FILE_SIZE": str(MAX_FILE_SIZE),
            "MINHBACH_MAX_REPORT_SIZE": str(MAX_REPORT_SIZE),
            "MINHBACH_DEFAULT_LANGUAGE": "en",
        }
    )


@pytest.fixture
def submit_app(settings: Settings, world: World) -> Flask:
    return create_app(settings)


@pytest.fixture
def base_url(submit_app: Flask) -> Iterator[str]:
    """The app on http://127.0.0.1:<port>: a secure context, so WebCrypto is there."""
    with serve(submit_app) as base:
        yield base
