"""products_in_demand: variants ranked by waiting signups.

Without dates it reads report_variant_demand (all-time counters per variant,
per channel and over every channel as 'all'): a page is one index range of
the sort order. With from/to it sums the variant rows of
report_signups_daily over those days."""
from __future__ import annotations

from typing import Any

from api_service.listing import Where
from api_service.reports.window import Window

TITLE = """CASE WHEN COALESCE(v.product_title, '') = '' THEN NULL
     WHEN COALESCE(v.variant_title, '') NOT IN ('', 'Default Title') THEN v.product_title || ' - ' || v.variant_title
     ELSE v.product_title END"""
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
BY_DAYS = """
SELECT variant_id, product_id, sum(signups)::integer AS total,
       COALESCE(sum(signups) FILTER (WHERE state = 'pending'), 0)::integer AS pending,
       max(last_created_at) AS last_requested_at
FROM report_signups_daily
WHERE {where}
GROUP BY variant_id, product_id
HAVING sum(signups) > 0
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


def _source(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, Where]:
    w = Where("shop_id", shop_id)
    if window.bounded:
        w.add("variant_id <> {}", 0)
        if window.first is not None:
            w.add("day >= {}", window.first)
        if window.last is not None:
            w.add("day <= {}", window.last)
        template = BY_DAYS
    else:
        w.add("channel = {}", query.get("channel") or "all")
        w.clauses.append("total > 0")
        template = ALL_TIME
    if window.bounded and query.get("channel"):
        w.add("channel = {}", query["channel"])
    if query.get("variant_id") is not None:
        w.add("variant_id = {}", query["variant_id"])
    if query.get("product_id") is not None:
        w.add("product_id = {}", query["product_id"])
    return template.format(where=w.sql), w


def rows(shop_id: Any, query: dict[str, Any], window: Window, *, paged: bool) -> tuple[str, list[Any]]:
    """Every row (CSV), or the page query["page"] of query["per_page"] rows."""
    source, w = _source(shop_id, query, window)
    sql = ROWS.format(source=source, shop="$1", order=ORDER[query["sort"]])
    if not paged:
        return sql, w.args
    n = len(w.args)
    return (f"{sql} LIMIT ${n + 1} OFFSET ${n + 2}",
            [*w.args, query["per_page"], (query["page"] - 1) * query["per_page"]])


def count(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    source, w = _source(shop_id, query, window)
    return COUNT.format(source=source), w.args
