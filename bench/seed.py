"""Seeding through COPY: one large shop (1,000,000 signups over 20,000
variants, 3,000,000 notifications) and 1,000 small shops."""
from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from dataclasses import dataclass

import asyncpg

from api_service.admin import shops as admin

NOW = dt.datetime.now(dt.timezone.utc)
CHANNELS = ("email", "email", "email", "sms", "push")
COPY_CHUNK = 200_000


@dataclass
class Seeded:
    shop_id: uuid.UUID
    domain: str
    api_key: str
    webhook_secret: str
    signup_ids: list[uuid.UUID]
    seconds: float


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


async def copy(conn: asyncpg.Connection, table: str, columns: list[str], rows) -> int:
    n, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= COPY_CHUNK:
            await conn.copy_records_to_table(table, records=chunk, columns=columns)
            n += len(chunk)
            chunk = []
    if chunk:
        await conn.copy_records_to_table(table, records=chunk, columns=columns)
        n += len(chunk)
    return n


async def seed_shop(pool: asyncpg.Pool, dsn: str, domain: str, *, plan: str, signups: int, variants: int,
                    notifications: int, customers: int, rng: random.Random, variant_base: int = 0,
                    notified_fraction: float = 0.3, channels: tuple[str, ...] = CHANNELS) -> Seeded:
    started = time.perf_counter()
    info = await admin.create_shop(pool, domain, plan=plan)
    shop_id = uuid.UUID(info["shop_id"])
    customer_ids = [_uuid(rng) for _ in range(customers)]
    signup_ids = [_uuid(rng) for _ in range(signups)]
    conn = await asyncpg.connect(dsn, command_timeout=None)
    # Generated rows are consistent by construction: skip per-row FK triggers.
    await conn.execute("SET session_replication_role = replica")
    try:
        await copy(conn, "variants", ["shop_id", "variant_id", "product_id", "inventory_item_id", "product_title",
                                      "variant_title", "url", "inventory_quantity"],
                   ((shop_id, variant_base + v, variant_base + v // 4 + 1, 10_000_000 + variant_base + v,
                     f"Product {v // 4}", f"Size {v % 4}", f"https://{domain}/products/p{v // 4}?variant={v}", 0)
                    for v in range(1, variants + 1)))
        await copy(conn, "customers", ["shop_id", "customer_id", "email", "name", "created_at", "updated_at"],
                   ((shop_id, cid, f"c{i}@{domain}", f"Customer {i}", NOW, NOW)
                    for i, cid in enumerate(customer_ids)))
        notified_cut = int(signups * notified_fraction)

        def signup_rows():
            for i, sid in enumerate(signup_ids):
                created = NOW - dt.timedelta(seconds=rng.randrange(365 * 86400))
                notified = NOW - dt.timedelta(seconds=rng.randrange(30 * 86400)) if i < notified_cut else None
                customer = i % (customers - 1)  # coprime with variants: no duplicate open signups
                yield (shop_id, sid, customer_ids[customer], variant_base + i % variants + 1,
                       variant_base + (i % variants + 1) // 4 + 1, channels[i % len(channels)],
                       f"c{customer}@{domain}",
                       notified, notified, 1 if notified else 0, created, created)

        await copy(conn, "signups", ["shop_id", "signup_id", "customer_id", "variant_id", "product_id", "channel",
                                     "contact", "last_notified_at", "first_notified_at", "notifications_sent",
                                     "created_at", "updated_at"], signup_rows())
        job_id = uuid.uuid4()
        await conn.execute("INSERT INTO jobs (shop_id, job_id, kind, status) VALUES ($1, $2, 'restock', 'done')",
                           shop_id, job_id)
        statuses = ("sent",) * 7 + ("failed", "blocked", "blocked")
        reasons = ("plan_limit", "channel_disabled", "optin_unconfirmed", "sold_out")

        def notification_rows():
            for n in range(notifications):
                i = rng.randrange(max(1, notified_cut))
                status = statuses[n % 10]
                created = NOW - dt.timedelta(seconds=rng.randrange(365 * 86400))
                yield (shop_id, _uuid(rng), signup_ids[i], customer_ids[i % (customers - 1)], job_id,
                       channels[i % len(channels)],
                       f"c{i % customers}@{domain}", status,
                       reasons[n % 4] if status == "blocked" else None, "restock", 1, 1,
                       variant_base + i % variants + 1, variant_base + (i % variants + 1) // 4 + 1,
                       created, created if status == "sent" else None)

        await copy(conn, "notifications", ["shop_id", "notification_id", "signup_id", "customer_id", "job_id",
                                           "channel", "contact", "status", "blocked_reason", "trigger", "batch",
                                           "attempt", "variant_id", "product_id", "created_at", "sent_at"],
                   notification_rows())
    finally:
        await conn.close()
    return Seeded(shop_id, info["domain"], info["api_key"], info["webhook_secret"], signup_ids,
                  time.perf_counter() - started)


INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename = ANY($1::text[]) AND indexname NOT LIKE '%_pkey'
"""


class IndexesDeferred:
    """Bulk loading: drop secondary indexes, load, build them once (much faster
    than maintaining them row by row with random UUIDs)."""

    def __init__(self, dsn: str, tables: list[str]):
        self.dsn, self.tables, self.defs = dsn, tables, []

    async def __aenter__(self) -> "IndexesDeferred":
        conn = await asyncpg.connect(self.dsn)
        try:
            self.defs = await conn.fetch(INDEXES, self.tables)
            for row in self.defs:
                await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        finally:
            await conn.close()
        return self

    async def __aexit__(self, *exc: object) -> None:
        conn = await asyncpg.connect(self.dsn, command_timeout=None)
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            for row in self.defs:
                await conn.execute(row["indexdef"])
            await conn.execute("ANALYZE")
        finally:
            await conn.close()


async def seed_small_shops(pool: asyncpg.Pool, dsn: str, count: int, rng: random.Random) -> float:
    started = time.perf_counter()
    for n in range(count):
        await seed_shop(pool, dsn, f"small-{n}.myshopify.com", plan="free", signups=20, variants=5,
                        notifications=10, customers=20, rng=rng)
    return time.perf_counter() - started


ATTRIBUTE = """
INSERT INTO order_attributions (shop_id, order_id, line_id, variant_id, product_id, quantity, revenue,
    notification_id, signup_id, channel, confidence, ordered_at)
SELECT n.shop_id, o.order_id, 1, n.variant_id, n.product_id, 1, 42.50, n.notification_id, n.signup_id,
       n.channel, CASE WHEN o.order_id % 2 = 0 THEN 'high' ELSE 'medium' END, o.ordered_at
FROM (SELECT order_id, ordered_at, row_number() OVER (ORDER BY order_id) AS k
      FROM orders WHERE shop_id = $1) o
JOIN (SELECT notification_id, signup_id, variant_id, product_id, channel, shop_id,
             row_number() OVER (ORDER BY notification_id) AS k
      FROM notifications WHERE shop_id = $1 AND status = 'sent' LIMIT $2) n USING (k)
"""


async def seed_orders(pool: asyncpg.Pool, dsn: str, shop: Seeded, count: int, rng: random.Random) -> None:
    """Orders through COPY; a third of them attributed to sent alerts; then the
    report rollups rebuilt (seeding bypassed the triggers that keep them)."""
    conn = await asyncpg.connect(dsn, command_timeout=None)
    try:
        await copy(conn, "orders", ["shop_id", "order_id", "email", "currency", "ordered_at", "attributed_lines"],
                   ((shop.shop_id, 5_000_000 + n, f"c{n}@{shop.domain}", "USD",
                     NOW - dt.timedelta(seconds=rng.randrange(365 * 86400)), 1 if n % 3 == 0 else 0)
                    for n in range(count)))
        await conn.execute(ATTRIBUTE, shop.shop_id, count // 3)
        for (shop_id,) in await conn.fetch("SELECT shop_id FROM shops"):
            await conn.execute("SELECT report_rollups_rebuild($1)", shop_id)
        # As autovacuum would have left a real shop's tables: statistics, and
        # a visibility map that lets counts and key lookups skip the heap.
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


async def large_world(db_url: str, scale: float, *, orders: bool = True) -> Seeded:
    """The large shop alone at `scale` (its orders too), on a migrated database:
    what `python -m bench.creates` and `python -m bench.budget` measure on."""
    from shared_models.db import create_pool
    pool = await create_pool(db_url, max_size=4)
    try:
        rng = random.Random(42)
        async with IndexesDeferred(db_url, ["signups", "notifications", "customers", "variants"]):
            large = await seed_shop(pool, db_url, "large.myshopify.com", plan="unlimited",
                                    signups=int(1_000_000 * scale), variants=int(20_000 * scale),
                                    notifications=int(3_000_000 * scale), customers=int(500_000 * scale), rng=rng)
        if orders:
            await seed_orders(pool, db_url, large, int(50_000 * scale), rng)
        return large
    finally:
        await pool.close()
