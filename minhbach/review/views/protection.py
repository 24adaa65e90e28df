"""Protection of the reporter and relatives, and retaliation incidents, on the review side."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("protection", __name__)
