"""The asyncpg pool and its codecs, used by every process."""
from __future__ import annotations

import asyncpg
from asyncpg.pool import Pool, PoolAcquireContext

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


class PoolBusy(ConnectionError):
    """No connection came free within the pool's acquire timeout: every one is
    held (slow requests, a stalled export). A ConnectionError, so callers treat
    it as PostgreSQL unavailable (the API's 503) rather than wait without end."""


class _TimedAcquire(PoolAcquireContext):
    __slots__ = ()

    async def __aenter__(self):
        try:
            return await super().__aenter__()
        except TimeoutError:
            raise PoolBusy(f"no database connection free within {self.timeout:g} s") from None


class TimedPool(Pool):
    """A pool whose every acquisition (pool.fetch… included, which acquire
    through acquire()) has a timeout unless the caller gives its own."""

    __slots__ = ("acquire_timeout",)

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return _TimedAcquire(self, timeout if timeout is not None else self.acquire_timeout)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10,
                      acquire_timeout: float | None = None) -> asyncpg.Pool:
    pool = TimedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        connect=_connect,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
        # A restarted server leaves dead connections; drop idle ones quickly.
        max_inactive_connection_lifetime=60,
        max_queries=50000,  # asyncpg.create_pool's default
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        loop=None,
    )
    pool.acquire_timeout = acquire_timeout
    return await pool
