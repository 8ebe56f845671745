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


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
        # A restarted server leaves dead connections; drop idle ones quickly.
        max_inactive_connection_lifetime=60,
    )
