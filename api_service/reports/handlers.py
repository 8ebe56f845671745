"""back_in_stock_reports_list and back_in_stock_reports_{report}: JSON, or
CSV streamed from PostgreSQL with the same columns."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiohttp import web

from shared_models import listing
from api_service.context import Call
from api_service.reports import respond
from shared_models.reports import conversions, demand, series, summary
from shared_models.reports.reading import json_rows, reading
from api_service.reports.manifest import REPORTS, manifest
from shared_models.reports.window import Window, resolve

Handler = Callable[[Call], Awaitable[Any]]


async def list_reports(call: Call) -> dict[str, Any]:
    return manifest()


def _window(call: Call, name: str) -> Window:
    return resolve(call.query, call.shop.timezone, REPORTS[name].default_days)


def _meta(call: Call, window: Window, rows: int) -> dict[str, Any]:
    return {**window.as_json(), "granularity": call.query["granularity"], "timezone": call.shop.timezone,
            "total_count": rows}


async def _series(call: Call, name: str, sql: str, args: list[Any], window: Window) -> Any:
    if respond.wants_csv(call):
        return await respond.stream_csv(call, sql, args, list(REPORTS[name].columns), window.filename(name))
    async with reading(call.pool, call.shop.shop_id) as conn:
        rows = await json_rows(conn, sql, args)
    return {name: rows, "meta": _meta(call, window, len(rows))}


async def summary_report(call: Call) -> dict[str, Any] | web.StreamResponse:
    window = _window(call, "summary")
    async with reading(call.pool, call.shop.shop_id) as conn:
        totals = await summary.totals(conn, call.shop, call.query, window)
    if respond.wants_csv(call):
        return await respond.single_row_csv(call, summary.flat(totals), list(REPORTS["summary"].columns),
                                            window.filename("summary"))
    return totals


async def signups_report(call: Call) -> Any:
    window = _window(call, "signups")
    sql, args = series.signups(call.shop.shop_id, call.query, window)
    return await _series(call, "signups", sql, args, window)


async def notifications_report(call: Call) -> Any:
    window = _window(call, "notifications")
    sql, args = series.notifications(call.shop.shop_id, call.query, window)
    return await _series(call, "notifications", sql, args, window)


async def conversions_report(call: Call) -> Any:
    window = _window(call, "conversions")
    sql, args = conversions.rows(call.shop.shop_id, call.query, window, call.shop.currency)
    return await _series(call, "conversions", sql, args, window)


async def products_in_demand(call: Call) -> Any:
    name, q = "products_in_demand", call.query
    window = _window(call, name)
    if respond.wants_csv(call):
        sql, args = demand.rows(call.shop.shop_id, q, window, paged=False)
        return await respond.stream_csv(call, sql, args, list(REPORTS[name].columns), window.filename(name))
    sql, args = demand.rows(call.shop.shop_id, q, window, paged=True)
    count_sql, count_args = demand.count(call.shop.shop_id, q, window)
    async with reading(call.pool, call.shop.shop_id) as conn:
        rows = await json_rows(conn, sql, args)
        total = await conn.fetchval(count_sql, *count_args)
    return {name: rows, "meta": {**listing.meta(q["page"], q["per_page"], total, True),
                                 **window.as_json(), "sort": q["sort"]}}


HANDLERS: dict[str, Handler] = {
    "summary": summary_report,
    "signups": signups_report,
    "notifications": notifications_report,
    "conversions": conversions_report,
    "products_in_demand": products_in_demand,
}
