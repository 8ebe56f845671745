"""The signups, notifications, conversions and summary reports over one shop's
history (tests/report_scenario.py): exact numbers for every granularity and
filter, JSON and CSV alike."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.report_scenario import TZ, Scenario, build, expected_notifications, expected_signups, period
from tests.report_support import assert_csv_matches_json, report

FILTERS = [{}, {"variant_id": 4001}, {"product_id": 9001}, {"product_id": 9002}, {"channel": "email"},
           {"channel": "sms"}, {"variant_id": 4002, "product_id": 9001}, {"variant_id": 4002, "product_id": 9002}]


@pytest.fixture
async def scenario(client, api, pool, make_shop, config) -> tuple[Scenario, object]:
    shop = await make_shop(plan="pro", timezone=TZ)
    shop_api = api.with_key(shop.api_key)
    return await build(client, shop_api, pool, shop, config), shop_api


def days(s: Scenario, first: int, last: int = 0) -> tuple[dt.date, dt.date]:
    return s.today - dt.timedelta(days=first), s.today - dt.timedelta(days=last)


async def test_signups_report_every_granularity_and_filter(scenario):
    s, api = scenario
    first, last = days(s, 29)
    assert await assert_csv_matches_json(api, "signups") == expected_signups(s, first, last)
    for granularity in ("day", "week", "month"):
        for f in FILTERS:
            rows = await assert_csv_matches_json(api, "signups", granularity=granularity, **f)
            assert rows == expected_signups(s, first, last, granularity, **f), (granularity, f)
    # An explicit range reaching b2 (D40), and one day only.
    wide = days(s, 45)
    rows = await assert_csv_matches_json(api, "signups", **{"from": wide[0], "to": wide[1]}, granularity="month")
    assert rows == expected_signups(s, *wide, "month")
    one = days(s, 1, 1)
    body = await report(api, "signups", **{"from": one[0], "to": one[1]})
    assert body["signups"] == expected_signups(s, *one)
    assert {r["channel"]: r["signups"] for r in body["signups"]} == {"email": 2, "sms": 1}  # a2 at 23:30 counts
    assert body["meta"] == {"from": one[0].isoformat(), "to": one[1].isoformat(), "granularity": "day",
                            "timezone": TZ, "total_count": 2}


async def test_notifications_report_every_granularity_and_filter(scenario):
    s, api = scenario
    first, last = days(s, 29)
    rows = await assert_csv_matches_json(api, "notifications")
    today = [r for r in rows if r["period"] == s.today.isoformat()]
    assert [(r["channel"], r["attempts"], r["sent"], r["blocked_channel_disabled"], r["clicked"], r["click_rate"])
            for r in today] == [("email", 3, 3, 0, 1, 0.3333), ("sms", 1, 0, 1, 0, 0)]
    for granularity in ("day", "week", "month"):
        for f in FILTERS:
            rows = await assert_csv_matches_json(api, "notifications", granularity=granularity, **f)
            assert rows == expected_notifications(s, first, last, granularity, **f), (granularity, f)
    wide = days(s, 45)
    rows = await assert_csv_matches_json(api, "notifications", **{"from": wide[0], "to": wide[1]})
    assert rows == expected_notifications(s, *wide)


async def test_conversions_report(scenario):
    s, api = scenario
    d0 = s.today.isoformat()
    rows = await assert_csv_matches_json(api, "conversions")
    assert rows == [
        {"period": d0, "shopify_product_id": 9001, "product_title": "Linen shirt", "confidence": "high",
         "orders": 1, "units": 2, "revenue": "30.00", "currency": "USD"},
        {"period": d0, "shopify_product_id": 9001, "product_title": "Linen shirt", "confidence": "medium",
         "orders": 1, "units": 1, "revenue": "20.00", "currency": "USD"},
    ]
    month = await report(api, "conversions", granularity="month")
    assert [(r["period"], r["confidence"]) for r in month["conversions"]] == \
        [(period(s.today, "month"), "high"), (period(s.today, "month"), "medium")]
    assert [r["revenue"] for r in (await report(api, "conversions", variant_id=4002))["conversions"]] == ["30.00"]
    assert (await report(api, "conversions", product_id=9002))["conversions"] == []
    assert (await report(api, "conversions", channel="sms"))["conversions"] == []
    assert len((await report(api, "conversions", channel="email"))["conversions"]) == 2
    yesterday = days(s, 1, 1)
    assert (await report(api, "conversions", **{"from": yesterday[0], "to": yesterday[1]}))["conversions"] == []


async def test_summary_totals_and_filters(scenario):
    s, api = scenario
    body = await report(api, "summary")
    first, last = days(s, 29)
    plan = body.pop("plan")
    assert body == {"from": first.isoformat(), "to": last.isoformat(), "signups": 9, "pending": 3, "notified": 4,
                    "converted": 2, "alerts_sent": 4, "conversions": 2, "conversion_rate": 0.5,
                    "recovered_revenue": "50.00", "currency": "USD"}
    assert plan["name"] == "pro" and plan["limit"] == 10_000 and plan["used"] == 5
    assert plan["resets_at"].endswith("Z")
    for f, expected in [({"variant_id": 4001}, (4, 1, 3, 1, 3, 1, "20.00")),
                        ({"product_id": 9002}, (4, 2, 0, 0, 0, 0, "0.00")),
                        ({"channel": "sms"}, (1, 1, 0, 0, 0, 0, "0.00")),
                        ({"from": days(s, 45)[0]}, (10, 3, 5, 2, 5, 2, "50.00"))]:
        got = await report(api, "summary", **f)
        assert (got["signups"], got["pending"], got["notified"], got["converted"], got["alerts_sent"],
                got["conversions"], got["recovered_revenue"]) == expected, f
    status, text, resp = await api.get("/back_in_stock/reports/summary", params={"format": "csv"})
    assert status == 200
    assert resp.headers["Content-Disposition"] == f'attachment; filename="summary-{first}-{last}.csv"'
    header, values = text.strip().split("\n")
    assert header == ("from,to,signups,pending,notified,converted,alerts_sent,conversions,conversion_rate,"
                      "recovered_revenue,currency,plan_name,plan_limit,plan_used,plan_resets_at")
    assert values == f"{first},{last},9,3,4,2,4,2,0.5,50.00,USD,pro,10000,5,{plan['resets_at']}"
