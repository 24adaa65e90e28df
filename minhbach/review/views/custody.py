"""Identity custody: a custodian opens a reporter's identity with a recorded reason; the verifiers' export."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("custody", __name__)
