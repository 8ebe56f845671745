"""The fan-out section alone, for A/B runs of two versions of the code.

    BENCH_DB_NAME=bis_bench_x python -m bench.fanout seed    # migrate, seed the fan-out shop
    BENCH_DB_NAME=bis_bench_x python -m bench.fanout run     # one run: prints one JSON line
    BENCH_DB_NAME=bis_bench_x python -m bench.fanout drop

Each version is migrated and seeded in its own database (BENCH_DB_NAME) and
run with its own interpreter: the dispatchers spawned are that interpreter's
`backinstock`, so the code measured is the code of the tree whose Python runs
this. Runs are meant to be interleaved one for one by the caller. A run
resets the shop, CHECKPOINTs (so that no run pays for the last one's dirty
pages), restocks the variant with FANOUT_WORKERS dispatchers, and reads the
CPU of the dispatchers and of the database's backends from /proc as the job
finishes, before the dispatchers are stopped."""
from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time

import asyncpg

from bench import env as bench_env
from bench import measure_fanout, seed
from bench.env import BenchEnv, _cpu_seconds, cpu_by_process
from shared_models.db import create_pool
from shared_models.migrations import migrate

DOMAIN = "fanout.myshopify.com"
VARIANT = 5_000_001
SIGNUPS = int(os.environ.get("FANOUT_SIGNUPS", "40000"))
WORKERS = int(os.environ.get("FANOUT_WORKERS", "2"))


class KeptDatabase(BenchEnv):
    """BenchEnv on a database that outlives the process: created by `seed`, reused by `run`."""

    async def start(self, *, create: bool = False) -> None:
        admin = await asyncpg.connect(self.base_url)
        try:
            if create:
                await admin.execute(f'DROP DATABASE IF EXISTS "{bench_env.DB_NAME}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{bench_env.DB_NAME}"')
        finally:
            await admin.close()
        self.db_url = bench_env.with_database(self.base_url, bench_env.DB_NAME)

    async def close(self, *, drop: bool = False) -> None:
        for proc in self.processes:
            await self.stop(proc)
        if drop:
            admin = await asyncpg.connect(self.base_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{bench_env.DB_NAME}" WITH (FORCE)')
            await admin.close()


async def do_seed(env: KeptDatabase) -> dict:
    await env.start(create=True)
    await migrate(env.db_url)
    pool = await create_pool(env.db_url, max_size=4)
    try:
        async with seed.IndexesDeferred(env.db_url, ["signups", "notifications", "customers", "variants"]):
            await seed.seed_shop(pool, env.db_url, DOMAIN, plan="unlimited", signups=SIGNUPS, variants=1,
                                 notifications=0, customers=SIGNUPS + 1, rng=random.Random(42),
                                 variant_base=VARIANT - 1, notified_fraction=0.0, channels=("email",))
    finally:
        await pool.close()
    return {"seeded": SIGNUPS, "database": bench_env.DB_NAME}


async def do_run(env: KeptDatabase) -> dict:
    await env.start()
    pool = await create_pool(env.db_url, max_size=4)
    try:
        shop = await pool.fetchrow("SELECT shop_id, domain, webhook_secret FROM shops WHERE domain = $1", DOMAIN)
        await measure_fanout.reset(pool, env.redis_url, shop["shop_id"])
        api_url, api = await env.start_api()
        workers = [await env.spawn("dispatcher", "--concurrency", "4", **measure_fanout.fanout_tuning(WORKERS))
                   for _ in range(WORKERS)]
        await asyncio.sleep(2)  # bench only: let the workers connect before the clock starts
        await pool.execute("CHECKPOINT", timeout=600)
        cpu_before = {w.pid: _cpu_seconds(str(w.pid)) for w in workers}
        pg_before = cpu_by_process(api.pid, bench_env.DB_NAME)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        await measure_fanout.webhook(api_url, DOMAIN, shop["webhook_secret"], 10_000_000 + VARIANT)
        while time.perf_counter() - started < 600:
            if await pool.fetchval("SELECT status FROM jobs WHERE shop_id = $1 AND kind = 'restock'",
                                   shop["shop_id"]) == "done":
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        dispatcher_cpu = sum(_cpu_seconds(str(w.pid)) - cpu_before[w.pid] for w in workers)
        pg_after = cpu_by_process(api.pid, bench_env.DB_NAME)
        sent = await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'",
                                   shop["shop_id"])
        if sent != SIGNUPS:
            raise RuntimeError(f"fan-out sent {sent} of {SIGNUPS}")
        postgres = sum(pg_after[k] - pg_before.get(k, 0.0) for k in pg_after
                       if k.startswith("pg") and k[2].isdigit())
        return {"database": bench_env.DB_NAME, "alerts": sent, "seconds": round(elapsed, 2),
                "per_second": round(sent / elapsed), "dispatcher_us_per_alert": round(1e6 * dispatcher_cpu / sent, 1),
                "postgres_us_per_alert": round(1e6 * postgres / sent, 1), "load_before": round(load, 2),
                "load_after": round(os.getloadavg()[0], 2)}
    finally:
        await pool.close()
        await env.close()


async def main(command: str) -> dict:
    env = KeptDatabase()
    if command == "seed":
        return await do_seed(env)
    if command == "run":
        return await do_run(env)
    if command == "drop":
        await env.start()
        await env.close(drop=True)
        return {"dropped": bench_env.DB_NAME}
    raise SystemExit(f"usage: python -m bench.fanout seed|run|drop (got {command!r})")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "run"))))
