"""compliance.data_retention_days, enforced by dispatcher/retention.py: rows
are moved into the past by SQL, then the function (and a real worker's sweep)
removes what is older than each shop's window and nothing else."""
from __future__ import annotations

import uuid

import pytest_asyncio

from dispatcher import retention
from dispatcher.retention import enforce_retention
from tests.dispatch_support import running_workers, wait_for
from tests.factories import add_notification

AGE = "interval '40 days'"


async def signup(api, shop, email: str, variant: int = 4001) -> dict:
    from tests.factories import signup_body
    body = signup_body(variant_id=variant, email=email)
    body["product"]["url"] = f"https://{shop.domain}/products/linen-shirt?variant={variant}"
    status, out, _ = await api.post("/back_in_stock/signups", json=body)
    assert status == 201, out
    return out


async def age_signup(pool, signup_id: str, **recent: bool) -> None:
    """Created (and last updated) 40 days ago; columns named in `recent` set 5 days ago."""
    sets = [f"created_at = now() - {AGE}", f"updated_at = now() - {AGE}"]
    if recent.get("notified"):
        sets += ["last_notified_at = now() - interval '5 days'", "notifications_sent = 1"]
    await pool.execute(f"UPDATE signups SET {', '.join(sets)} WHERE signup_id = $1", uuid.UUID(signup_id))


async def age_customer(pool, customer_id: str) -> None:
    await pool.execute(f"UPDATE customers SET created_at = now() - {AGE}, updated_at = now() - {AGE} "
                       "WHERE customer_id = $1", uuid.UUID(customer_id))


class Shop:
    """One shop's worth of rows, old and new, with the ids to look for."""

    def __init__(self, api, pool, info):
        self.api, self.pool, self.info = api.with_key(info.api_key), pool, info

    async def build(self) -> "Shop":
        api, pool, info = self.api, self.pool, self.info
        self.old = await signup(api, info, "old@example.com")  # and its customer: both go
        self.old_notified = await signup(api, info, "alerted@example.com", 4002)  # alerted 5 days ago: stays
        self.recent = await signup(api, info, "new@example.com", 4003)  # stays
        self.shared_old = await signup(api, info, "both@example.com", 4004)  # goes, its customer stays
        self.shared_new = await signup(api, info, "both@example.com", 4005)
        for s in (self.old, self.shared_old):
            await age_signup(pool, s["id"])
            await age_customer(pool, s["customer"]["id"])
        await age_signup(pool, self.old_notified["id"], notified=True)
        await age_customer(pool, self.old_notified["customer"]["id"])
        # A customer whose signups were deleted long ago (through the API): goes too.
        self.orphan = uuid.uuid4()
        await pool.execute(f"INSERT INTO customers (shop_id, customer_id, email, created_at, updated_at) "
                           f"VALUES ($1, $2, 'orphan@example.com', now() - {AGE}, now() - {AGE})",
                           info.shop_id, self.orphan)
        self.old_notification = await add_notification(pool, info.shop_id, self.old_notified["id"])
        await pool.execute(f"UPDATE notifications SET created_at = now() - {AGE} WHERE notification_id = $1",
                           self.old_notification)
        self.new_notification = await add_notification(pool, info.shop_id, self.old_notified["id"])
        for webhook_id, received, processed in (("old-done", AGE, True), ("old-pending", AGE, False),
                                                ("new-done", "interval '1 day'", True)):
            await pool.execute(
                f"INSERT INTO webhook_events (shop_id, webhook_id, topic, payload, received_at, processed_at) "
                f"VALUES ($1, $2, 'orders/create', '{{\"email\": \"x@example.com\"}}', now() - {received}, "
                f"{'now()' if processed else 'NULL'})", info.shop_id, webhook_id)
        for order_id, placed in ((1, AGE), (2, "interval '1 day'")):
            await pool.execute(
                f"INSERT INTO orders (shop_id, order_id, name, email, note_attributes, ordered_at) "
                f"VALUES ($1, $2, '#100{order_id}', 'buyer@example.com', '[]', now() - {placed})",
                info.shop_id, order_id)
        return self

    async def signups(self) -> set[str]:
        rows = await self.pool.fetch("SELECT signup_id::text FROM signups WHERE shop_id = $1", self.info.shop_id)
        return {r[0] for r in rows}

    async def customers(self) -> set[str]:
        rows = await self.pool.fetch("SELECT customer_id::text FROM customers WHERE shop_id = $1", self.info.shop_id)
        return {r[0] for r in rows}

    async def notifications(self) -> set[uuid.UUID]:
        rows = await self.pool.fetch("SELECT notification_id FROM notifications WHERE shop_id = $1",
                                     self.info.shop_id)
        return {r[0] for r in rows}

    async def webhook_events(self) -> set[str]:
        rows = await self.pool.fetch("SELECT webhook_id FROM webhook_events WHERE shop_id = $1", self.info.shop_id)
        return {r[0] for r in rows}

    async def order_emails(self) -> dict[int, str | None]:
        rows = await self.pool.fetch("SELECT order_id, email FROM orders WHERE shop_id = $1", self.info.shop_id)
        return {r["order_id"]: r["email"] for r in rows}

    async def everything(self) -> tuple:
        return (await self.signups(), await self.customers(), await self.notifications(),
                await self.webhook_events(), await self.order_emails())


async def set_retention(shop: Shop, days: int | None) -> None:
    status, body, _ = await shop.api.patch("/back_in_stock/settings/compliance",
                                           json={"data_retention_days": days})
    assert status == 200 and body["data_retention_days"] == days, body


@pytest_asyncio.fixture
async def shops(api, pool, make_shop):
    kept = await Shop(api, pool, await make_shop()).build()  # no window: keeps everything
    long = await Shop(api, pool, await make_shop()).build()  # a year: nothing is that old
    short = await Shop(api, pool, await make_shop()).build()  # 30 days: the 40-day-old rows go
    await set_retention(long, 365)
    await set_retention(short, 30)
    return kept, long, short


async def test_rows_older_than_the_window_go_and_nothing_else(shops, pool):
    kept, long, short = shops
    before_kept, before_long = await kept.everything(), await long.everything()

    removed = await enforce_retention(pool, batch=2)  # small pages: the paging is exercised
    assert removed == {"signups": 2, "customers": 2, "notifications": 1, "webhook_events": 1, "orders": 1,
                       "data_requests": 0, "unsubscribe_links": 2}  # the deleted signups' /u links too

    assert await short.signups() == {short.old_notified["id"], short.recent["id"], short.shared_new["id"]}
    customers = await short.customers()
    assert short.old["customer"]["id"] not in customers and str(short.orphan) not in customers
    assert short.shared_new["customer"]["id"] in customers  # still has a signup
    assert short.old_notified["customer"]["id"] in customers
    assert await short.notifications() == {short.new_notification}
    assert await short.webhook_events() == {"old-pending", "new-done"}  # unprocessed work is never dropped
    assert await short.order_emails() == {1: None, 2: "buyer@example.com"}
    row = await pool.fetchrow("SELECT name, note_attributes FROM orders WHERE shop_id = $1 AND order_id = 1",
                              short.info.shop_id)
    assert row["name"] is None and row["note_attributes"] is None

    # Gone through the API as well; the other shops untouched.
    status, _, _ = await short.api.get(f"/back_in_stock/signups/{short.old['id']}")
    assert status == 404
    status, body, _ = await short.api.get("/back_in_stock/signups")
    assert {s["id"] for s in body["signups"]} == await short.signups()
    assert await kept.everything() == before_kept
    assert await long.everything() == before_long

    # Idempotent: a second run finds nothing.
    assert set((await enforce_retention(pool)).values()) == {0}


async def test_data_request_exports_go_after_30_days_whatever_the_shop_set(pool, make_shop):
    shop, other = await make_shop(), await make_shop()  # neither sets data_retention_days
    for s, webhook_id, age in ((shop, "old", 31), (shop, "new", 29), (other, "old", 31)):
        await pool.execute("INSERT INTO data_requests (shop_id, request_id, webhook_id, export, created_at) "
                           "VALUES ($1, $2, $3, '{}', now() - make_interval(days => $4))",
                           s.shop_id, uuid.uuid4(), webhook_id, age)
    assert (await enforce_retention(pool))["data_requests"] == 2
    left = await pool.fetch("SELECT shop_id, webhook_id FROM data_requests")
    assert [(r["shop_id"], r["webhook_id"]) for r in left] == [(shop.shop_id, "new")]


async def test_activity_inside_the_window_keeps_a_signup(shops, pool):
    _, _, short = shops
    await pool.execute("UPDATE signups SET updated_at = now() - interval '10 days' WHERE signup_id = $1",
                       uuid.UUID(short.old["id"]))
    await enforce_retention(pool)
    assert short.old["id"] in await short.signups()
    assert short.old["customer"]["id"] in await short.customers()


async def test_turning_the_window_off_stops_it(shops, pool):
    _, _, short = shops
    await set_retention(short, None)
    before = await short.everything()
    assert set((await enforce_retention(pool)).values()) == {0}
    assert await short.everything() == before


async def test_a_worker_runs_it_once_a_day_by_itself(shops, pool, config, redis):
    """No call from the test: a real worker's sweep takes the day's lock and
    runs it in the background; the lock keeps it to one run a day."""
    _, _, short = shops

    async def old_gone() -> bool:
        return short.old["id"] not in await short.signups()

    async with running_workers(config):
        await wait_for(old_gone, timeout=20, what="the worker's retention run")
        await wait_for(lambda: _idle(), timeout=20, what="the run to finish")
    assert await short.customers() and short.old["customer"]["id"] not in await short.customers()
    ttl = await redis.pttl(retention.LOCK)
    assert 0 < ttl <= retention.INTERVAL_SECONDS * 1000 and ttl > (retention.INTERVAL_SECONDS - 120) * 1000

    # While the lock is held, nothing runs again, whatever is now old.
    await pool.execute(f"UPDATE signups SET created_at = now() - {AGE}, updated_at = now() - {AGE} "
                       "WHERE signup_id = $1", uuid.UUID(short.recent["id"]))
    async with running_workers(config):
        for _ in range(2):  # a whole sweep (retention's turn included) between two sweep locks
            await redis.delete("bis:sweep")
            await wait_for(lambda: _swept(redis), timeout=20, what="a sweep")
    assert short.recent["id"] in await short.signups()


async def _idle() -> bool:
    return not retention.RETENTION.running


async def _swept(redis) -> bool:
    return bool(await redis.exists("bis:sweep"))
