"""The send path's writes find their rows by primary key, whatever the
statistics say. In the middle of a big restock they are stale: the last
ANALYZE saw none of the shop's rows `sending`, often none of its rows at all."""
from __future__ import annotations

import uuid

import pytest

from dispatcher import delivery
from tests.plans import explain, indexes_used, node_types, render

SEED = """
INSERT INTO notifications (shop_id, notification_id, signup_id, customer_id, job_id, channel, contact, status,
                           trigger, variant_id, product_id)
SELECT $1, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), $3, 'email', 'c' || g || '@example.com',
       $4, 'restock', 1000 + g % 300, 100 + g % 60
FROM generate_series(1, $2::int) g
"""
# A batch of outcomes, small enough that probing the key beats a scan of this
# test's small table (with production's millions of rows, any batch does).
IDS = "'{%s}'::uuid[]" % ",".join(str(uuid.uuid4()) for _ in range(50))
TEXTS = "'{%s}'::text[]" % ",".join(["sent"] * 50)


async def stale_statistics(pool, shop, make_shop) -> None:
    other = await make_shop()
    await pool.execute(SEED, other.shop_id, 30_000, uuid.uuid4(), "sent")
    await pool.execute("ANALYZE notifications")
    await pool.execute(SEED, shop.shop_id, 3000, uuid.uuid4(), "sending")


async def plan_of(pool, statement: str, args: list[str], mode: str) -> dict:
    """EXPLAIN of the statement as asyncpg runs it: prepared, then a custom or the generic plan."""
    async with pool.acquire() as conn:
        await conn.execute(f"SET plan_cache_mode = {mode}")
        await conn.execute("PREPARE send_path_write AS " + statement)
        try:
            return await explain(conn, f"EXECUTE send_path_write({', '.join(args)})")
        finally:
            await conn.execute("DEALLOCATE send_path_write")
            await conn.execute("RESET plan_cache_mode")


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_outcomes_are_written_by_primary_key(pool, shop, make_shop, mode):
    await stale_statistics(pool, shop, make_shop)
    plan = await plan_of(pool, delivery.RECORD_OUTCOMES, [f"'{shop.shop_id}'", IDS, TEXTS, TEXTS, TEXTS, TEXTS,
                                                              "0", "'2026-12-01'::date", "true"], mode)
    hashed = [t for t in node_types(plan) if "Hash" in t]
    used = indexes_used(plan)
    assert {"notifications_pkey", "signups_pkey"} <= used and not hashed, render(plan)


@pytest.mark.parametrize("statement", [delivery.UNKNOWN_OUTCOME, delivery.DROP_UNSENT])
async def test_unsettled_rows_are_not_looked_up_in_the_status_index(pool, shop, make_shop, statement):
    await stale_statistics(pool, shop, make_shop)
    plan = await plan_of(pool, statement, [f"'{shop.shop_id}'", IDS], "force_generic_plan")
    used = indexes_used(plan)
    assert not any(name.startswith("notifications_status") for name in used), render(plan)
