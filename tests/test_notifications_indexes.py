"""Every notifications list filter reads an index (EXPLAIN), also with a
larger shop beside it, as in production."""
from __future__ import annotations

import datetime as dt
import uuid

from shared_models import listing
from api_service.notifications import queries
from tests.plans import explain, indexes_used, render, seq_scanned

SEED = """
INSERT INTO notifications (shop_id, notification_id, signup_id, customer_id, job_id, channel, contact, status,
                           blocked_reason, trigger, variant_id, product_id, created_at)
SELECT $1, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), $3, (ARRAY['email', 'sms', 'push'])[1 + g % 3],
       'c' || g || '@example.com', (ARRAY['sent', 'sent', 'failed', 'blocked'])[1 + g % 4],
       CASE WHEN g % 4 = 3 THEN 'plan_limit' END, (ARRAY['restock', 'restock', 'manual', 'reminder'])[1 + g % 4],
       1000 + g % 300, 100 + g % 60, now() - g * interval '1 minute'
FROM generate_series(1, $2::int) g
"""

CASES = [
    ({}, "notifications_recent"),
    ({"channel": "sms"}, "notifications_channel"),
    ({"status": "failed"}, "notifications_status"),
    ({"blocked_reason": "plan_limit"}, "notifications_blocked_reason"),
    ({"trigger": "reminder"}, "notifications_trigger"),
    ({"signup_id": uuid.uuid4()}, "notifications_signup"),
    ({"variant_id": 1005}, "notifications_variant"),
    ({"product_id": 105}, "notifications_product"),
    ({"job_id": uuid.uuid4()}, "notifications_job"),
    ({"date_from": dt.date(2026, 1, 1)}, "notifications_recent"),
]


async def test_each_filter_reads_its_index(pool, shop, make_shop):
    other = await make_shop()
    await pool.execute(SEED, shop.shop_id, 5000, uuid.uuid4())
    await pool.execute(SEED, other.shop_id, 40_000, uuid.uuid4())
    await pool.execute("ANALYZE notifications")
    failures = []
    for filters, index in CASES:
        w = queries.where(shop.shop_id, filters, "UTC")
        limit, args = listing.limit_offset(w, 1, 50)
        plan = await explain(pool, queries.page_sql(w, limit), *args)
        if index not in indexes_used(plan) or "notifications" in seq_scanned(plan):
            failures.append(f"{filters}: expected {index}\n{render(plan)}")
    assert not failures, "\n\n".join(failures)
