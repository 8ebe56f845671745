"""customers/redact and customers/data_request: finding everything we hold on
one person, then erasing it or exporting it.

The person is matched by Shopify customer id, email (case-insensitive) and
phone (as given and in E.164), and by the contact details of the customer
records so matched. A record matched by phone alone that carries another
email than the request's is someone else who gave that phone: it loses the
phone (and its signups to it), nothing more. Found: their customer records, every signup whose contact is
one of those (under any customer: an SMS signup to their phone held by
another customer), the contact on their notifications, the orders they
placed and the orders the request names (orders_to_redact), the stored
webhook payloads, Idempotency-Key replays and data-request exports that
mention them.

Erasing keeps what reports count: notifications keep their status, orders
their revenue and attributions; only what names the person goes. Redacts
are rare, so the text matches (notifications' contact, stored payloads,
replays) scan the shop's rows: no index on them is worth its writes."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import asyncpg

from shared_models import suppression
from shared_models.contacts import normalize_phone
from shared_models.payload import JsonObject, as_int, as_text

# One indexed lookup per key (UNION, not OR: each arm has its index).
_CUSTOMER = "SELECT customer_id, email, phone, push_token, shopify_customer_id FROM customers WHERE shop_id = $1"
MATCH_CUSTOMERS = f"""
{_CUSTOMER} AND shopify_customer_id = $2
UNION {_CUSTOMER} AND lower(email) = ANY($3::text[])
UNION {_CUSTOMER} AND phone = ANY($4::text[])
"""
MATCH_SIGNUPS = """
SELECT signup_id FROM signups WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])
UNION SELECT signup_id FROM signups WHERE shop_id = $1 AND lower(contact) = ANY($3::text[])
"""
MATCH_ORDERS = """
SELECT order_id FROM orders WHERE shop_id = $1 AND order_id = ANY($2::bigint[])
UNION SELECT order_id FROM orders WHERE shop_id = $1 AND shopify_customer_id = $3
UNION SELECT order_id FROM orders WHERE shop_id = $1 AND lower(email) = ANY($4::text[])
"""
NOTIFICATIONS = """
SELECT notification_id FROM notifications
WHERE shop_id = $1 AND (customer_id = ANY($2::uuid[]) OR signup_id = ANY($3::uuid[])
                        OR lower(contact) = ANY($4::text[]))
"""
# A provider's error can quote the address: it goes with the contact.
ERASE_NOTIFICATIONS = """
UPDATE notifications SET contact = NULL, customer_id = NULL, error = NULL
WHERE shop_id = $1 AND notification_id = ANY($2::uuid[])
"""
DROP_TARGETS = "DELETE FROM job_targets WHERE shop_id = $1 AND signup_id = ANY($2::uuid[]) AND state = 'queued'"
DROP_SIGNUPS = "DELETE FROM signups WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])"
DROP_CUSTOMERS = "DELETE FROM customers WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])"
DROP_PHONES = """
UPDATE customers SET phone = NULL, updated_at = now() WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])
"""
# Revenue and attributions stay (order_attributions hold no personal data).
ERASE_ORDERS = """
UPDATE orders SET email = NULL, shopify_customer_id = NULL, name = NULL, note_attributes = NULL,
    landing_site = NULL
WHERE shop_id = $1 AND order_id = ANY($2::bigint[])
"""
# `needles`: lower-case texts whose presence names the person.
MENTIONS = "EXISTS (SELECT 1 FROM unnest($2::text[]) AS n(t) WHERE strpos(lower({col}), n.t) > 0)"
SCRUB_PAYLOADS = f"""
UPDATE webhook_events SET payload = '{{}}'::jsonb
WHERE shop_id = $1 AND payload <> '{{}}'::jsonb
  AND ({MENTIONS.format(col="payload::text")}
       OR (topic LIKE 'orders/%' AND payload ->> 'id' = ANY($3::text[])))
"""
# The key stays used (a replay must not create the person again); its answer is gone.
ERASED_REPLAY = b'{"errors": ["The response to this request was erased (customers/redact)."]}'
SCRUB_REPLAYS = f"""
UPDATE idempotency_keys SET status_code = 410, response_body = $3
WHERE shop_id = $1 AND response_body IS NOT NULL
  AND {MENTIONS.format(col="convert_from(response_body, 'UTF8')")}
"""
DROP_EXPORTS = f"DELETE FROM data_requests WHERE shop_id = $1 AND {MENTIONS.format(col='export::text')}"

EXPORT_CUSTOMERS = """
SELECT customer_id, email, phone, push_token, name, accepts_marketing, locale, country_code,
       shopify_customer_id, created_at, updated_at
FROM customers WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])
"""
EXPORT_SIGNUPS = """
SELECT signup_id, customer_id, variant_id, product_id, channel, contact, quantity, source, status,
       optin_required, optin_confirmed_at, notifications_sent, last_notified_at, unsubscribed_at, created_at
FROM signups WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""
EXPORT_NOTIFICATIONS = """
SELECT notification_id, signup_id, channel, contact, status, blocked_reason, trigger, variant_id, product_id,
       created_at, sent_at, clicked_at
FROM notifications WHERE shop_id = $1 AND notification_id = ANY($2::uuid[])
"""
EXPORT_ORDERS = """
SELECT o.order_id, o.name, o.email, o.shopify_customer_id, o.currency, o.ordered_at, o.cancelled_at,
       o.note_attributes,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('variant_id', a.variant_id, 'quantity', a.quantity,
                                                     'revenue', a.revenue, 'channel', a.channel))
                 FROM order_attributions a WHERE a.shop_id = o.shop_id AND a.order_id = o.order_id),
                '[]'::jsonb) AS attributed_lines
FROM orders o WHERE o.shop_id = $1 AND o.order_id = ANY($2::bigint[])
"""
STORE_EXPORT = """
INSERT INTO data_requests (shop_id, request_id, webhook_id, shopify_request_id, export)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (shop_id, webhook_id) DO NOTHING
"""


@dataclass
class Person:
    shopify_id: int | None
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    order_ids: list[int] = field(default_factory=list)

    @property
    def contacts(self) -> list[str]:
        return sorted(self.emails | self.phones)


@dataclass
class Found:
    customers: list[uuid.UUID]
    sharing_phone: list[uuid.UUID]  # other people's records that held the phone
    signups: list[uuid.UUID]
    notifications: list[uuid.UUID]
    orders: list[int]
    contacts: list[str]


def _add_phone(phones: set[str], raw: object) -> None:
    text = as_text(raw, 40)
    if text:
        phones.add(text.lower())
        normalized = normalize_phone(text)
        if normalized:
            phones.add(normalized)


def person(payload: JsonObject, orders_key: str) -> Person:
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    found = Person(as_int(customer.get("id")))
    email = as_text(customer.get("email"), 320)
    if email:
        found.emails.add(email.lower())
    _add_phone(found.phones, customer.get("phone"))
    named = payload.get(orders_key)
    found.order_ids = [i for i in (as_int(v) for v in (named if isinstance(named, list) else [])[:1000])
                       if i is not None]
    return found


async def find(conn: asyncpg.Connection, shop_id: uuid.UUID, who: Person) -> Found:
    matched = await conn.fetch(MATCH_CUSTOMERS, shop_id, who.shopify_id, sorted(who.emails), sorted(who.phones))
    rows = [r for r in matched if _is_the_person(r, who)]
    sharing = [r["customer_id"] for r in matched if not _is_the_person(r, who)]
    # Their records' own details name them too (a phone the request didn't give).
    for r in rows:
        if r["email"]:
            who.emails.add(r["email"].lower())
        if r["phone"]:
            who.phones.add(r["phone"].lower())
    contacts = who.contacts + [r["push_token"].lower() for r in rows if r["push_token"]]
    customers = [r["customer_id"] for r in rows]
    signups = [r["signup_id"] for r in await conn.fetch(MATCH_SIGNUPS, shop_id, customers, contacts)]
    notifications = [r["notification_id"] for r in
                     await conn.fetch(NOTIFICATIONS, shop_id, customers, signups, contacts)]
    orders = [r["order_id"] for r in
              await conn.fetch(MATCH_ORDERS, shop_id, who.order_ids, who.shopify_id, sorted(who.emails))]
    return Found(customers, sharing, signups, notifications, orders, contacts)


def _is_the_person(row: asyncpg.Record, who: Person) -> bool:
    if who.shopify_id is not None and row["shopify_customer_id"] == who.shopify_id:
        return True
    email = (row["email"] or "").lower()
    if email in who.emails:
        return True
    return not (email and who.emails)  # matched by phone: someone else if their email differs


def _needles(found: Found) -> list[str]:
    return found.contacts + [str(i) for i in found.customers + found.signups]


async def redact(conn: asyncpg.Connection, shop_id: uuid.UUID, payload: JsonObject) -> str:
    found = await find(conn, shop_id, person(payload, "orders_to_redact"))
    await conn.execute(ERASE_NOTIFICATIONS, shop_id, found.notifications)
    await conn.execute(DROP_TARGETS, shop_id, found.signups)
    await conn.execute(DROP_SIGNUPS, shop_id, found.signups)
    await conn.execute(suppression.FORGET_LINKS, shop_id, found.signups, found.customers,  # /u links stop
                       [c.lower() for c in found.contacts])
    await conn.execute(DROP_CUSTOMERS, shop_id, found.customers)
    await conn.execute(DROP_PHONES, shop_id, found.sharing_phone)
    await conn.execute(ERASE_ORDERS, shop_id, found.orders)
    needles = _needles(found)
    if needles or found.orders:
        await conn.execute(SCRUB_PAYLOADS, shop_id, needles, [str(o) for o in found.orders])
    if needles:
        await conn.execute(SCRUB_REPLAYS, shop_id, needles, ERASED_REPLAY)
        await conn.execute(DROP_EXPORTS, shop_id, needles)
    return (f"redacted {len(found.customers)} customers, {len(found.signups)} signups, "
            f"{len(found.orders)} orders")


def _records(rows: list[asyncpg.Record]) -> list[JsonObject]:
    # asyncpg's own UUID type is not one the JSON encoder knows.
    return [{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in r.items()} for r in rows]


async def export(conn: asyncpg.Connection, shop_id: uuid.UUID, payload: JsonObject, webhook_id: str | None
                 ) -> tuple[uuid.UUID, Found]:
    """Stores the JSON export of what we hold on the person; returns its id."""
    found = await find(conn, shop_id, person(payload, "orders_requested"))
    body = {
        "customers": _records(await conn.fetch(EXPORT_CUSTOMERS, shop_id, found.customers)),
        "signups": _records(await conn.fetch(EXPORT_SIGNUPS, shop_id, found.signups)),
        "notifications": _records(await conn.fetch(EXPORT_NOTIFICATIONS, shop_id, found.notifications)),
        "orders": _records(await conn.fetch(EXPORT_ORDERS, shop_id, found.orders)),
    }
    request = payload.get("data_request") if isinstance(payload.get("data_request"), dict) else {}
    request_id = uuid.uuid4()
    await conn.execute(STORE_EXPORT, shop_id, request_id, webhook_id, as_int(request.get("id")), body)
    return request_id, found
