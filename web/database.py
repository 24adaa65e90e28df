"""One SQLAlchemy session per request, closed when the request ends.

A request reads through a read-only session or writes through a writing one (see
``store.db``: on SQLite, writing transactions take the write lock when they begin). The
submit app reads on GET and HEAD; the review app writes on every request, since each one
may touch its sign-in session or the audit log.

A view that fails because the database refused *for now* (``store.db.is_transient``) is
run again from the start with a fresh session, a few times; its request body is already
in memory (a form or JSON), so the second run sees what the first saw. A view that must
not run twice (it reads its body as a stream, or spends a proof of work: ``runs_once``),
or that wants to answer a refusal itself, retries its own commit with ``retry_commit``
and is then not run again.
What still fails after that, or finds the database unreachable or full, answers 503 with
a page that says nothing was saved (``web.errors``): never a 500 with a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_engine, read_only, retry_transient, session_factory, writing

EXTENSION = "minhbach.database"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RUNS_ONCE = "minhbach_runs_once"  # attribute of a view function: never run again
_OWN_RETRIES = "minhbach_own_retries"  # in g: the view retried its own commit

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Database:
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    read_on_safe_methods: bool


def init_database(app: Flask, database_url: str, *, read_on_safe_methods: bool) -> None:
    engine = make_engine(database_url)
    app.extensions[EXTENSION] = Database(
        writer=session_factory(writing(engine)),
        reader=session_factory(read_only(engine)),
        read_on_safe_methods=read_on_safe_methods,
    )
    app.teardown_appcontext(_close)


def replay_on_transient_errors(app: Flask) -> None:
    """Wrap every view (call once all blueprints are registered, before the limits, so
    that a second run is not counted twice)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and not getattr(view, RUNS_ONCE, False):
            app.view_functions[endpoint] = _replaying(view)


def runs_once(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view that must not run twice: it reads ``request.stream`` itself, or spends
    a proof of work. It retries its own commit (``retry_commit``)."""
    setattr(view, RUNS_ONCE, True)
    return view


def db() -> Session:
    """The current request's session; rolled back unless the view commits."""
    if "db_session" not in g:
        database: Database = current_app.extensions[EXTENSION]
        g.db_session = (database.reader if _reads_only(database) else database.writer)()
    session: Session = g.db_session
    return session


def reading_session() -> Session:
    """A session of its own, apart from the request's, that only reads (close it)."""
    database: Database = current_app.extensions[EXTENSION]
    return database.reader()


def retry_commit(work: Callable[[Session], R]) -> R:
    """Run ``work`` on the request's session and commit, again on a transient refusal.

    The view is then not run again as a whole: its own retries were the retries.
    """
    setattr(g, _OWN_RETRIES, True)

    def attempt() -> R:
        result = work(db())
        db().commit()
        return result

    return retry_transient(attempt, before_retry=lambda: db().rollback())


def _reads_only(database: Database) -> bool:
    return database.read_on_safe_methods and request.method in SAFE_METHODS


def _replaying(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return retry_transient(
            lambda: view(*args, **kwargs),
            before_retry=_discard_session,
            may_retry=lambda: not g.get(_OWN_RETRIES, False),
        )

    return wrapped


def _discard_session() -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def _close(_error: BaseException | None) -> None:
    _discard_session()
