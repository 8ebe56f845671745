"""orders/create and orders/cancelled: conversions.

An order counts once, however often (and under whatever webhook ids) it is
delivered: the orders row, keyed by (shop_id, order_id), is the arbiter. Each
line whose variant was alerted (a `sent` notification) within the 7 days
before the order is attributed to one alert:

- high: the order carries utm_source=back_in_stock (landing_site or
  note_attributes): the alert utm_content names when it is one of this
  variant's in the window, else the buyer's latest, else the variant's latest;
- medium: no UTM, but the variant's alert went to the same customer (email,
  case-insensitive, or Shopify customer id): the latest such alert;
- otherwise the line is not counted.

The credited signup becomes converted (reports); the buyer's signups on the
ordered variants (and the one utm_content names) get purchased_at, so
reminders skip them. orders/cancelled removes the order's attributions and
the purchases it set. Cancellation may arrive first: it leaves a stub that
makes the later orders/create count nothing.
"""
from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from dispatcher.restocks import Started
from dispatcher.webhooks.order_payload import Line, Order, parse_order
from shared_models.context import Shop
from shared_models.payload import JsonObject, as_int, as_time
from shared_models.rows import select_list
from shared_models.rows.webhooks import AlertRow, WebhookEvent

WINDOW = dt.timedelta(days=7)
# The alert queries' rows: shared_models.rows.webhooks.AlertRow.
ALERT = select_list(AlertRow.columns, "n")

INSERT_ORDER = """
INSERT INTO orders (shop_id, order_id, name, email, shopify_customer_id, landing_site, note_attributes,
                    currency, ordered_at, cancelled_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (shop_id, order_id) DO NOTHING
RETURNING order_id
"""
LOCK_ORDER = "SELECT ordered_at, cancelled_at FROM orders WHERE shop_id = $1 AND order_id = $2 FOR UPDATE"
FILL_STUB = """
UPDATE orders SET name = $3, email = $4, shopify_customer_id = $5, landing_site = $6, note_attributes = $7,
    currency = $8, ordered_at = $9
WHERE shop_id = $1 AND order_id = $2
"""
NAMED_ALERT = f"""
SELECT {ALERT} FROM notifications n
WHERE n.shop_id = $1 AND n.notification_id = $2 AND n.variant_id = $3 AND n.status = 'sent'
  AND n.sent_at >= $4 AND n.sent_at <= $5
"""
# customers (email / Shopify id indexes) -> their signups -> those signups' alerts
BUYER_ALERT = f"""
SELECT {ALERT}
FROM customers c
JOIN signups s ON s.shop_id = c.shop_id AND s.customer_id = c.customer_id
JOIN notifications n ON n.shop_id = s.shop_id AND n.signup_id = s.signup_id
WHERE c.shop_id = $1 AND (lower(c.email) = lower($2) OR c.shopify_customer_id = $3)
  AND n.variant_id = $4 AND n.status = 'sent' AND n.sent_at >= $5 AND n.sent_at <= $6
ORDER BY n.sent_at DESC, n.notification_id DESC
LIMIT 1
"""
VARIANT_ALERT = f"""
SELECT {ALERT} FROM notifications n
WHERE n.shop_id = $1 AND n.variant_id = $2 AND n.status = 'sent' AND n.sent_at >= $3 AND n.sent_at <= $4
ORDER BY n.sent_at DESC, n.notification_id DESC
LIMIT 1
"""
INSERT_ATTRIBUTIONS = """
INSERT INTO order_attributions (shop_id, order_id, line_id, variant_id, product_id, quantity, revenue,
    notification_id, signup_id, channel, confidence, ordered_at)
SELECT $1, $2, r.line_id, r.variant_id, r.product_id, r.quantity, r.revenue, r.nid, r.sid, r.channel,
       r.confidence, $3
FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::int[], $8::numeric[], $9::uuid[], $10::uuid[],
            $11::text[], $12::text[])
     AS r(line_id, variant_id, product_id, quantity, revenue, nid, sid, channel, confidence)
ON CONFLICT DO NOTHING
"""
CONVERTED = """
UPDATE signups SET converted_at = LEAST(COALESCE(converted_at, $3), $3)
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""
BUYER_PURCHASED = """
UPDATE signups s SET purchased_at = $4, purchase_order_id = $5
FROM customers c
WHERE c.shop_id = $1 AND (lower(c.email) = lower($2) OR c.shopify_customer_id = $3)
  AND s.shop_id = c.shop_id AND s.customer_id = c.customer_id AND s.variant_id = ANY($6::bigint[])
  AND s.purchased_at IS NULL AND s.created_at <= $4
"""
NAMED_PURCHASED = """
UPDATE signups SET purchased_at = $3, purchase_order_id = $4
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[]) AND purchased_at IS NULL
"""
MARK_ATTRIBUTED = """
UPDATE orders SET attributed_lines = $3, tag = $4, tag_status = $5,
    tag_next_at = CASE WHEN $5 = 'pending' THEN now() END
WHERE shop_id = $1 AND order_id = $2
"""
CANCEL_STUB = """
INSERT INTO orders (shop_id, order_id, cancelled_at) VALUES ($1, $2, $3)
ON CONFLICT (shop_id, order_id) DO NOTHING
RETURNING order_id
"""
CANCEL = """
UPDATE orders SET cancelled_at = $3, attributed_lines = 0,
    tag_status = CASE WHEN tag_status = 'pending' THEN 'skipped' ELSE tag_status END
WHERE shop_id = $1 AND order_id = $2
"""
DROP_ATTRIBUTIONS = "DELETE FROM order_attributions WHERE shop_id = $1 AND order_id = $2 RETURNING signup_id"
RECOMPUTE_CONVERTED = """
UPDATE signups s SET converted_at = (
    SELECT min(a.ordered_at) FROM order_attributions a WHERE a.shop_id = s.shop_id AND a.signup_id = s.signup_id)
WHERE s.shop_id = $1 AND s.signup_id = ANY($2::uuid[])
"""
CLEAR_PURCHASES = """
UPDATE signups SET purchased_at = NULL, purchase_order_id = NULL WHERE shop_id = $1 AND purchase_order_id = $2
"""


async def _credit(conn: asyncpg.Connection, shop_id: uuid.UUID, order: Order, line: Line, at: dt.datetime
                  ) -> tuple[AlertRow, str] | None:
    """The alert a line is attributed to, and the confidence; None: not counted."""
    since = at - WINDOW
    buyer = order.email is not None or order.customer_id is not None
    alert: AlertRow | None
    if order.from_alert:
        if order.named_notification is not None:
            alert = await conn.fetchrow(NAMED_ALERT, shop_id, order.named_notification, line.variant_id, since, at,
                                        record_class=AlertRow)
            if alert is not None:
                return alert, "high"
        alert = await conn.fetchrow(BUYER_ALERT, shop_id, order.email, order.customer_id, line.variant_id,
                                    since, at, record_class=AlertRow) if buyer else None
        alert = alert or await conn.fetchrow(VARIANT_ALERT, shop_id, line.variant_id, since, at,
                                             record_class=AlertRow)
        return (alert, "high") if alert is not None else None
    if not buyer:
        return None
    alert = await conn.fetchrow(BUYER_ALERT, shop_id, order.email, order.customer_id, line.variant_id, since, at,
                                record_class=AlertRow)
    return (alert, "medium") if alert is not None else None


async def _attribute(conn: asyncpg.Connection, shop: Shop, order: Order, at: dt.datetime) -> list[str]:
    shop_id = shop.shop_id
    rows: dict[int, tuple[Line, AlertRow, str]] = {}
    for line in order.lines:
        credit = await _credit(conn, shop_id, order, line, at)
        if credit is not None and line.line_id not in rows:
            rows[line.line_id] = (line, *credit)
    if rows:
        cols = list(zip(*[(ln.line_id, ln.variant_id, ln.product_id or alert.product_id, ln.quantity,
                           ln.revenue, alert.notification_id, alert.signup_id, alert.channel, confidence)
                          for ln, alert, confidence in rows.values()]))
        await conn.execute(INSERT_ATTRIBUTIONS, shop_id, order.order_id, at, *cols)
        await conn.execute(CONVERTED, shop_id, list({a.signup_id for _, a, _ in rows.values()}), at)
        named = [a.signup_id for _, a, _ in rows.values() if a.notification_id == order.named_notification]
        if named:
            await conn.execute(NAMED_PURCHASED, shop_id, named, at, order.order_id)
        tag_rule = shop.sending_settings["tagging"]["order_tag"]
        tag = tag_rule["tag"] if tag_rule["enabled"] and tag_rule.get("tag") else None
        status = None if tag is None else ("pending" if shop.shopify_token else "skipped")
        await conn.execute(MARK_ATTRIBUTED, shop_id, order.order_id, len(rows), tag, status)
    if order.email is not None or order.customer_id is not None:
        await conn.execute(BUYER_PURCHASED, shop_id, order.email, order.customer_id, at, order.order_id,
                           list({ln.variant_id for ln in order.lines}))
    return [confidence for _, _, confidence in rows.values()]


async def order_create(conn: asyncpg.Connection, shop: Shop, payload: JsonObject, event: WebhookEvent
                       ) -> tuple[str, list[Started]]:
    order = parse_order(payload)
    if order is None:
        return "ignored: no order id", []
    at = order.ordered_at or event.triggered_at or event.received_at
    args = (shop.shop_id, order.order_id, order.name, order.email, order.customer_id, order.landing_site,
            order.note_attributes, order.currency, at)
    if await conn.fetchval(INSERT_ORDER, *args, order.cancelled_at) is None:
        existing = await conn.fetchrow(LOCK_ORDER, shop.shop_id, order.order_id)
        if existing["ordered_at"] is not None:
            return "ignored: order already recorded", []
        await conn.execute(FILL_STUB, *args)  # orders/cancelled came first
        return "order recorded: already cancelled", []
    if order.cancelled_at is not None:
        return "order recorded: cancelled", []
    confidences = await _attribute(conn, shop, order, at)
    if not confidences:
        return "order recorded: no line attributed", []
    return f"order attributed: {len(confidences)} lines ({', '.join(sorted(set(confidences)))})", []


async def order_cancelled(conn: asyncpg.Connection, shop: Shop, payload: JsonObject, event: WebhookEvent
                          ) -> tuple[str, list[Started]]:
    order_id = as_int(payload.get("id"))
    if order_id is None:
        return "ignored: no order id", []
    shop_id = shop.shop_id
    at = as_time(payload.get("cancelled_at")) or event.triggered_at or event.received_at
    if await conn.fetchval(CANCEL_STUB, shop_id, order_id, at) is not None:
        return "order cancelled before it was recorded", []
    existing = await conn.fetchrow(LOCK_ORDER, shop_id, order_id)
    if existing["cancelled_at"] is not None:
        return "ignored: order already cancelled", []
    await conn.execute(CANCEL, shop_id, order_id, at)
    signups = list({r["signup_id"] for r in await conn.fetch(DROP_ATTRIBUTIONS, shop_id, order_id)})
    if signups:
        await conn.execute(RECOMPUTE_CONVERTED, shop_id, signups)
    await conn.execute(CLEAR_PURCHASES, shop_id, order_id)
    return f"order cancelled: {len(signups)} signups no longer converted", []
