"""``GET /health`` on both apps: can this process reach its database? For the proxy and
for monitoring.

Two constant answers: 200 ``ok`` or 503 ``unavailable``. No version, no counts, no
timing, no error text: a stranger learns no more than the home page would show them, and
monitoring needs no more. It sets no cookie, so a probe never starts a session.

It has no rate limit of its own: it costs one ``SELECT 1`` on a session of its own that
only reads (on SQLite it takes no lock, so a probe never waits behind a writer), less
than the home page, which has none either; and a monitor that asks every few seconds must
never be told "too many requests" instead of the truth.
"""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from web.database import reading_session

blueprint = Blueprint("health", __name__)

PATH = "/health"
HEALTHY = "ok\n"
UNHEALTHY = "unavailable\n"


@blueprint.get(PATH)
def health() -> Response:
    if database_answers():
        return _answer(HEALTHY, 200)
    return _answer(UNHEALTHY, 503)


def database_answers() -> bool:
    """Whether a read on the app's database succeeds now. Any refusal counts as down: an
    error's text is never shown, since it may name a host, a role or a path."""
    try:
        with reading_session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def _answer(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")
