"""URL rules both apps share.

``<int:…>`` in a route is a database id: a number the database cannot hold (2^63 or more)
matches no route, so it gets the ordinary "not found" instead of overflowing the query.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from store.types import MAX_ID as MAX_DATABASE_ID


class DatabaseId(IntegerConverter):
    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def init_routing(app: Flask) -> None:
    """Call before any route is added."""
    app.url_map.converters["int"] = DatabaseId
