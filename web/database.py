"""One SQLAlchemy session per request, closed when the request ends."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_engine, session_factory

EXTENSION = "minhbach.database"


def init_database(app: Flask, database_url: str) -> None:
    app.extensions[EXTENSION] = session_factory(make_engine(database_url))

    @app.teardown_appcontext
    def _close(_error: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def db() -> Session:
    """The current request's session; rolled back unless the view commits."""
    if "db_session" not in g:
        from flask import current_app

        factory: sessionmaker[Session] = current_app.extensions[EXTENSION]
        g.db_session = factory()
    session: Session = g.db_session
    return session
