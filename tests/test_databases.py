"""The tests' databases (tests/databases.py): a database comes back to a test
only in the template's state; one whose definition or statistics changed, or
that a test left connected, is dropped instead."""
from __future__ import annotations

import uuid

import asyncpg

from api_service.admin import shops as admin
from tests.databases import DatabaseStock, with_database


async def take_again(stock: DatabaseStock, name: str) -> bool:
    """Takes databases (ending the others at once) until `name` comes back."""
    for _ in range(12):
        got = await stock.take()
        if got == name:
            return True
        assert await stock.end(got) == []
    return False


async def test_a_database_comes_back_empty_and_a_changed_one_never(pg_base_url, template_db):
    stock = DatabaseStock(pg_base_url, template_db, f"bis_stock_{uuid.uuid4().hex[:8]}")
    try:
        # Rows only: emptied, identities restarted, and used again.
        used = await stock.take()
        pool = await asyncpg.create_pool(with_database(pg_base_url, used), min_size=1, max_size=1)
        await admin.create_shop(pool, "reused.myshopify.com")
        await pool.close()
        assert await stock.end(used) == []
        assert await take_again(stock, used)
        conn = await asyncpg.connect(with_database(pg_base_url, used))
        try:
            assert await conn.fetchval("SELECT count(*) FROM shops") == 0
            assert await conn.fetchval("SELECT count(*) FROM api_keys") == 0
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0  # the template's rows stay
            # A definition changed, statistics gathered: never handed out again.
            await conn.execute("CREATE INDEX shops_name_test ON shops (name)")
        finally:
            await conn.close()
        assert await stock.end(used) == []

        analyzed = await stock.take()
        pool = await asyncpg.create_pool(with_database(pg_base_url, analyzed), min_size=1, max_size=1)
        await admin.create_shop(pool, "analyzed.myshopify.com")
        await pool.execute("ANALYZE shops")  # rows to gather statistics from
        await pool.close()
        assert await stock.end(analyzed) == []

        leaked = await stock.take()
        conn = await asyncpg.connect(with_database(pg_base_url, leaked))
        left = await stock.end(leaked)
        assert len(left) == 1 and left[0].startswith(f"{leaked}: backend pid")
        conn.terminate()
        for name in (used, analyzed, leaked):
            assert not await take_again(stock, name)
    finally:
        stock.close()
    assert stock.errors == []
    assert stock.retired[used] == stock.retired[analyzed] == "its definition or statistics differ from the template's"
    assert stock.retired[leaked] == "connected when its test ended"
    admin_conn = await asyncpg.connect(pg_base_url)
    try:
        assert await admin_conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", leaked) == 0
        assert await admin_conn.fetchval("SELECT count(*) FROM pg_database WHERE datname LIKE $1",
                                         stock.prefix + "%") == 0  # close() dropped them all
    finally:
        await admin_conn.close()

