"""Where a signup create's milliseconds go, by process and by stage, against
what the goal allows (issue 18: creates at 32 clients >= 40% of the
single-row INSERT floor): `python -m bench.budget` (BENCH_SCALE, default 0.05).

All of it runs on this machine's cores: the bench client, the API process,
PostgreSQL. So the goal's rate allows `cores / rate` of CPU per create in all,
and each process's measured share of a create (from /proc, as `make bench`)
says how that budget is spent. Beside it, in the same run:
- the floor's own cost per INSERT (PostgreSQL and its client);
- HTTP alone: the same client against bench/bare_api.py, an aiohttp server
  with nothing behind its route, the part of the API's CPU that no work of
  ours can remove while we serve HTTP with aiohttp;
- the API's CPU by stage (bench/profile.py: py-spy samples, in a separate
  run so that sampling does not slow the measured ones)."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import measure_api, profile, seed
from bench.env import BenchEnv, cpu_by_process, cpu_per_unit, machine
from bench.stats import median
from shared_models.embedded import free_port
from shared_models.migrations import migrate

RESULTS = Path(__file__).resolve().parent / "results"
CLIENTS = measure_api.CLIENTS
GOAL = 0.40
SECONDS = 5
RUNS = 3


async def per_unit(pid: int, work) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """RUNS runs of `work()` (each returns a dict with `count`), and the CPU
    per unit of each process over all of them."""
    before = cpu_by_process(pid)
    runs = [await work() for _ in range(RUNS)]
    return runs, cpu_per_unit(before, cpu_by_process(pid), sum(r["count"] for r in runs))


async def floor(db_url: str, shop: Any, api_pid: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The floor's INSERTs and their CPU (PostgreSQL and the client; the API
    idles), read while their connections are still open."""
    runs, spent = [], {"api": 0.0, "postgres": 0.0, "postgres server": 0.0, "bench client": 0.0}
    for _ in range(RUNS):
        before = cpu_by_process(api_pid)
        after: dict[str, float] = {}
        run = await measure_api.insert_floor(db_url, shop.shop_id, SECONDS,
                                             before_close=lambda: after.update(cpu_by_process(api_pid)))
        runs.append(run)
        for k, v in cpu_per_unit(before, after, run["count"]).items():
            spent[k] += v / RUNS
    return runs, spent


async def bare_http(env: BenchEnv, shop: Any) -> tuple[list[dict[str, Any]], dict[str, float]]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bare_api", "--port", str(port), env=env.process_env(), cwd=RESULTS.parent.parent)
    try:
        url = f"http://127.0.0.1:{port}"
        await env.wait_healthy(url)
        await measure_api.creates(url, shop.api_key, shop.domain, 1, CLIENTS)  # warm
        return await per_unit(proc.pid, lambda: measure_api.creates(url, shop.api_key, shop.domain, SECONDS, CLIENTS))
    finally:
        await env.stop(proc)


async def extras(env: BenchEnv, api_pid: int, api_url: str, shop: Any) -> dict[str, Any]:
    """HTTP alone (the bare server) and the API's stages over one more run of
    creates at 32 clients (sampled, so not one of the measured runs)."""
    bare_runs, bare_cpu = await bare_http(env, shop)
    sampled, _ = await asyncio.gather(
        profile.record(api_pid, SECONDS, RESULTS / "api-create-stacks.txt"),
        measure_api.creates(api_url, shop.api_key, shop.domain, SECONDS, CLIENTS))
    return {"bare_http": {"runs": bare_runs, "cpu_ms": bare_cpu},
            "api_stages": sampled if isinstance(sampled, str) else dict(sampled)}


async def run() -> dict[str, Any]:
    scale = float(os.environ.get("BENCH_SCALE", "0.05"))
    env = BenchEnv()
    await env.start()
    try:
        await migrate(env.db_url)
        shop = await seed.large_world(env.db_url, scale, orders=False)
        api_url, api_proc = await env.start_api()
        await measure_api.creates(api_url, shop.api_key, shop.domain, 2, CLIENTS)  # warm: caches, statements, pool
        create_runs, create_cpu = await per_unit(api_proc.pid, lambda: measure_api.creates(
            api_url, shop.api_key, shop.domain, SECONDS, CLIENTS))
        floor_runs, floor_cpu = await floor(env.db_url, shop, api_proc.pid)
        return {"machine": await machine(env.base_url), "scale": scale, "clients": CLIENTS,
                "cores": os.cpu_count() or 1, "creates": {"runs": create_runs, "cpu_ms": create_cpu},
                "floor": {"runs": floor_runs, "cpu_ms": floor_cpu},
                **await extras(env, api_proc.pid, api_url, shop),
                "load_average_end": os.getloadavg()[0]}
    finally:
        await env.close()


def findings(r: dict[str, Any]) -> list[str]:
    """The budget in three sentences: what the goal allows, what is not ours
    to cut, what is left for the API's own work."""
    floor = median([x["per_second"] for x in r["floor"]["runs"]])
    cores, c, b = r["cores"], r["creates"]["cpu_ms"], r["bare_http"]["cpu_ms"]
    budget, total = 1000 * cores / (GOAL * floor), sum(c.values())
    fixed = c["bench client"] + c["postgres"] + c["postgres server"] + b["api"]
    return [
        f"At the goal's rate the {cores} cores allow {budget:.3f} ms of CPU per create in all;"
        f" a create costs {total:.3f} ms (those cores' ceiling: {1000 * cores / total:,.0f}/s,"
        f" {cores / total * 1000 / floor:.2f} of the floor).",
        f"Not ours to cut while we serve HTTP with aiohttp and PostgreSQL writes the rows: the client"
        f" {c['bench client']:.3f} + PostgreSQL {c['postgres'] + c['postgres server']:.3f} + HTTP alone"
        f" (bare server) {b['api']:.3f} = {fixed:.3f} ms.",
        f"Left for the API's own work at the goal: {budget - fixed:.3f} ms; it spends"
        f" {c['api'] - b['api']:.3f} ms beyond HTTP alone.",
    ]


def stage_rows(r: dict[str, Any]) -> list[tuple[str, float, float]] | str:
    """(stage, share, ms per create) largest first, the libc overlay last; or why not measured."""
    stages = r["api_stages"]
    if isinstance(stages, str):
        return stages
    api = r["creates"]["cpu_ms"]["api"]
    by_stage = {k: v for k, v in stages.items() if k != profile.SYSCALLS}
    samples = sum(by_stage.values()) or 1
    rows = [(k, n / samples, api * n / samples) for k, n in sorted(by_stage.items(), key=lambda kv: -kv[1])]
    libc = stages.get(profile.SYSCALLS, 0)
    return [*rows, (f"of all these, in {profile.SYSCALLS}", libc / samples, api * libc / samples)]


def render(r: dict[str, Any]) -> str:
    rate = median([x["per_second"] for x in r["creates"]["runs"]])
    floor = median([x["per_second"] for x in r["floor"]["runs"]])
    bare = median([x["per_second"] for x in r["bare_http"]["runs"]])
    c, b, f = r["creates"]["cpu_ms"], r["bare_http"]["cpu_ms"], r["floor"]["cpu_ms"]
    lines = [
        f"Creates at {r['clients']} clients: {rate:,.0f}/s = {rate / floor:.2f} of the floor ({floor:,.0f}/s); "
        f"goal {GOAL:.0%} = {GOAL * floor:,.0f}/s. Runs: "
        + ", ".join(f"{x['per_second']:,.0f}/s (p99 {x['p99_ms']} ms)" for x in r["creates"]["runs"]),
        f"Scale {r['scale']:g}; load average at the end {r['load_average_end']:.1f}; {r['cores']} cores.",
        "",
        "| CPU per unit (ms) | create | single-row INSERT (floor) | bare aiohttp POST |",
        "|---|---:|---:|---:|",
    ]
    for name, label in (("bench client", "bench client (aiohttp client)"), ("api", "API process"),
                        ("postgres", "PostgreSQL backends"), ("postgres server", "PostgreSQL's own processes")):
        lines.append(f"| {label} | {c[name]:.3f} | {f[name]:.3f} | {b[name]:.3f} |")
    lines += [f"| **all** | **{sum(c.values()):.3f}** | **{sum(f.values()):.3f}** | **{sum(b.values()):.3f}** |",
              f"| rate / s | {rate:,.0f} | {floor:,.0f} | {bare:,.0f} |", ""]
    lines += [f"- {text}" for text in findings(r)]
    rows = stage_rows(r)
    if isinstance(rows, str):
        return "\n".join([*lines, f"- The API by stage: not measured ({rows})."])
    lines += ["", "| API stage (the innermost Python frame decides) | share | ms per create |", "|---|---:|---:|"]
    lines += [f"| {stage} | {share:.0%} | {ms:.3f} |" for stage, share, ms in rows]
    return "\n".join(lines)


def main() -> None:
    result = asyncio.run(run())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "budget.json").write_text(json.dumps(result, indent=2, default=str))
    print(render(result))


if __name__ == "__main__":
    main()
