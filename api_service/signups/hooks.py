"""Points where later issues plug in work the API itself does not do."""
from __future__ import annotations

import uuid
from typing import Any

from api_service.context import Connections, Shop
from shared_models.queue import MERCHANT_ALERT, SEND_OPTIN
from shared_models.settings import load_effective
from shared_models.signup_states import awaiting_optin, waiting_sql

# The variant's waiting signups (shared_models.signup_states). Counting stops
# at the threshold: enough to know it was reached.
WAITING = f"""
SELECT count(*) FROM (SELECT 1 FROM signups s
                      WHERE s.shop_id = $1 AND s.variant_id = $2 AND {waiting_sql("s")}
                      LIMIT $3) w
"""


async def request_optin_confirmation(conns: Connections, shop: Shop, signup: Any) -> None:
    """The dispatcher sends the confirmation (not an alert: no notification row,
    no plan usage). If Redis is down, its sweep sends it later."""
    await conns.queue.try_enqueue(SEND_OPTIN, str(shop.shop_id), str(signup["signup_id"]))


async def check_high_demand(conns: Connections, shop: Shop, signup: Any) -> None:
    """When a variant's waiting signups reach the shop's threshold, the
    merchant gets one email (the dispatcher marks it sent once per variant)."""
    settings = await shop.effective_settings(conns.pool)
    await check_variant_demand(conns, shop.shop_id, signup["variant_id"], settings)


async def check_variant_demand(conns: Connections, shop_id: uuid.UUID, variant_id: int,
                               settings: dict[str, Any] | None = None) -> None:
    """check_high_demand for a signup that just became waiting (created, or its opt-in confirmed)."""
    rule = (settings or await load_effective(conns.pool, shop_id))["alerts"]["high_demand"]
    if not rule["enabled"]:
        return
    waiting = await conns.pool.fetchval(WAITING, shop_id, variant_id, rule["threshold"])
    if waiting >= rule["threshold"]:
        await conns.queue.try_enqueue(MERCHANT_ALERT, str(shop_id), "high_demand", str(variant_id))


async def after_create(conns: Connections, shop: Shop, row: Any, created: bool) -> None:
    """What follows a create, from the API or the storefront."""
    if not created:
        return
    if awaiting_optin(row):
        await request_optin_confirmation(conns, shop, row)
    await check_high_demand(conns, shop, row)
