"""products_in_demand: variants ranked by waiting signups.

Without dates it reads report_variant_demand (all-time counters per variant,
per channel and over every channel as 'all'): a page is one index range of
the sort order. With from/to it sums report_variant_demand_monthly over the
whole months inside the range and report_signups_daily's variant rows over
the days of its partial months, so a long range costs months, not days."""
from __future__ import annotations

import datetime as dt
from typing import Any

from shared_models.listing import Where
from shared_models.reports.window import Window
from shared_models.naming import DISPLAY_NAME_SQL

TITLE = DISPLAY_NAME_SQL
TIMESTAMP = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

# sort name -> ORDER BY over d (ties: variant id, then product id)
ORDER = {
    "pending": "d.pending DESC, d.variant_id, d.product_id",
    "total": "d.total DESC, d.variant_id, d.product_id",
    "last_requested_at": "d.last_requested_at DESC, d.variant_id, d.product_id",
}

ALL_TIME = """
SELECT variant_id, product_id, total, pending, last_requested_at
FROM report_variant_demand
WHERE {where}
"""
# Whole months from the monthly rollup, the partial months at the edges by day.
BY_DAYS = """
SELECT variant_id, product_id, sum(total)::integer AS total, sum(pending)::integer AS pending,
       max(last_requested_at) AS last_requested_at
FROM (
    SELECT variant_id, product_id, total, pending, last_requested_at
    FROM report_variant_demand_monthly WHERE {months}
    UNION ALL
    SELECT variant_id, product_id, signups, CASE WHEN state = 'pending' THEN signups ELSE 0 END, last_created_at
    FROM report_signups_daily WHERE {days}
) u
GROUP BY variant_id, product_id
HAVING sum(total) > 0
"""
ROWS = f"""
SELECT d.variant_id AS shopify_variant_id, d.product_id AS shopify_product_id,
       v.inventory_item_id AS shopify_inventory_item_id, {TITLE} AS title,
       d.total::bigint AS total, d.pending::bigint AS pending,
       {TIMESTAMP.format("d.last_requested_at")} AS last_requested_at
FROM ({{source}}) d
LEFT JOIN variants v ON v.shop_id = {{shop}} AND v.variant_id = d.variant_id
ORDER BY {{order}}
"""
COUNT = "SELECT count(*) FROM ({source}) d"


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _filters(w: Where, query: dict[str, Any]) -> None:
    if query.get("variant_id") is not None:
        w.add("variant_id = {}", query["variant_id"])
    if query.get("product_id") is not None:
        w.add("product_id = {}", query["product_id"])


def _by_days(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    """[first, last] as whole months [lo, hi) plus the days before lo and from hi on."""
    first, last = window.first, window.last
    lo = first if first is None or first.day == 1 else _next_month(first)
    hi = _month_start(last + dt.timedelta(days=1)) if last is not None else None
    if lo is not None and hi is not None and lo >= hi:
        lo = hi = first  # no whole month inside: every day from the daily rollup
    months = Where("shop_id", shop_id).add("channel = {}", query.get("channel") or "all")
    if lo is not None:
        months.add("month >= {}", lo)
    if hi is not None:
        months.add("month < {}", hi)
    _filters(months, query)
    days = Where("shop_id", shop_id)
    days.args = months.args  # one argument list for both halves
    days.add("variant_id <> {}", 0)
    edges = []
    if lo is not None:
        edges.append(f"day < {days.next_placeholder()}")
        days.args.append(lo)
    if hi is not None:
        edges.append(f"day >= {days.next_placeholder()}")
        days.args.append(hi)
    days.clauses.append("(" + " OR ".join(edges) + ")")
    if first is not None:
        days.add("day >= {}", first)
    if last is not None:
        days.add("day <= {}", last)
    if query.get("channel"):
        days.add("channel = {}", query["channel"])
    _filters(days, query)
    return BY_DAYS.format(months=months.sql, days=days.sql), days.args


def _source(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    if window.bounded:
        return _by_days(shop_id, query, window)
    w = Where("shop_id", shop_id).add("channel = {}", query.get("channel") or "all")
    w.clauses.append("total > 0")
    _filters(w, query)
    return ALL_TIME.format(where=w.sql), w.args


def rows(shop_id: Any, query: dict[str, Any], window: Window, *, paged: bool) -> tuple[str, list[Any]]:
    """Every row (CSV), or the page query["page"] of query["per_page"] rows."""
    source, args = _source(shop_id, query, window)
    sql = ROWS.format(source=source, shop="$1", order=ORDER[query["sort"]])
    if not paged:
        return sql, args
    n = len(args)
    return (f"{sql} LIMIT ${n + 1} OFFSET ${n + 2}",
            [*args, query["per_page"], (query["page"] - 1) * query["per_page"]])


def count(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    source, args = _source(shop_id, query, window)
    return COUNT.format(source=source), args
