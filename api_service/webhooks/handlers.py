"""Accept a Shopify webhook: rate-limit, verify, check the topic's shape,
deduplicate by X-Shopify-Webhook-Id and X-Shopify-Event-Id, store, enqueue.
Stored before acknowledged, so a lost queue entry is only a delay (the sweep)."""
from __future__ import annotations

import datetime as dt
import logging

import asyncpg
from aiohttp import web

from api_service.context import CONNECTIONS
from shared_models.errors import BadRequest, Unauthorized
from api_service.intake_limits import INTAKE_LIMITERS
from api_service.observability.metrics import API_METRICS
from api_service.routing import json_response
from api_service.webhooks import shapes
from api_service.webhooks.verify import valid
from shared_models.payload import as_time
from shared_models import jsonutil
from shared_models.queue import PROCESS_WEBHOOK

log = logging.getLogger("backinstock.webhooks")

SHOP = "SELECT shop_id, domain, webhook_secret, shopify_shop_id, uninstalled_at FROM shops WHERE domain = $1"
# Either key already there (webhook id, or event id: one event redelivered
# under a new webhook id) makes it a duplicate.
STORE = """
INSERT INTO webhook_events (shop_id, webhook_id, topic, payload, triggered_at, event_id)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING
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
    own timestamps (stale inventory levels are ignored), the topic's shape
    (shapes.py) and the deduplication do the rest. No header: not judged,
    except on destructive topics, which require it."""
    if triggered is None or window <= 0:
        return
    age = (dt.datetime.now(dt.timezone.utc) - triggered).total_seconds()
    if age > window:
        raise Unauthorized(f"Webhook too old: X-Shopify-Triggered-At is {int(age)} s in the past, "
                           f"more than the {int(window)} s replay window")


def _suspicious(request: web.Request, shop: asyncpg.Record, topic: str, webhook_id: str, reason: str
                ) -> web.Response:
    """Answered 200 so that Shopify doesn't retry; nothing stored, nothing done."""
    log.warning("suspicious webhook ignored: shop %s topic %r webhook id %r: %s",
                shop["shop_id"], topic[:100], webhook_id[:MAX_ID], reason)
    metrics = request.app.get(API_METRICS)
    if metrics is not None:
        metrics.webhooks_suspicious.labels(shapes.topic_label(topic), reason).inc()
    return json_response({"ok": True, "duplicate": False})


async def shopify_webhook(request: web.Request) -> web.Response:
    conns = request.app[CONNECTIONS]
    domain = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    limiters = request.app.get(INTAKE_LIMITERS)
    if limiters is not None:  # before the body is read or the shop looked up
        await limiters.webhook(domain, request.remote)
    raw = await request.read()
    shop = await conns.pool.fetchrow(SHOP, domain) if domain else None
    # Unknown shop and bad signature look the same: nothing to learn by probing.
    if shop is None or not valid(shop["webhook_secret"], raw, request.headers.get("X-Shopify-Hmac-Sha256")):
        if limiters is not None:
            await limiters.webhook_refused(domain)
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
    if triggered is None and topic in shapes.DESTRUCTIVE:
        raise Unauthorized(f"X-Shopify-Triggered-At is required on {topic}")
    _refuse_replay(triggered, conns.config.webhook_replay_window_seconds)
    reason = shapes.mismatch(topic, payload, shop)
    if reason is not None:
        return _suspicious(request, shop, topic, webhook_id, reason)
    nul = jsonutil.nul_path(payload)
    if nul is not None:
        new = await conns.pool.fetchval(STORE_IGNORED, shop["shop_id"], webhook_id, topic, triggered,
                                        NUL_OUTCOME + (nul or "the top")[:200])
        log.warning("webhook %s ignored: NUL character in its payload", webhook_id)
        return json_response({"ok": True, "duplicate": not new})
    event_id = (request.headers.get("X-Shopify-Event-Id") or "").strip()[:MAX_ID] or None
    new = await conns.pool.fetchval(STORE, shop["shop_id"], webhook_id, topic, payload, triggered, event_id)
    if new:
        await conns.queue.try_enqueue(PROCESS_WEBHOOK, str(shop["shop_id"]), webhook_id)
    else:
        log.info("duplicate webhook %s ignored", webhook_id)
    return json_response({"ok": True, "duplicate": not new})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhooks/shopify", shopify_webhook)
