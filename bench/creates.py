"""The creates section of `make bench`: signup creates at 1, 8, 32 and 128
clients, each with p50/p99 latency and CPU per create by process, beside the
single-row INSERT floor measured in the same run (goal: creates at 32 clients
>= 40% of it, p99 < 50 ms).

`python -m bench.creates` runs this section alone on a small world
(BENCH_SCALE, default 0.1): seeding, the API, creates, floor."""
from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from bench import budget, measure_api, seed
from bench.env import BenchEnv, cpu_by_process, cpu_per_unit, machine
from bench.stats import median
from bench.report import Table
from shared_models.migrations import migrate

RUNS = 3  # at 32 clients (the goal's); one run at the other counts
SECONDS = 5
GOAL_RATIO = 0.40
GOAL_P99_MS = 50


async def measure(env: BenchEnv, api_pid: int, api_url: str, shop: Any) -> dict[str, Any]:
    """Creates at each client count (CPU per create by process), then the
    floor (its CPU too), HTTP alone and the API's stages (bench/budget.py)."""
    out: dict[str, Any] = {"creates": {}, "cpu": {}}
    for clients in measure_api.CREATE_CLIENTS:
        before = cpu_by_process(api_pid)
        runs = [await measure_api.creates(api_url, shop.api_key, shop.domain, SECONDS, clients)
                for _ in range(RUNS if clients == measure_api.CLIENTS else 1)]
        out["cpu"][clients] = cpu_per_unit(before, cpu_by_process(api_pid), sum(r["count"] for r in runs))
        out["creates"][clients] = runs
    out["floor"], out["floor_cpu"] = await budget.floor(env.db_url, shop, api_pid)
    return {**out, **await budget.extras(env, api_pid, api_url, shop)}


def report(table: Table, results: dict[str, Any]) -> None:
    floor = results["floor"]
    for clients, runs in results["creates"].items():
        goal = clients == measure_api.CLIENTS
        table.ratio(f"signup creates / s ({clients} client{'s' if clients > 1 else ''})", runs, floor,
                    goal=GOAL_RATIO if goal else None)
        table.latency(f"create latency ({clients} client{'s' if clients > 1 else ''})", runs)
        if goal:
            row = table.rows[-1]  # the p99: its goal
            row.update(goal=f"< {GOAL_P99_MS} ms", met=row["value"] < GOAL_P99_MS)
            if not row["met"]:
                row["gap"] = f"{row['value'] / GOAL_P99_MS:.1f}x the goal"
        table.note(f"CPU per create, {clients} clients",
                   ", ".join(f"{k} {v:.3f} ms" for k, v in results["cpu"][clients].items()))
    table.note("single-row INSERT floor", "runs: " + ", ".join(f"{f['per_second']:,.0f}/s" for f in floor))
    _budget_notes(table, results)


def _budget_notes(table: Table, results: dict[str, Any]) -> None:
    """Where a create's CPU goes at 32 clients, against what the goal allows (bench/budget.py)."""
    def cpu(ms: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.3f} ms" for k, v in ms.items())

    bare = results["bare_http"]
    table.note("CPU per single-row INSERT (floor)", cpu(results["floor_cpu"]))
    table.note("HTTP alone (bench/bare_api.py, 32 clients)",
               f"{median([r['per_second'] for r in bare['runs']]):,.0f}/s; CPU per request: {cpu(bare['cpu_ms'])}")
    r = {"cores": os.cpu_count() or 1, "floor": {"runs": results["floor"]}, "bare_http": bare,
         "creates": {"cpu_ms": results["cpu"][measure_api.CLIENTS]}, "api_stages": results["api_stages"]}
    table.note("budget at the goal", " ".join(budget.findings(r)))
    rows = budget.stage_rows(r)
    table.note("API CPU by stage, 32 clients", rows if isinstance(rows, str) else
               "; ".join(f"{stage} {share:.0%} ({ms:.3f} ms)" for stage, share, ms in rows))


async def run_alone() -> dict[str, Any]:
    scale = float(os.environ.get("BENCH_SCALE", "0.1"))
    env = BenchEnv()
    await env.start()
    table = Table()
    try:
        await migrate(env.db_url)
        large = await seed.large_world(env.db_url, scale)
        api_url, api_proc = await env.start_api()
        report(table, await measure(env, api_proc.pid, api_url, large))
        table.note("scale", f"{scale:g}; load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        await env.close()
    return {"machine": await machine(env.base_url), **table.as_dict()}


def main() -> None:
    started = time.perf_counter()
    result = asyncio.run(run_alone())
    print(Table.render(result))
    print(json.dumps({"seconds": round(time.perf_counter() - started)}))


if __name__ == "__main__":
    main()
