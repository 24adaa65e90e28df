"""A Redis database of its own, for tests that need production's shared limit storage.

The server is ``MINHBACH_TEST_REDIS_URL`` (``unix:///…/redis.sock``), which
``scripts/with-services`` (run by ``make test``) starts with 64 databases. Tests run in
parallel: each caller gets the next database by turns (a counter in database 0) and empties
it before and after use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.programs import require_variable

SERVER_VARIABLE = "MINHBACH_TEST_REDIS_URL"
DATABASES = 64  # scripts/with-services: --databases 64
_COUNTER = "minhbach-tests:next-database"


def socket_path() -> str:
    url = require_variable(SERVER_VARIABLE)
    if not url.startswith("unix://"):
        raise ValueError(f"{SERVER_VARIABLE} must be unix:///path/to/redis.sock")
    return url.removeprefix("unix://")


@contextmanager
def fresh_database() -> Iterator[str]:
    """Yield a ``limits`` storage URI (``redis+unix://…?db=N``) of an empty database."""
    path = socket_path()
    with redis.Redis(unix_socket_path=path, db=0) as admin:
        number = 1 + int(admin.incr(_COUNTER)) % (DATABASES - 1)
    with redis.Redis(unix_socket_path=path, db=number) as database:
        database.flushdb()
        try:
            yield f"redis+unix://{path}?db={number}"
        finally:
            database.flushdb()
