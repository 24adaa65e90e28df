"""What a page says after a change went through: a one-time message kept in the Flask
session across the redirect that follows the POST, shown once by base.html in a
``role="status"`` box at the top of the next page.

Messages carry what was done and to what (a case reference, a unit or a person's name),
never the content of a case: the session cookie is signed, not encrypted.
"""

from __future__ import annotations

from flask import flash

DONE = "done"  # the flash category base.html shows


def done(message: str) -> None:
    """Say on the next page that ``message`` happened."""
    flash(message, DONE)
