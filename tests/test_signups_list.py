"""GET /back_in_stock/signups: filters, paging, dates, errors, isolation, index use."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from shared_models import listing
from api_service.signups import queries
from tests.conftest import Api
from tests.factories import create, set_columns
from tests.plans import explain, indexes_used, render, seq_scanned

PATH = "/back_in_stock/signups"
UTC = dt.timezone.utc


async def ids(api, **params) -> list[str]:
    status, body, _ = await api.get(PATH, params=params)
    assert status == 200, body
    return [s["id"] for s in body["signups"]]


async def at(pool, signup: dict, when: dt.datetime) -> None:
    await set_columns(pool, signup["id"], created_at=when)


async def test_empty_list(api):
    status, body, _ = await api.get(PATH)
    assert status == 200
    assert body == {"signups": [], "meta": {"page": 1, "per_page": 50, "total_count": 0, "total_pages": 0,
                                            "total_count_exact": True}}


async def test_newest_first_with_id_tiebreak(api, pool):
    a = await create(api, email="a@example.com")
    b = await create(api, email="b@example.com")
    c = await create(api, email="c@example.com")
    same = dt.datetime(2026, 1, 2, tzinfo=UTC)
    await at(pool, a, dt.datetime(2026, 1, 3, tzinfo=UTC))
    await at(pool, b, same)
    await at(pool, c, same)
    tied = sorted([b["id"], c["id"]], key=uuid.UUID, reverse=True)
    assert await ids(api) == [a["id"], *tied]
    status, body, _ = await api.get(PATH)
    assert body["signups"][0]["variant"]["title"] == "Linen shirt - M / Blue"
    assert body["signups"][0]["customer"]["email"] == "a@example.com"


async def test_status_filter(api, pool):
    pending = await create(api, email="p@example.com")
    notified = await create(api, email="n@example.com")
    blocked = await create(api, email="b@example.com")
    unsub = await create(api, email="u@example.com")
    now = dt.datetime.now(UTC)
    await set_columns(pool, notified["id"], last_notified_at=now, notifications_sent=1)
    await set_columns(pool, blocked["id"], last_blocked_at=now)
    await set_columns(pool, unsub["id"], unsubscribed_at=now, last_notified_at=now)
    assert await ids(api, status="pending") == [pending["id"]]
    assert await ids(api, status="notified") == [notified["id"]]
    assert await ids(api, status="blocked") == [blocked["id"]]
    assert await ids(api, status="unsubscribed") == [unsub["id"]]
    status, body, _ = await api.get(f"{PATH}/{unsub['id']}")
    assert body["status"] == "unsubscribed" and body["last_notified_at"] and body["unsubscribed_at"]


async def test_channel_variant_product_filters(api):
    email = await create(api)
    sms = await create(api, channel="sms", phone="+14155550123", variant_id=2, product_id=20)
    push = await create(api, channel="push", push_token="t1", variant_id=3, product_id=20)
    assert await ids(api, channel="sms") == [sms["id"]]
    assert await ids(api, channel="push") == [push["id"]]
    assert await ids(api, variant_id="4001") == [email["id"]]
    assert set(await ids(api, product_id="20")) == {sms["id"], push["id"]}
    assert await ids(api, product_id="20", channel="push") == [push["id"]]
    assert await ids(api, variant_id="4001", channel="sms") == []


async def test_email_filter_is_partial_and_case_insensitive(api):
    ann = await create(api, email="Ann.Lee@Example.com")
    bob = await create(api, email="bob@other.org")
    assert await ids(api, email="ann.lee") == [ann["id"]]
    assert await ids(api, email="EXAMPLE.COM") == [ann["id"]]
    assert set(await ids(api, email="@")) == {ann["id"], bob["id"]}
    assert await ids(api, email="nobody") == []


async def test_email_filter_takes_wildcards_literally(api):
    under = await create(api, email="a_b@example.com")
    await create(api, email="axb@example.com")
    pct = await create(api, email="50%off@example.com")
    assert await ids(api, email="a_b") == [under["id"]]
    assert await ids(api, email="%") == [pct["id"]]
    assert await ids(api, email="\\") == []  # a lone escape character is no SQL error


async def test_phone_filter_is_partial_and_ignores_separators(api):
    us = await create(api, channel="sms", email=None, phone="+14155550123")
    uk = await create(api, channel="sms", email=None, phone="+442071838750")
    assert await ids(api, phone="555 01") == [us["id"]]
    assert await ids(api, phone="(415) 555-0123") == [us["id"]]
    assert await ids(api, phone="+44") == [uk["id"]]
    assert await ids(api, phone="0000") == []


async def test_from_to_with_dates_and_timestamps(api, pool):
    early = await create(api, email="e@example.com")
    mid = await create(api, email="m@example.com")
    late = await create(api, email="l@example.com")
    await at(pool, early, dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC))
    await at(pool, mid, dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    await at(pool, late, dt.datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    assert await ids(api, **{"from": "2026-03-02", "to": "2026-03-02"}) == [mid["id"]]
    assert await ids(api, **{"from": "2026-03-02"}) == [late["id"], mid["id"]]
    assert await ids(api, to="2026-03-02") == [mid["id"], early["id"]]
    assert await ids(api, **{"from": "2026-03-02T12:00:00Z"}) == [late["id"], mid["id"]]
    assert await ids(api, to="2026-03-02T12:00:00Z") == [mid["id"], early["id"]]  # inclusive
    assert await ids(api, to="2026-03-02T11:59:59Z") == [early["id"]]
    assert await ids(api, **{"from": "2026-03-02T13:00:00+01:00", "to": "2026-03-02T13:00:00+01:00"}) == [mid["id"]]


async def test_dates_are_days_in_the_shop_timezone(client, make_shop, pool):
    shop = await make_shop(timezone="America/New_York")
    api = Api(client, shop.headers)
    evening = await create(api)  # 2026-03-02 22:00 New York is 2026-03-03 03:00 UTC
    await at(pool, evening, dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC))
    assert await ids(api, **{"from": "2026-03-02", "to": "2026-03-02"}) == [evening["id"]]
    assert await ids(api, **{"from": "2026-03-03"}) == []


@pytest.mark.parametrize("params, field", [
    ({"status": "waiting"}, "status"),
    ({"channel": "fax"}, "channel"),
    ({"variant_id": "abc"}, "variant_id"),
    ({"variant_id": "0"}, "variant_id"),
    ({"product_id": "-1"}, "product_id"),
    ({"email": ""}, "email"),
    ({"phone": "abc"}, "phone"),
    ({"phone": "1+2"}, "phone"),
    ({"from": "2026-13-01"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-02-30"}, "to"),
    ({"to": "2026-03-02T25:00:00Z"}, "to"),
    ({"from": "2026-03-03", "to": "2026-03-02"}, "from"),
    ({"page": "0"}, "page"),
    ({"page": "x"}, "page"),
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "201"}, "per_page"),
    ({"sort": "created_at"}, "sort"),
])
async def test_bad_query_is_422(api, params, field):
    status, body, _ = await api.get(PATH, params=params)
    assert status == 422, body
    assert field in body["fields"], body
    assert body["errors"]


async def test_repeated_parameter_is_422(api):
    status, body, _ = await api.call("GET", PATH + "?channel=sms&channel=email")
    assert status == 422 and "channel" in body["fields"]


async def test_pagination_meta(api):
    made = [await create(api, email=f"c{i}@example.com") for i in range(5)]
    status, body, _ = await api.get(PATH, params={"per_page": "2", "page": "1"})
    assert body["meta"] == {"page": 1, "per_page": 2, "total_count": 5, "total_pages": 3,
                            "total_count_exact": True}
    seen = []
    for page in (1, 2, 3):
        seen += await ids(api, per_page="2", page=str(page))
    assert sorted(seen) == sorted(m["id"] for m in made) and len(seen) == 5
    status, body, _ = await api.get(PATH, params={"per_page": "2", "page": "4"})
    assert body["signups"] == [] and body["meta"]["total_count"] == 5
    status, body, _ = await api.get(PATH, params={"per_page": "200"})
    assert status == 200 and len(body["signups"]) == 5


async def test_other_shops_signups_are_invisible(api, client, make_shop):
    mine = await create(api)
    other = Api(client, (await make_shop()).headers)
    theirs = await create(other)
    assert await ids(api) == [mine["id"]]
    assert await ids(other, email="ann") == [theirs["id"]]
    status, body, _ = await api.get(f"{PATH}/{theirs['id']}")
    assert status == 404 and body == {"errors": ["Signup not found"]}


# --- index use ---------------------------------------------------------------

SEED = """
INSERT INTO customers (shop_id, customer_id, email, phone)
SELECT $1, gen_random_uuid(), 'c' || g || '@example.com', '+1' || (2000000000 + g::bigint * 104729)::text
FROM generate_series(1, $2::int) g;
"""
SEED_SIGNUPS = """
INSERT INTO signups (shop_id, signup_id, customer_id, variant_id, product_id, channel, contact, created_at,
                     last_notified_at)
SELECT c.shop_id, gen_random_uuid(), c.customer_id, 1000 + (m % 200), 100 + (m % 40),
       (ARRAY['email', 'sms', 'push'])[1 + m % 3], c.email, now() - m * interval '1 minute',
       CASE WHEN m % 4 = 0 THEN now() END
FROM (SELECT customer_id, shop_id, email, row_number() OVER () AS n FROM customers WHERE shop_id = $1) c,
     generate_series(1, 4) k, LATERAL (SELECT c.n * 4 + k AS m) x
"""


INDEX_CASES = [
    ({}, ("signups_recent",)),
    ({"status": "notified"}, ("signups_status",)),
    ({"channel": "sms"}, ("signups_channel",)),
    ({"variant_id": 1005}, ("signups_variant",)),
    ({"product_id": 105}, ("signups_product",)),
    ({"date_from": dt.date(2026, 1, 1)}, ("signups_recent",)),
    ({"email": "c12@"}, ("customers_email_trgm",)),
    # Digit trigrams are few and common; reading the shop's customers by key is an index too.
    ({"phone": "1256748"}, ("customers_phone_trgm", "customers_pkey", "customers_phone")),
]


async def test_list_query_uses_an_index_for_each_filter(pool, shop, make_shop):
    await pool.execute(SEED, shop.shop_id, 3000)
    await pool.execute(SEED_SIGNUPS, shop.shop_id)
    other = await make_shop()  # many shops' customers, as in production
    await pool.execute(SEED, other.shop_id, 40_000)
    await pool.execute("ANALYZE signups; ANALYZE customers")
    trgm = await pool.fetchval("SELECT 1 FROM pg_indexes WHERE indexname = 'customers_email_trgm'")
    failures = []
    for filters, expected in INDEX_CASES:
        if "customers_email_trgm" in expected and not trgm:
            continue  # pg_trgm not installed here
        w = queries.where(shop.shop_id, filters, "UTC")
        limit, args = listing.limit_offset(w, 1, 50)
        plan = await explain(pool, queries.list_sql(w, limit), *args)
        uses = indexes_used(plan) & set(expected)
        if not uses or seq_scanned(plan) & {"signups", "customers"}:
            failures.append(f"{filters}: expected {expected}\n{render(plan)}")
    assert not failures, "\n\n".join(failures)
