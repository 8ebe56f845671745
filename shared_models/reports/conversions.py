"""The conversions report and totals, from order_attributions (one row per
attributed order line; a cancelled order has none). Orders are few next to
signups and alerts, so these aggregate raw rows through the
(shop_id, ordered_at) / (shop_id, variant_id|product_id, ordered_at) indexes."""
from __future__ import annotations

from typing import Any

from shared_models.listing import Where
from shared_models.reports.window import Window

TITLE = """(SELECT v.product_title FROM variants v
  WHERE v.shop_id = c.shop_id AND v.product_id = c.shopify_product_id AND v.product_title IS NOT NULL
  ORDER BY v.variant_id LIMIT 1)"""

ROWS = f"""
SELECT c.period, c.shopify_product_id, {TITLE} AS product_title, c.confidence, c.orders, c.units,
       c.revenue::numeric(14, 2)::text AS revenue, {{currency}}::text AS currency
FROM (
    SELECT a.shop_id, to_char(date_trunc({{granularity}}::text, a.ordered_at AT TIME ZONE {{tz}}::text), 'YYYY-MM-DD')
               AS period,
           a.product_id AS shopify_product_id, a.confidence,
           count(DISTINCT a.order_id)::bigint AS orders, sum(a.quantity)::bigint AS units,
           sum(a.revenue) AS revenue
    FROM order_attributions a
    WHERE {{where}}
    GROUP BY a.shop_id, 2, 3, 4
) c
ORDER BY c.period, c.shopify_product_id, c.confidence
"""

TOTALS = """
SELECT count(DISTINCT a.order_id)::bigint AS conversions,
       COALESCE(sum(a.revenue), 0)::numeric(14, 2)::text AS recovered_revenue
FROM order_attributions a
WHERE {where}
"""


def where(shop_id: Any, query: dict[str, Any], window: Window) -> Where:
    w = Where("a.shop_id", shop_id)
    if query.get("variant_id") is not None:
        w.add("a.variant_id = {}", query["variant_id"])
    if query.get("product_id") is not None:
        w.add("a.product_id = {}", query["product_id"])
    if query.get("channel"):
        w.add("a.channel = {}", query["channel"])
    if window.start is not None:
        w.add("a.ordered_at >= {}", window.start)
    if window.end is not None:
        w.add("a.ordered_at < {}", window.end)
    return w


def rows(shop_id: Any, query: dict[str, Any], window: Window, currency: str) -> tuple[str, list[Any]]:
    w = where(shop_id, query, window)
    n = len(w.args)
    sql = ROWS.format(where=w.sql, granularity=f"${n + 1}", tz=f"${n + 2}", currency=f"${n + 3}")
    return sql, [*w.args, query["granularity"], window.tz, currency]


def totals(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    w = where(shop_id, query, window)
    return TOTALS.format(where=w.sql), w.args
