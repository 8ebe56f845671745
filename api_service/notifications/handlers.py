"""back_in_stock_notifications_list and back_in_stock_notifications_read."""
from __future__ import annotations

from typing import Any

from shared_models import listing
from api_service.context import Call
from shared_models.errors import NotFound
from api_service.notifications import queries
from api_service.notifications.schemas import notification_out


async def list_notifications(call: Call) -> dict[str, Any]:
    q = call.query
    rows, total, exact = await queries.page(call.pool, call.shop.shop_id, q, call.shop.timezone)
    return {"notifications": [notification_out(r) for r in rows],
            "meta": listing.meta(q["page"], q["per_page"], total, exact)}


async def read_notification(call: Call) -> dict[str, Any]:
    row = await queries.read(call.pool, call.shop.shop_id, call.path["id"])
    if row is None:
        raise NotFound("Notification not found")
    return notification_out(row)
