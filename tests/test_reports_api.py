"""The reports' surface: manifest, validation (422), CSV negotiation and
headers, isolation between shops (formula cells: tests/test_csv_escaping.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from api_service.reports.manifest import REPORTS
from tests.report_support import REPORTS as PATH, local_today, report, report_csv, signup

NAMES = ["summary", "signups", "notifications", "conversions", "products_in_demand"]


async def test_manifest_lists_the_five_with_their_columns(api):
    status, body, _ = await api.get(PATH)
    assert status == 200
    assert [r["name"] for r in body["reports"]] == NAMES
    for entry in body["reports"]:
        assert entry["description"]
        assert [c["name"] for c in entry["columns"]] == REPORTS[entry["name"]].column_names
        assert all(c["type"] and c["description"] for c in entry["columns"])
        filters = [f["name"] for f in entry["filters"]]
        assert filters[:7] == ["from", "to", "variant_id", "product_id", "channel", "granularity", "format"]
        assert ("sort" in filters) == (entry["name"] == "products_in_demand")
    demand = body["reports"][-1]
    assert [c["name"] for c in demand["columns"]] == [
        "shopify_variant_id", "shopify_product_id", "shopify_inventory_item_id", "title", "total", "pending",
        "last_requested_at"]
    assert (await api.get(PATH, params={"x": "1"}))[0] == 422


@pytest.mark.parametrize("name", NAMES)
async def test_csv_header_row_is_the_manifest_columns_even_when_empty(api, name):
    header, rows, _ = await report_csv(api, name)
    assert header == REPORTS[name].column_names
    assert len(rows) == (1 if name == "summary" else 0)


BAD = [
    ({"from": "2026-13-01"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"from": "1900-01-01"}, "from"),
    ({"from": "2026-05-02", "to": "2026-05-01"}, "from"),
    ({"from": "2026-05-02T10:00:00Z", "to": "2026-05-01"}, "from"),
    ({"granularity": "year"}, "granularity"),
    ({"format": "xml"}, "format"),
    ({"channel": "fax"}, "channel"),
    ({"variant_id": "abc"}, "variant_id"),
    ({"product_id": "0"}, "product_id"),
    ({"sort": "total"}, "sort"),  # only products_in_demand sorts
    ({"page": "2"}, "page"),
    ({"utm": "x"}, "utm"),
]


@pytest.mark.parametrize("params,field", BAD)
async def test_bad_filters_are_422_with_the_field(api, params, field):
    status, body, _ = await api.get(f"{PATH}/signups", params=params)
    assert status == 422, body
    assert field in body["fields"], body


@pytest.mark.parametrize("params,field", [({"sort": "name"}, "sort"), ({"per_page": "201"}, "per_page"),
                                          ({"page": "0"}, "page"), ({"granularity": "hour"}, "granularity")])
async def test_bad_demand_filters_are_422(api, params, field):
    status, body, _ = await api.get(f"{PATH}/products_in_demand", params=params)
    assert status == 422 and field in body["fields"], body


async def test_accept_header_selects_csv_and_format_wins(api, shop):
    today = local_today("UTC")
    first = today - dt.timedelta(days=29)
    status, text, resp = await api.get(f"{PATH}/signups", headers={"Accept": "text/csv"})
    assert status == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="signups-{first}-{today}.csv"'
    assert text.splitlines()[0].startswith("period,channel,signups")
    status, body, resp = await api.get(f"{PATH}/signups", headers={"Accept": "text/csv"}, params={"format": "json"})
    assert resp.content_type == "application/json" and body["signups"] == []
    _, body, resp = await api.get(f"{PATH}/signups", headers={"Accept": "application/json, text/csv"})
    assert resp.content_type == "application/json"
    _, _, resp = await api.get(f"{PATH}/signups", headers={"Accept": "text/csv;q=0.9, application/json;q=0.5"})
    assert resp.content_type == "text/csv"
    params = {"format": "csv", "from": "2026-01-05T23:00:00-05:00", "to": "2026-02-01"}
    _, _, resp = await api.get(f"{PATH}/conversions", params=params)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="conversions-2026-01-06-2026-02-01.csv"'


async def test_reports_see_only_the_callers_shop(api, shop, make_shop):
    await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email="mine@example.com")
    other = await make_shop()
    other_api = api.with_key(other.api_key)
    assert (await report(other_api, "summary"))["signups"] == 0
    assert (await report(other_api, "products_in_demand"))["products_in_demand"] == []
    assert (await report(api, "summary"))["signups"] == 1
    assert [r["signups"] for r in (await report(api, "signups"))["signups"]] == [1]


async def test_read_only_keys_read_reports(api, shop, pool):
    from api_service.admin.shops import create_key
    key = await create_key(pool, shop.shop_id, read_only=True)
    assert (await api.with_key(key).get(f"{PATH}/summary"))[0] == 200
