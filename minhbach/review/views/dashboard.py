"""The supervisors' progress dashboard (the fortnightly review): charts and exports of aggregate figures."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("dashboard", __name__)
