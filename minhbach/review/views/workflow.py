"""The legal workflow of a case: transitions, extensions, notifications, escalations, forwarding."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("workflow", __name__)
