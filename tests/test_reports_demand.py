"""products_in_demand over the scenario's shop: all-time and dated counts,
sorts, filters, pagination; JSON and CSV alike."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.report_scenario import TZ, Scenario, build
from tests.report_support import assert_csv_matches_json, report, report_csv

NAME = "products_in_demand"
TITLE = "Linen shirt - M / Blue"


@pytest.fixture
async def scenario(client, api, pool, make_shop, config) -> tuple[Scenario, object]:
    shop = await make_shop(plan="pro", timezone=TZ)
    shop_api = api.with_key(shop.api_key)
    return await build(client, shop_api, pool, shop, config), shop_api


def row(s: Scenario, variant: int, product: int, item: int, total: int, pending: int, latest: str) -> dict:
    created = s.specs[latest].created_at
    assert created is not None
    return {"shopify_variant_id": variant, "shopify_product_id": product, "shopify_inventory_item_id": item,
            "title": TITLE, "total": total, "pending": pending,
            "last_requested_at": created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


async def ranked(api, **params) -> list[tuple[int, int, int]]:
    body = await report(api, NAME, per_page=200, **params)
    return [(r["shopify_variant_id"], r["total"], r["pending"]) for r in body[NAME]]


async def test_all_time_by_every_sort(scenario):
    s, api = scenario
    # b2 (40 days ago) counts: no default date limit. a1, c2, c3, d1 share D0 noon; a2 is D1 23:30.
    v4001, v4002, v5001 = (row(s, 4001, 9001, 7001, 4, 1, "a1"), row(s, 4002, 9001, 7002, 2, 0, "b1"),
                           row(s, 5001, 9002, 7003, 4, 2, "c2"))
    assert await assert_csv_matches_json(api, NAME, per_page=200) == [v5001, v4001, v4002]
    assert await assert_csv_matches_json(api, NAME, per_page=200, sort="total") == [v4001, v5001, v4002]
    assert await assert_csv_matches_json(api, NAME, per_page=200, sort="last_requested_at") == \
        [v4001, v5001, v4002]  # same instant: variant id breaks the tie
    body = await report(api, NAME)
    assert body["meta"] == {"page": 1, "per_page": 50, "total_count": 3, "total_pages": 1,
                            "total_count_exact": True, "from": None, "to": None, "sort": "pending"}


async def test_filters_dates_and_pages(scenario):
    s, api = scenario
    assert await ranked(api, channel="email") == [(5001, 3, 1), (4001, 3, 0), (4002, 2, 0)]
    assert await ranked(api, channel="push") == [(5001, 1, 1)]
    assert await ranked(api, product_id=9001) == [(4001, 4, 1), (4002, 2, 0)]
    assert await ranked(api, variant_id=4002) == [(4002, 2, 0)]
    assert await ranked(api, variant_id=4002, product_id=9002) == []
    d1, d0 = (s.today - dt.timedelta(days=1)).isoformat(), s.today.isoformat()
    # Signups created on D1..D0 only: a1 a2 a4 / b1 / c2 c3 d1.
    dated = {"from": d1, "to": d0}
    assert await ranked(api, **dated) == [(4001, 3, 1), (5001, 3, 1), (4002, 1, 0)]
    assert await ranked(api, **dated, channel="email") == [(4001, 2, 0), (4002, 1, 0), (5001, 2, 0)]
    assert await ranked(api, **dated, sort="last_requested_at") == [(4001, 3, 1), (5001, 3, 1), (4002, 1, 0)]
    rows = await assert_csv_matches_json(api, NAME, per_page=200, **dated)
    assert rows[0]["last_requested_at"] == row(s, 4001, 9001, 7001, 3, 1, "a1")["last_requested_at"]
    assert await ranked(api, to=(s.today - dt.timedelta(days=30)).isoformat()) == [(4002, 1, 0)]  # b2 alone
    page = await report(api, NAME, per_page=2, page=2)
    assert [r["shopify_variant_id"] for r in page[NAME]] == [4002]
    assert page["meta"]["total_count"] == 3 and page["meta"]["total_pages"] == 2
    # CSV has every row, whatever the page.
    _, csv_rows, resp = await report_csv(api, NAME, per_page=1)
    assert [r["shopify_variant_id"] for r in csv_rows] == ["5001", "4001", "4002"]
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{NAME}-all-{d0}.csv"'


async def test_changes_move_the_counts(scenario, pool):
    """Rollups follow deletes and transfers (recomputing the latest signup)."""
    s, api = scenario
    status, _, _ = await api.delete(f"/back_in_stock/signups/{s.specs['c2'].signup_id}")
    assert status == 204
    status, body, _ = await api.post("/back_in_stock/signups/transfer", json={
        "from_variant_id": 4001, "from_product_id": 9001, "to_variant_id": 4002, "to_product_id": 9001,
        "scope": "unsent"})
    assert status == 200 and body == {"transferred_count": 1, "merged_count": 0}  # a4 moves
    rows = await assert_csv_matches_json(api, NAME, per_page=200)
    assert [(r["shopify_variant_id"], r["total"], r["pending"], r["last_requested_at"]) for r in rows] == [
        (4002, 3, 1, row(s, 4002, 9001, 7002, 3, 1, "b1")["last_requested_at"]),
        (5001, 3, 1, row(s, 5001, 9002, 7003, 3, 1, "c3")["last_requested_at"]),
        (4001, 3, 0, row(s, 4001, 9001, 7001, 3, 0, "a1")["last_requested_at"]),
    ]
    signups = (await report(api, "signups", channel="sms", variant_id=4002))["signups"]
    assert [(r["signups"], r["pending"]) for r in signups] == [(1, 1)]


def expected_ranked(s: Scenario, first: dt.date, last: dt.date) -> list[tuple[int, int, int, str]]:
    """(variant, total, pending, last_requested_at) by pending, then variant id."""
    groups: dict[int, list] = {}
    for spec in s.specs.values():
        if first <= spec.day(s.today) <= last:
            groups.setdefault(spec.variant, []).append(spec)
    rows = [(v, len(specs), sum(x.state == "pending" for x in specs),
             max(x.created_at for x in specs).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
            for v, specs in groups.items()]
    return sorted(rows, key=lambda r: (-r[2], r[0]))


async def test_any_date_range_whole_months_and_edges(scenario):
    """Ranges over whole months (monthly rollup) and partial ones (daily rollup) alike."""
    s, api = scenario
    offsets = [70, 45, 40, 39, 31, 11, 10, 2, 1, 0]
    for a in offsets:
        for b in offsets:
            if b > a:
                continue
            first, last = s.today - dt.timedelta(days=a), s.today - dt.timedelta(days=b)
            body = await report(api, NAME, per_page=200, **{"from": first, "to": last})
            got = [(r["shopify_variant_id"], r["total"], r["pending"], r["last_requested_at"])
                   for r in body[NAME]]
            assert got == expected_ranked(s, first, last), (first, last)
