"""PostgreSQL connections terminated under a running API (pg_terminate_backend,
as a failover, a restart or an operator does): requests either succeed or fail
cleanly with 503 in the error envelope, never 500 and never hang, and the pool
recovers by itself within seconds."""
from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import urlsplit

import asyncpg

from tests.dispatch_support import create_signup, wait_for

LIST = "/back_in_stock/signups"
TERMINATE = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid()
"""
# Filtered first (MATERIALIZED), then terminated: only this test's database is touched.
TERMINATE_PIDS = """
WITH victims AS MATERIALIZED (
    SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid())
SELECT array_agg(pid) FILTER (WHERE pg_terminate_backend(pid)) FROM victims
"""
ALIVE = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])"


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def bounded(api, method: str, path: str, **kw):
    """A request that must answer within 10 s, with 200-ish or a clean 503."""
    status, body, _ = await asyncio.wait_for(api.call(method, path, **kw), 10)
    assert status != 500, body
    if status == 503:
        assert isinstance(body, dict) and list(body) == ["errors"] and body["errors"][0], body
    return status, body


async def all_succeed(api, n: int = 8) -> bool:
    results = await asyncio.gather(*(bounded(api, "GET", LIST) for _ in range(n)))
    return all(status == 200 for status, _ in results)


async def test_requests_right_after_termination_succeed_or_503_then_recover(api, pool, shop, pg_base_url, db_url):
    await create_signup(api, shop, email="ann@example.com")
    await asyncio.gather(*(api.get(LIST) for _ in range(8)))  # the pool now holds several connections
    assert pool.get_size() >= 2
    name = db_name(db_url)
    admin = await asyncpg.connect(pg_base_url)
    try:
        for wait_until_gone in (False, True):
            killed = await admin.fetchval(TERMINATE_PIDS, name)
            assert len(killed) >= 2
            if wait_until_gone:  # the pool's connections are all dead, whether it noticed or not
                await wait_for(lambda: _gone(admin, killed), timeout=10, what="backends gone")
            # At once, one after another and concurrently: no 500, no hang.
            statuses = [(await bounded(api, "GET", LIST))[0] for _ in range(5)]
            results = await asyncio.gather(*(bounded(api, "GET", LIST) for _ in range(10)),
                                           bounded(api, "POST", "/back_in_stock/signups/bulk_delete",
                                                   json={"ids": [str(uuid.uuid4())]}))
            statuses += [s for s, _ in results]
            assert set(statuses) <= {200, 404, 503}, statuses
            started = time.monotonic()
            await wait_for(lambda: all_succeed(api), timeout=5, what="every request succeeding again")
            assert time.monotonic() - started < 5
    finally:
        await admin.close()
    status, body, _ = await api.get(LIST)
    assert status == 200 and len(body["signups"]) == 1


async def _gone(admin, pids: list[int]) -> bool:
    return await admin.fetchval(ALIVE, pids) == 0


async def test_in_flight_request_is_503_when_its_connection_is_terminated(api, pool, shop, db_url):
    """A notify waits on a row lock held elsewhere; its backend is terminated
    while it waits: 503 (not 500), nothing half-written, and the same call
    works once PostgreSQL is reachable again."""
    signup = await create_signup(api, shop, email="ann@example.com")
    locker = await asyncpg.connect(db_url)
    try:
        tx = locker.transaction()
        await tx.start()
        await locker.execute("SELECT 1 FROM signups WHERE signup_id = $1 FOR UPDATE", uuid.UUID(signup["id"]))
        request = asyncio.create_task(api.post(f"/back_in_stock/signups/{signup['id']}/notify", json={}))
        await wait_for(lambda: _waiting_on_lock(locker), timeout=10, what="the notify waiting on the lock")
        assert await locker.fetchval(TERMINATE, db_name(db_url)) >= 1  # every backend but the locker's
        status, body, _ = await asyncio.wait_for(request, 10)
        await tx.rollback()
    finally:
        await locker.close()
    assert status == 503, body
    assert list(body) == ["errors"] and "database" in body["errors"][0].lower()

    async def notify_works():
        status, body = await bounded(api, "POST", f"/back_in_stock/signups/{signup['id']}/notify", json={})
        return status == 202

    await wait_for(notify_works, timeout=5, what="notify accepted again")
    # The failed call left nothing behind: else this one would be 409 (in flight), or two jobs.
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 1


async def _waiting_on_lock(conn) -> bool:
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()") > 0
