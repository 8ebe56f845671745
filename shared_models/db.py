"""The asyncpg pool and its codecs, used by every process."""
from __future__ import annotations

import asyncpg

from shared_models import jsonutil


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=jsonutil.dumps_str, decoder=jsonutil.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (one round trip per acquire): our
    code leaves no session state behind, only SET LOCAL and transaction-level
    advisory locks. asyncpg still rolls back a transaction left open."""


class DatabaseUnreachable(ConnectionError):
    """No connection to be had: what asyncpg's connect raises as a plain
    OSError (FileNotFoundError: a unix socket that is gone; PermissionError),
    as a ConnectionError, which callers already treat as "PostgreSQL is down"
    (the API's 503) as they do a refused TCP connection."""


async def _connect(*args, **kwargs) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(*args, **kwargs)
    except ConnectionError:
        raise
    except OSError as exc:
        raise DatabaseUnreachable(f"cannot reach PostgreSQL: {type(exc).__name__}: {exc.strerror or exc}") from exc


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        connect=_connect,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
        # A restarted server leaves dead connections; drop idle ones quickly.
        max_inactive_connection_lifetime=60,
    )
