"""Creates per second at 1, 8, 32 and 128 clients (against single-row
INSERTs from 32 connections, the floor), list and read latency per filter,
and the bulk actions."""
from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg

from bench.stats import median, ms, percentile

BASE = "/api/v2/external/back_in_stock"
CLIENTS = 32
_counter = itertools.count()


CREATE_CLIENTS = (1, 8, 32, 128)


async def creates(api_url: str, key: str, domain: str, seconds: float, clients: int = CLIENTS) -> dict[str, float]:
    """`clients` concurrent callers, each creating a new customer's signup
    as soon as its last one was answered."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(api_url, connector=connector, headers={"X-Auth-Token": key}) as session:
        async def client() -> None:
            while time.perf_counter() < deadline:
                n = next(_counter)
                body = {"variant_id": 900_000 + n % 5000, "product_id": 90_000 + n % 1000, "channel": "email",
                        "customer": {"email": f"bench-{n}@example.com", "name": "Bench"},
                        "product": {"title": "Bench product", "url": f"https://{domain}/products/bench"}}
                started = time.perf_counter()
                async with session.post(f"{BASE}/signups", json=body) as resp:
                    await resp.read()
                    if resp.status != 201:
                        raise RuntimeError(f"create answered {resp.status}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"per_second": len(latencies) / elapsed, "p50_ms": ms(percentile(latencies, 50)),
            "p99_ms": ms(percentile(latencies, 99)), "count": len(latencies)}


async def empty_requests(api_url: str, seconds: float) -> dict[str, float]:
    """GET /healthz (no I/O behind it) at 32 clients: what HTTP alone costs on
    this machine, with the same client as the creates."""
    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(api_url, connector=connector) as session:
        async def client() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.get("/healthz") as resp:
                    await resp.read()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return {"per_second": done / elapsed}


async def insert_floor(db_url: str, shop_id: uuid.UUID, seconds: float,
                       before_close: Callable[[], None] | None = None) -> dict[str, float]:
    """Single-row INSERTs from 32 connections into a copy of signups with the
    same indexes (a scratch table: dropped after, so cleanup costs nothing).
    `before_close`: called as the INSERTs end, while their backends are alive
    (bench/budget.py reads their CPU there)."""
    pool = await asyncpg.create_pool(db_url, min_size=CLIENTS, max_size=CLIENTS)
    await pool.execute("DROP TABLE IF EXISTS signups_floor")
    await pool.execute("CREATE TABLE signups_floor (LIKE signups INCLUDING ALL)")
    customer = await pool.fetchval("SELECT customer_id FROM customers WHERE shop_id = $1 LIMIT 1", shop_id)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        async with pool.acquire() as conn:
            stmt = await conn.prepare(
                "INSERT INTO signups_floor (shop_id, signup_id, customer_id, variant_id, product_id, channel, contact)"
                " VALUES ($1, $2, $3, $4, $5, 'email', 'floor@example.com')")
            while time.perf_counter() < deadline:
                n = next(_counter)
                started = time.perf_counter()
                await stmt.fetch(shop_id, uuid.uuid4(), customer, 2_000_000 + n, 1)
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    if before_close is not None:
        before_close()
    await pool.execute("DROP TABLE signups_floor")
    await pool.close()
    return {"per_second": len(latencies) / elapsed, "p50_ms": ms(percentile(latencies, 50)),
            "p99_ms": ms(percentile(latencies, 99)), "count": len(latencies)}


LIST_FILTERS: dict[str, dict[str, str]] = {
    "none": {},
    "status": {"status": "pending"},
    "channel": {"channel": "sms"},
    "variant_id": {"variant_id": "1234"},
    "product_id": {"product_id": "321"},
    "email": {"email": "c4242@"},
    "phone": {"phone": "555"},
    "from_to": {"from": "2026-06-01", "to": "2026-06-30"},
    "page_50": {"page": "50"},
}


async def lists(api_url: str, key: str, repeats: int = 100) -> dict[str, dict[str, float]]:
    """p50/p99 of `repeats` calls per filter, after one untimed call (the
    first reads its index pages from disk into a cold cache)."""
    out = {}
    async with aiohttp.ClientSession(api_url, headers={"X-Auth-Token": key}) as session:
        for name, params in LIST_FILTERS.items():
            for path in ("signups", "notifications"):
                if name in ("email", "phone", "status") and path == "notifications":
                    continue
                async with session.get(f"{BASE}/{path}", params=params) as resp:  # warm-up, not timed
                    await resp.read()
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    async with session.get(f"{BASE}/{path}", params=params) as resp:
                        await resp.read()
                        assert resp.status == 200, (path, params, resp.status)
                    times.append(time.perf_counter() - started)
                out[f"{path}?{name}"] = {"p50_ms": ms(percentile(times, 50)), "p99_ms": ms(percentile(times, 99))}
    return out


async def reads(api_url: str, key: str, ids: list[uuid.UUID], repeats: int = 200) -> dict[str, float]:
    times = []
    async with aiohttp.ClientSession(api_url, headers={"X-Auth-Token": key}) as session:
        for sid in ids[:repeats]:
            started = time.perf_counter()
            async with session.get(f"{BASE}/signups/{sid}") as resp:
                await resp.read()
                assert resp.status == 200
            times.append(time.perf_counter() - started)
    return {"p50_ms": ms(percentile(times, 50)), "p99_ms": ms(percentile(times, 99))}


async def timed_post(api_url: str, key: str, path: str, body: dict[str, Any]) -> tuple[float, int, Any]:
    async with aiohttp.ClientSession(api_url, headers={"X-Auth-Token": key},
                                     timeout=aiohttp.ClientTimeout(total=600)) as session:
        started = time.perf_counter()
        async with session.post(f"{BASE}{path}", json=body) as resp:
            payload = await resp.json()
            return time.perf_counter() - started, resp.status, payload


async def repeat(runs: int, fn) -> float:
    return median([await fn() for _ in range(runs)])


async def bulk(api_url: str, pool: asyncpg.Pool, large: Any, fan: Any, fan_variant: int
               ) -> tuple[dict[str, float], dict[str, str]]:
    """bulk_notify of 10,000 ids (until 202), bulk_delete of 10,000, transfer of
    100,000: (seconds per action, failures per action), each measured on its own."""
    out: dict[str, float] = {}
    failed: dict[str, str] = {}
    n = len(large.signup_ids)
    size = min(10_000, n // 100)

    async def notify() -> None:
        ids = [str(i) for i in large.signup_ids[n * 4 // 10:n * 4 // 10 + size]]  # waiting signups
        seconds, status, body = await timed_post(api_url, large.api_key, "/signups/bulk_notify", {"ids": ids})
        assert status == 202 and body["accepted_count"] == len(ids), (status, body)
        out[f"bulk_notify {size:,} ids (s)"] = round(seconds, 3)
        await cancel_job(api_url, large.api_key, body["job_id"])  # no worker runs here: free the targets

    async def delete() -> None:
        ids = [str(i) for i in large.signup_ids[n * 6 // 10:n * 6 // 10 + size]]
        seconds, status, body = await timed_post(api_url, large.api_key, "/signups/bulk_delete", {"ids": ids})
        assert status == 200 and body["deleted_count"] == len(ids), (status, body)
        out[f"bulk_delete {size:,} ids (s)"] = round(seconds, 3)

    async def move() -> None:
        product = await pool.fetchval("SELECT product_id FROM variants WHERE shop_id = $1 AND variant_id = $2",
                                      fan.shop_id, fan_variant)
        seconds, status, body = await timed_post(
            api_url, fan.api_key, "/signups/transfer",
            {"from_variant_id": fan_variant, "from_product_id": product,
             "to_variant_id": fan_variant + 1, "to_product_id": product, "scope": "all"})
        assert status == 200, (status, body)
        out[f"transfer {body['transferred_count']:,} signups (s)"] = round(seconds, 3)

    for name, action in (("bulk_notify", notify), ("bulk_delete", delete), ("transfer", move)):
        try:
            await action()
        except Exception as exc:  # one failed action must not lose the others' figures
            failed[name] = f"failed: {exc!r}"
    return out, failed


async def cancel_job(api_url: str, key: str, job_id: str) -> None:
    async with aiohttp.ClientSession(api_url, headers={"X-Auth-Token": key}) as session:
        async with session.post(f"/api/v2/external/jobs/{job_id}/cancel", json={}) as resp:
            assert resp.status == 200, await resp.text()
