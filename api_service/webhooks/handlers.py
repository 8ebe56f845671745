"""Accept a Shopify webhook: verify, deduplicate by X-Shopify-Webhook-Id, store, enqueue.
Stored before acknowledged, so a lost queue entry is only a delay (the sweep)."""
from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web

from api_service.context import CONNECTIONS
from api_service.errors import BadRequest, Unauthorized
from api_service.routing import json_response
from api_service.webhooks.verify import valid
from shared_models.payload import as_time
from shared_models import jsonutil
from shared_models.queue import PROCESS_WEBHOOK

log = logging.getLogger("backinstock.webhooks")

SHOP = "SELECT shop_id, webhook_secret FROM shops WHERE domain = $1"
STORE = """
INSERT INTO webhook_events (shop_id, webhook_id, topic, payload, triggered_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (shop_id, webhook_id) DO NOTHING
RETURNING webhook_id
"""
# Recorded and settled at once, for the log: PostgreSQL's jsonb can't hold U+0000.
STORE_IGNORED = """
INSERT INTO webhook_events (shop_id, webhook_id, topic, payload, triggered_at, processed_at, outcome)
VALUES ($1, $2, $3, '{}', $4, now(), $5)
ON CONFLICT (shop_id, webhook_id) DO NOTHING
RETURNING webhook_id
"""
NUL_OUTCOME = "ignored: NUL character in the payload at "
MAX_ID = 200


def _refuse_replay(triggered: dt.datetime | None, window: float) -> None:
    """A delivery triggered more than `window` seconds ago is a replay: Shopify
    retries for hours, never for a day. Checked after the signature: an
    unsigned request learns nothing. The header is not covered by the HMAC, so
    this stops replays of captured requests sent as they were; the payload's
    own timestamps (stale inventory levels are ignored) and the
    X-Shopify-Webhook-Id deduplication do the rest. No header: not judged."""
    if triggered is None or window <= 0:
        return
    age = (dt.datetime.now(dt.timezone.utc) - triggered).total_seconds()
    if age > window:
        raise Unauthorized(f"Webhook too old: X-Shopify-Triggered-At is {int(age)} s in the past, "
                           f"more than the {int(window)} s replay window")


async def shopify_webhook(request: web.Request) -> web.Response:
    conns = request.app[CONNECTIONS]
    raw = await request.read()
    domain = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    shop = await conns.pool.fetchrow(SHOP, domain) if domain else None
    # Unknown shop and bad signature look the same: nothing to learn by probing.
    if shop is None or not valid(shop["webhook_secret"], raw, request.headers.get("X-Shopify-Hmac-Sha256")):
        raise Unauthorized("Invalid webhook signature")
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    webhook_id = (request.headers.get("X-Shopify-Webhook-Id") or "").strip()
    if not topic or not webhook_id or len(webhook_id) > MAX_ID or len(topic) > 100:
        raise BadRequest("X-Shopify-Topic and X-Shopify-Webhook-Id are required")
    try:
        payload = jsonutil.loads(raw) if raw.strip() else {}
    except ValueError:
        raise BadRequest("Malformed JSON") from None
    if not isinstance(payload, dict):
        payload = {"value": payload}
    triggered = as_time(request.headers.get("X-Shopify-Triggered-At"))
    _refuse_replay(triggered, conns.config.webhook_replay_window_seconds)
    nul = jsonutil.nul_path(payload)
    if nul is not None:
        new = await conns.pool.fetchval(STORE_IGNORED, shop["shop_id"], webhook_id, topic, triggered,
                                        NUL_OUTCOME + (nul or "the top")[:200])
        log.warning("webhook %s ignored: NUL character in its payload", webhook_id)
        return json_response({"ok": True, "duplicate": not new})
    new = await conns.pool.fetchval(STORE, shop["shop_id"], webhook_id, topic, payload, triggered)
    if new:
        await conns.queue.try_enqueue(PROCESS_WEBHOOK, str(shop["shop_id"]), webhook_id)
    else:
        log.info("duplicate webhook %s ignored", webhook_id)
    return json_response({"ok": True, "duplicate": not new})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhooks/shopify", shopify_webhook)
