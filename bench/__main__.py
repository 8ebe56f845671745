"""make bench: seed, measure, print one table, write bench/results/latest.json."""
from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

from bench import creates, measure_api, measure_fanout, measure_reports, seed
from bench.env import BenchEnv, machine, rss_mb
from bench.report import Table
from shared_models.db import create_pool
from shared_models.migrations import migrate

RESULTS = Path(__file__).resolve().parent / "results"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))  # a smaller world for a quick check of the bench itself
FANOUT_SIGNUPS = int(100_000 * SCALE)
FANOUT_VARIANT = 5_000_001
RUNS = 3


async def run() -> dict:
    env = BenchEnv()
    await env.start()
    table = Table()
    started = time.perf_counter()
    try:
        await migrate(env.db_url)
        pool = await create_pool(env.db_url, max_size=10)
        rng = random.Random(42)
        with_indexes = ["signups", "notifications", "customers", "variants"]
        async with seed.IndexesDeferred(env.db_url, with_indexes):
            large = await seed.seed_shop(pool, env.db_url, "large.myshopify.com", plan="unlimited",
                                         signups=int(1_000_000 * SCALE), variants=int(20_000 * SCALE),
                                         notifications=int(3_000_000 * SCALE), customers=int(500_000 * SCALE),
                                         rng=rng)
            fan = await seed.seed_shop(pool, env.db_url, "fanout.myshopify.com", plan="unlimited",
                                       signups=FANOUT_SIGNUPS, variants=1, notifications=0,
                                       customers=FANOUT_SIGNUPS + 1, rng=rng, variant_base=FANOUT_VARIANT - 1,
                                       notified_fraction=0.0, channels=("email",))
            small = await seed.seed_small_shops(pool, env.db_url, max(1, int(1000 * SCALE)), rng)
        await seed.seed_orders(pool, env.db_url, large, int(50_000 * SCALE), rng)
        table.note("seed", f"{time.perf_counter() - started:.0f} s (large {large.seconds:.0f} s, small shops {small:.0f} s)")

        api_url, api_proc = await env.start_api()
        # Creates at 1, 8, 32 and 128 clients against single-row INSERTs (the floor).
        measured = await creates.measure(env, api_proc.pid, api_url, large)
        creates.report(table, measured)
        floor = measured["floor"]
        # What HTTP alone allows here: the same client against a handler with no I/O.
        empty = [await measure_api.empty_requests(api_url, 5) for _ in range(RUNS)]
        table.ratio("empty HTTP requests / s (GET /healthz, 32 clients)", empty, floor)

        # The creates leave a WAL backlog: the server's log shows checkpoints back to
        # back (max_wal_size) through the lists that follow, the likely cause of the
        # one call in 100 (the p99) that took 20+ ms in some runs. Written out first,
        # as the fan-out's A/B runs do, so that the lists measure the lists.
        await pool.execute("CHECKPOINT")
        table.lists(await measure_api.lists(api_url, large.api_key), goal_p99_ms=20)
        table.latency("signup read", [await measure_api.reads(api_url, large.api_key, large.signup_ids[len(large.signup_ids) // 2:])])

        for workers in (1, 2, 4):
            runs = [await measure_fanout.fanout(env, pool, api_url, fan, FANOUT_VARIANT,
                                                10_000_000 + FANOUT_VARIANT, workers, FANOUT_SIGNUPS)
                    for _ in range(RUNS if workers == 2 else 1)]
            fl = [await measure_fanout.floor(pool, fan.shop_id, FANOUT_VARIANT)]
            table.ratio(f"fan-out alerts / s, {workers} worker(s)", runs, fl,
                        goal_absolute=5000 if workers == 2 else None)

        timings, failures = await measure_api.bulk(api_url, pool, large, fan, FANOUT_VARIANT)
        table.bulk(timings)
        for name, text in failures.items():
            table.note(name, text)
        try:
            table.reports(await measure_reports.reports(api_url, env.db_url, large), goal_ms=300, goal_csv=0.70)
        except Exception as exc:
            table.note("reports", f"failed: {exc!r}")
        current, peak = rss_mb(api_proc.pid)
        table.memory(current, peak, goal_mb=150)
        await pool.close()
    finally:
        await env.close()
    table.note("total", f"{time.perf_counter() - started:.0f} s")
    table.note("scale", f"{SCALE:g} (1 = the full world: 1,000,000 signups, 3,000,000 notifications)")
    return {"machine": await machine(env.base_url), **table.as_dict()}


def main() -> None:
    result = asyncio.run(run())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2))
    print(Table.render(result))
    sys.exit(0)


if __name__ == "__main__":
    main()
