"""Each report's JSON latency, and CSV rows per second against PostgreSQL's
own COPY of the same query (the floor)."""
from __future__ import annotations

import time
from typing import Any

import aiohttp
import asyncpg

from api_service.reports import respond
from shared_models.reports import demand
from api_service.reports.manifest import REPORTS
from api_service.reports.schemas import DemandQuery
from shared_models.reports.window import resolve
from bench.stats import median, ms

BASE = "/api/v2/external/back_in_stock/reports"
REPORT_QUERIES = {
    "summary": {}, "signups": {"granularity": "day"}, "notifications": {"granularity": "week"},
    "conversions": {"granularity": "month"}, "products_in_demand": {"per_page": "200"},
    "signups (365 days, by variant)": {"from": "2025-11-27", "to": "2026-11-26", "variant_id": "1234"},
}
RUNS = 5


async def _get(session: aiohttp.ClientSession, path: str, params: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = 0
    async with session.get(path, params=params) as resp:
        assert resp.status == 200, (path, params, resp.status, await resp.text())
        async for line in resp.content:
            rows += 1 if line else 0
    return time.perf_counter() - started, rows


async def reports(api_url: str, db_url: str, large: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"json": {}, "csv": {}}
    async with aiohttp.ClientSession(api_url, headers={"X-Auth-Token": large.api_key}) as session:
        for label, params in REPORT_QUERIES.items():
            name = label.split(" ")[0]
            times = [(await _get(session, f"{BASE}/{name}", params))[0] for _ in range(RUNS)]
            out["json"][label] = {"ms": ms(median(times))}
        csv_runs = [await _get(session, f"{BASE}/products_in_demand", {"format": "csv"}) for _ in range(RUNS)]
    rows = csv_runs[0][1] - 1  # minus the header
    api_rate = rows / median([t for t, _ in csv_runs])
    out["csv"]["products_in_demand"] = {"rows": rows, "per_second": api_rate,
                                        "floor_per_second": await copy_floor(db_url, large, rows)}
    return out


async def copy_floor(db_url: str, large: Any, rows: int) -> float:
    """COPY (the report's CSV query) TO STDOUT, read by asyncpg and discarded."""
    query = DemandQuery().load({"format": "csv"})
    window = resolve(query, "UTC", REPORTS["products_in_demand"].default_days)
    sql, args = demand.rows(large.shop_id, query, window, paged=False)
    copy_sql = respond.csv_query(sql, list(REPORTS["products_in_demand"].columns))
    conn = await asyncpg.connect(db_url)
    times = []

    async def sink(chunk: bytes) -> None:
        return None

    for _ in range(RUNS):
        started = time.perf_counter()
        await conn.copy_from_query(copy_sql, *args, output=sink, format="csv", header=True)
        times.append(time.perf_counter() - started)
    await conn.close()
    return rows / median(times)
