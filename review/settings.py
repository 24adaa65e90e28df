"""The review app's settings, as its factory received them."""

from __future__ import annotations

from flask import current_app

from casework.settings import Settings

EXTENSION = "minhbach.settings"


def settings() -> Settings:
    value: Settings = current_app.extensions[EXTENSION]
    return value
