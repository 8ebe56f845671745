"""Helpers of the reports, conversions and report-email tests: signups through
the API, restocks and orders through signed webhooks, and moving rows into the
past with SQL (the only way to have data on earlier days: the API and the
dispatcher stamp rows with now(); the rollup triggers see those UPDATEs like
any other change)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from tests.dispatch_support import wait_for
from tests.factories import signup_body
from tests.shopify import inventory_update, send_webhook

REPORTS = "/back_in_stock/reports"


def local_today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def local_noon(day: dt.date, tz: str) -> dt.datetime:
    """Noon of `day` in the shop's timezone: safely inside that day whatever DST does."""
    return dt.datetime.combine(day, dt.time(12), ZoneInfo(tz))


async def signup(api: Any, shop: Any, *, variant_id: int, product_id: int, item: int, channel: str = "email",
                 email: str | None = None, phone: str | None = None, push_token: str | None = None,
                 title: str | None = None) -> str:
    body = signup_body(variant_id=variant_id, product_id=product_id, inventory_item_id=item, channel=channel,
                       email=email, phone=phone, push_token=push_token)
    if title is not None:
        body["product"]["title"] = title
    body["product"]["url"] = f"https://{shop.domain}/products/p?variant={variant_id}"
    status, out, _ = await api.post("/back_in_stock/signups", json=body)
    assert status == 201, out
    return out["id"]


async def created_on(pool: Any, signup_id: str, when: dt.datetime) -> None:
    await pool.execute("UPDATE signups SET created_at = $2 WHERE signup_id = $1", uuid.UUID(signup_id), when)


async def notification_of(pool: Any, signup_id: str) -> Any:
    return await pool.fetchrow("SELECT * FROM notifications WHERE signup_id = $1 ORDER BY created_at DESC LIMIT 1",
                               uuid.UUID(signup_id))


async def all_processed(pool: Any, shop: Any) -> bool:
    return not await pool.fetchval(
        "SELECT count(*) FROM webhook_events WHERE shop_id = $1 AND processed_at IS NULL", shop.shop_id)


async def settled(pool: Any, shop: Any) -> bool:
    """Webhooks processed and every send job finished."""
    if not await all_processed(pool, shop):
        return False
    return not await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE shop_id = $1 AND status IN ('queued', 'running')", shop.shop_id)


async def restock(client: Any, pool: Any, shop: Any, *items: int) -> None:
    """Each inventory item from 0 to 5 (a restock); the caller runs the workers."""
    for item in items:
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(item, 5))
    await wait_for(lambda: settled(pool, shop), what="restock sends finished")


def order(order_id: int, lines: list[dict[str, Any]], *, email: str | None = None, customer_id: int | None = None,
          landing_site: str | None = None, note_attributes: list[dict[str, str]] | None = None,
          created_at: dt.datetime | None = None) -> dict[str, Any]:
    """An orders/create payload (the fields we read, as Shopify names them)."""
    when = created_at or dt.datetime.now(dt.timezone.utc)
    return {
        "id": order_id, "name": f"#{order_id}", "email": email, "currency": "USD",
        "created_at": when.isoformat(), "cancelled_at": None, "landing_site": landing_site,
        "note_attributes": note_attributes or [],
        "customer": {"id": customer_id, "email": email} if customer_id or email else None,
        "line_items": [{"id": order_id * 100 + i, "quantity": 1, "total_discount": "0.00", **line}
                       for i, line in enumerate(lines, start=1)],
    }


def utm_landing(notification_id: Any | None = None) -> str:
    content = f"&utm_content={notification_id}" if notification_id else ""
    return f"/products/p?variant=1&utm_source=back_in_stock&utm_medium=email{content}"


async def send_order(client: Any, pool: Any, shop: Any, payload: dict, *, topic: str = "orders/create",
                     webhook_id: str | None = None) -> str:
    """Sends an order webhook and waits until the dispatcher processed it; returns the outcome."""
    webhook_id = webhook_id or str(uuid.uuid4())
    status, body = await send_webhook(client, shop, topic, payload, webhook_id=webhook_id)
    assert status == 200, body
    return await wait_for(lambda: pool.fetchval(
        "SELECT outcome FROM webhook_events WHERE shop_id = $1 AND webhook_id = $2 AND processed_at IS NOT NULL",
        shop.shop_id, webhook_id), what=f"{topic} processed")


async def report(api: Any, name: str, **params: Any) -> Any:
    status, body, _ = await api.get(f"{REPORTS}/{name}", params={k: str(v) for k, v in params.items()})
    assert status == 200, body
    return body


async def report_csv(api: Any, name: str, **params: Any) -> tuple[list[str], list[dict[str, str]], Any]:
    status, text, resp = await api.get(f"{REPORTS}/{name}",
                                       params={"format": "csv", **{k: str(v) for k, v in params.items()}})
    assert status == 200, text
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows, resp


def as_csv_text(value: Any) -> str:
    """A JSON value as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # PostgreSQL writes float8 0 as "0"
    return str(value)


async def assert_csv_matches_json(api: Any, name: str, **params: Any) -> list[dict[str, Any]]:
    """The report's CSV has the JSON rows' columns and values, in the same order."""
    body = await report(api, name, **params)
    rows = body[name]
    header, csv_rows, _ = await report_csv(api, name, **params)
    if rows:
        assert header == list(rows[0])
    assert csv_rows == [{k: as_csv_text(v) for k, v in r.items()} for r in rows]
    return rows
