"""A restock: a variant's available quantity crossing from below
min_restock_quantity to at or above it. Recorded once; with auto_send it
becomes a send job to the variant's waiting signups, batched and ordered."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from dispatcher.inventory import published
from shared_models import jobs
from shared_models.context import Shop
from shared_models.rows.webhooks import VariantRow
from shared_models.settings import Settings

INSERT_RESTOCK = """
INSERT INTO restocks (shop_id, restock_id, variant_id, quantity, status, job_id, started_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6::uuid IS NOT NULL THEN now() END)
"""
WAITING_FOR_PUBLISH = """
SELECT restock_id FROM restocks WHERE shop_id = $1 AND variant_id = $2 AND status = 'waiting_publish'
FOR UPDATE
"""
PUBLISHED_RESTOCK = """
UPDATE restocks SET status = 'started', job_id = $3, started_at = now()
WHERE shop_id = $1 AND restock_id = $2
"""
DROP_WAITING = """
UPDATE restocks SET status = 'ignored' WHERE shop_id = $1 AND variant_id = $2 AND status = 'waiting_publish'
"""
# A new wave of demand may alert the merchant again after a restock.
RESET_HIGH_DEMAND = "DELETE FROM merchant_alerts WHERE shop_id = $1 AND kind = 'high_demand' AND key = $2"


@dataclass(frozen=True)
class Started:
    job_id: uuid.UUID
    targets: int


def crossed(before: int, after: int, minimum: int) -> bool:
    return before < minimum <= after


async def start_job(conn: asyncpg.Connection, shop: Shop, variant_id: int, settings: Settings) -> Started:
    delivery = settings["delivery"]
    job_id = await jobs.create_job(conn, shop.shop_id, kind="restock", trigger="restock",
                                   variant_id=variant_id,
                                   batch_interval_minutes=delivery["batch_interval_minutes"])
    added = await jobs.add_targets(conn, shop.shop_id, job_id, where=jobs.TARGETS_WAITING_ON_VARIANT,
                                   arg=variant_id, batch_size=delivery["batch_size"],
                                   order=delivery["order"], analyze=True)
    await conn.execute(RESET_HIGH_DEMAND, shop.shop_id, str(variant_id))
    return Started(job_id, len(added))


async def on_quantity(conn: asyncpg.Connection, shop: Shop, settings: Settings, variant: VariantRow, before: int,
                      after: int) -> Started | None:
    """Called inside the transaction that stored the new quantity (variant row locked);
    `settings` as the webhook read them (shop.sending_settings)."""
    delivery = settings["delivery"]
    if not crossed(before, after, delivery["min_restock_quantity"]):
        if after < delivery["min_restock_quantity"]:
            await conn.execute(DROP_WAITING, shop.shop_id, variant.variant_id)
        return None
    restock_id = uuid.uuid4()
    started = None
    if shop.uninstalled_at is not None:
        status = "ignored"
    elif not delivery["auto_send"]:
        status = "manual"
    elif delivery["only_when_published"] and not published(variant):
        status = "waiting_publish"
    else:
        status = "started"
        started = await start_job(conn, shop, variant.variant_id, settings)
    await conn.execute(INSERT_RESTOCK, shop.shop_id, restock_id, variant.variant_id, after, status,
                       started.job_id if started else None)
    return started


async def on_published(conn: asyncpg.Connection, shop: Shop, settings: Settings, variant: VariantRow,
                       quantity: int) -> Started | None:
    """A product just published: a restock that waited for it goes out if still in stock."""
    waiting = await conn.fetch(WAITING_FOR_PUBLISH, shop.shop_id, variant.variant_id)
    if not waiting or shop.uninstalled_at is not None:
        return None
    if quantity < settings["delivery"]["min_restock_quantity"]:
        await conn.execute(DROP_WAITING, shop.shop_id, variant.variant_id)
        return None
    started = await start_job(conn, shop, variant.variant_id, settings)
    await conn.execute(PUBLISHED_RESTOCK, shop.shop_id, waiting[0]["restock_id"], started.job_id)
    for extra in waiting[1:]:
        await conn.execute(PUBLISHED_RESTOCK, shop.shop_id, extra["restock_id"], started.job_id)
    return started
