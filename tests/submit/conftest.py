"""A submit app on a migrated SQLite copy, a unit with real keys, and cheap Argon2id."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from casework.settings import Settings
from submit import create_app
from tests.conftest import settings_for
from tests.worlds import World

TEST_ENV = {
    "MINHBACH_PASSPHRASE_ARGON2": "1,8",
    "MINHBACH_CODE_ARGON2": "1,8",
    "MINHBACH_POW_DIFFICULTY": "4",
    # Tests assert English messages; the Vietnamese catalogue has its own test.
    "MINHBACH_DEFAULT_LANGUAGE": "en",
}


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return settings_for(engine, tmp_path / "instance", **TEST_ENV)


@pytest.fixture
def app(settings: Settings, world: World) -> Flask:
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
