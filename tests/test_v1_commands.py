"""v1 notify_intent, bulk_notify_intent, bulk_destroy, transfer_signups and
products_in_demand: served by the v2 code, checked in v1's exact shapes and
statuses, against data created through v2 and the reverse."""
from __future__ import annotations

import pytest

from api_service.admin import shops as admin
from tests.factories import count, create, mark_notified
from tests.test_v1_support import V1Api, assert_deprecated, intent_body


@pytest.fixture
def v1(client, shop) -> V1Api:
    return V1Api(client, shop.headers)


INTENTS = "/intents"
UNKNOWN = "00000000-0000-0000-0000-000000000001"


async def v1_intent(v1, **kwargs) -> str:
    status, out, _ = await v1.post(INTENTS, json=intent_body(**kwargs))
    assert status == 201, out
    return out["intent"]["id"]


async def job_kinds(pool) -> list[str]:
    return [r["kind"] for r in await pool.fetch("SELECT kind FROM jobs ORDER BY created_at")]


# --- notify_intent ---------------------------------------------------------------

async def test_notify_intent_queues_a_v2_job(v1, api, pool):
    signup = await create(api)
    status, out, resp = await v1.post(f"{INTENTS}/notify_intent", json={"id": signup["id"]})
    assert (status, out) == (200, {"success": True, "intent_id": signup["id"]})
    assert_deprecated(resp, f"/back_in_stock/signups/{signup['id']}/notify")
    assert await job_kinds(pool) == ["notify"]
    # The same send is still queued: v2's 409, in v1's words.
    status, out, resp = await v1.post(f"{INTENTS}/notify_intent", json={"id": signup["id"]})
    assert status == 409 and out == {"errors": ["A send for this intent is already queued or in flight"]}
    assert resp.headers["Deprecation"] == "true"
    status, _, _ = await api.post(f"/back_in_stock/signups/{signup['id']}/notify", json={})
    assert status == 409  # v2 sees the job v1 queued


async def test_notify_intent_errors(v1, api, pool, make_shop):
    intent_id = await v1_intent(v1)
    await mark_notified(pool, intent_id)
    status, out, _ = await v1.post(f"{INTENTS}/notify_intent", json={"id": intent_id})
    assert status == 422 and out["errors"] == ["Intent was already notified; set allow_resend to send again"]
    status, out, _ = await v1.post(f"{INTENTS}/notify_intent", json={"id": intent_id, "allow_resend": True})
    assert (status, out) == (200, {"success": True, "intent_id": intent_id})

    other = await make_shop()
    theirs = await create(api.with_key(other.api_key))
    for unknown in (UNKNOWN, theirs["id"]):
        status, out, resp = await v1.post(f"{INTENTS}/notify_intent", json={"id": unknown})
        assert status == 404 and out == {"errors": ["Intent not found"]}
        assert_deprecated(resp, f"/back_in_stock/signups/{unknown}/notify")
    status, out, resp = await v1.post(f"{INTENTS}/notify_intent", json={"intent_id": intent_id})
    assert status == 422 and set(out["fields"]) == {"id", "intent_id"}
    assert_deprecated(resp, "/back_in_stock/signups")  # no id known: the collection
    assert await job_kinds(pool) == ["notify"]


# --- bulk_notify_intent ----------------------------------------------------------

async def test_bulk_notify_intent_all_accepted_is_200(v1, api, pool):
    a, b = (await create(api, variant_id=4001))["id"], await v1_intent(v1, variant_id=4002)
    status, out, resp = await v1.post(f"{INTENTS}/bulk_notify_intent", json={"intent_ids": [a, b]})
    assert (status, out) == (200, {"success": [a, b], "failed": []})
    assert_deprecated(resp, "/back_in_stock/signups/bulk_notify")
    assert await job_kinds(pool) == ["bulk_notify"]


async def test_bulk_notify_intent_partial_is_207(v1, api, pool):
    ok, sent, busy = [(await create(api, variant_id=v))["id"] for v in (4001, 4002, 4003)]
    await mark_notified(pool, sent)
    assert (await api.post(f"/back_in_stock/signups/{busy}/notify", json={}))[0] == 202
    status, out, _ = await v1.post(f"{INTENTS}/bulk_notify_intent", json={"intent_ids": [ok, sent, busy, UNKNOWN]})
    assert status == 207
    assert out == {"success": [ok], "failed": [
        {"intent_id": sent, "error": "Intent was already notified; set allow_resend to send again"},
        {"intent_id": UNKNOWN, "error": "Intent not found"},
        {"intent_id": busy, "error": "A send for this intent is already queued or in flight"},
    ]}
    status, out, _ = await v1.post(f"{INTENTS}/bulk_notify_intent",
                                   json={"intent_ids": [sent], "allow_resend": True})
    assert (status, out) == (200, {"success": [sent], "failed": []})


@pytest.mark.parametrize("payload, field", [
    ({}, "intent_ids"), ({"intent_ids": []}, "intent_ids"), ({"intent_ids": ["x"]}, "intent_ids.0"),
    ({"ids": [UNKNOWN]}, "ids"),
])
async def test_bulk_notify_intent_bad_input_is_422(v1, pool, payload, field):
    status, out, resp = await v1.post(f"{INTENTS}/bulk_notify_intent", json=payload)
    assert status == 422 and field in out["fields"], out
    assert resp.headers["Deprecation"] == "true"
    assert await job_kinds(pool) == []


# --- bulk_destroy -------------------------------------------------------------

async def test_bulk_destroy_deletes_v2_signups(v1, api, pool):
    a, b = (await create(api, variant_id=4001))["id"], (await create(api, variant_id=4002))["id"]
    status, out, resp = await v1.delete(f"{INTENTS}/bulk_destroy", json={"intent_ids": [a, UNKNOWN]})
    assert (status, out) == (200, {"success": True, "deleted_count": 1})
    assert_deprecated(resp, "/back_in_stock/signups/bulk_delete")
    assert (await api.get(f"/back_in_stock/signups/{a}"))[0] == 404
    assert (await api.get(f"/back_in_stock/signups/{b}"))[0] == 200


async def test_bulk_destroy_with_a_notified_intent_deletes_nothing(v1, pool):
    ids = [await v1_intent(v1, variant_id=v) for v in (4001, 4002, 4003)]
    await mark_notified(pool, ids[2])
    await mark_notified(pool, ids[0])
    status, out, resp = await v1.delete(f"{INTENTS}/bulk_destroy", json={"intent_ids": ids})
    assert status == 422
    assert out["notified_intent_ids"] == [ids[0], ids[2]]
    assert set(out["fields"]) == {"intent_ids.0", "intent_ids.2"}
    assert ids[0] in out["errors"][0] and ids[2] in out["errors"][0] and "intents" in out["errors"][0]
    assert resp.headers["Deprecation"] == "true"
    assert await count(pool, "signups") == 3


async def test_bulk_destroy_none_known_is_404(v1, api, make_shop, pool):
    other = await make_shop()
    theirs = await create(api.with_key(other.api_key))
    status, out, resp = await v1.delete(f"{INTENTS}/bulk_destroy", json={"intent_ids": [theirs["id"], UNKNOWN]})
    assert status == 404 and out == {"errors": ["None of the listed intents was found"]}
    assert resp.headers["Deprecation"] == "true"
    assert await count(pool, "signups") == 1


async def test_bulk_destroy_needs_intent_ids_and_a_write_key(v1, client, pool, shop):
    status, out, _ = await v1.delete(f"{INTENTS}/bulk_destroy", json={"ids": [UNKNOWN]})
    assert status == 422 and set(out["fields"]) == {"ids", "intent_ids"}
    read_only = V1Api(client, {"X-Auth-Token": await admin.create_key(pool, shop.shop_id, read_only=True)})
    status, _, _ = await read_only.delete(f"{INTENTS}/bulk_destroy", json={"intent_ids": [UNKNOWN]})
    assert status == 403


# --- transfer_signups -------------------------------------------------------------

async def test_transfer_signups_moves_and_merges(v1, api, pool):
    moved = await v1_intent(v1, variant_id=4001, email="ann@example.com")
    merged = await v1_intent(v1, variant_id=4001, email="bob@example.com")
    await create(api, variant_id=4002, product_id=9002, email="bob@example.com")  # bob already waits there
    sent = await v1_intent(v1, variant_id=4001, email="cy@example.com")
    await mark_notified(pool, sent)
    body = {"from_shopify_variant_id": 4001, "from_shopify_product_id": 9001,
            "to_shopify_variant_id": 4002, "to_shopify_product_id": 9002}
    status, out, resp = await v1.post(f"{INTENTS}/transfer_signups", json=body)
    assert (status, out) == (200, {"transferred_count": 1, "merged_count": 1})
    assert_deprecated(resp, "/back_in_stock/signups/transfer")
    _, read, _ = await api.get(f"/back_in_stock/signups/{moved}")
    assert read["variant"]["shopify_variant_id"] == 4002
    assert (await api.get(f"/back_in_stock/signups/{merged}"))[0] == 404
    status, out, _ = await v1.post(f"{INTENTS}/transfer_signups", json={**body, "intent_type": "sent"})
    assert (status, out) == (200, {"transferred_count": 1, "merged_count": 0})
    _, listed, _ = await v1.get(INTENTS, params={"shopify_variant_id": "4001"})
    assert listed["intents"] == []


@pytest.mark.parametrize("change, field", [
    ({"intent_type": "some"}, "intent_type"),
    ({"to_shopify_variant_id": 4001}, "to_shopify_variant_id"),
    ({"from_shopify_variant_id": None}, "from_shopify_variant_id"),
    ({"scope": "all"}, "scope"),
])
async def test_transfer_signups_bad_input_is_422(v1, pool, change, field):
    await v1_intent(v1)
    body = {"from_shopify_variant_id": 4001, "from_shopify_product_id": 9001,
            "to_shopify_variant_id": 4002, "to_shopify_product_id": 9002, **change}
    status, out, _ = await v1.post(f"{INTENTS}/transfer_signups", json=body)
    assert status == 422 and field in out["fields"], out
    assert await pool.fetchval("SELECT variant_id FROM signups") == 4001


# --- products_in_demand -----------------------------------------------------------

async def test_products_in_demand_is_the_v2_report(v1, api, pool):
    for email in ("a@example.com", "b@example.com"):
        await create(api, variant_id=4002, product_id=9002, email=email)
    await v1_intent(v1, variant_id=4001)
    status, v2_out, _ = await api.get("/back_in_stock/reports/products_in_demand")
    assert status == 200, v2_out
    status, out, resp = await v1.get(f"{INTENTS}/products_in_demand")
    assert status == 200 and set(out) == {"products", "meta"}
    assert_deprecated(resp, "/back_in_stock/reports/products_in_demand")
    assert out["products"] == v2_out["products_in_demand"]
    assert [p["shopify_variant_id"] for p in out["products"]] == [4002, 4001]
    assert out["meta"] == {"total_count": 2, "page": 1, "per_page": 50, "total_pages": 1}

    status, out, _ = await v1.get(f"{INTENTS}/products_in_demand",
                                  params={"shopify_variant_id": "4001", "per_page": "500"})
    assert status == 200 and [p["shopify_variant_id"] for p in out["products"]] == [4001]
    assert out["meta"]["per_page"] == 500
    status, out, resp = await v1.get(f"{INTENTS}/products_in_demand", headers={"Accept": "text/csv"})
    assert status == 200 and resp.content_type == "application/json"


@pytest.mark.parametrize("params, field", [
    ({"per_page": "501"}, "per_page"), ({"sort": "nope"}, "sort"), ({"format": "csv"}, "format"),
    ({"variant_id": "1"}, "variant_id"), ({"start_date": "2026-02-02", "end_date": "2026-02-01"}, "start_date"),
])
async def test_products_in_demand_bad_query_is_422(v1, params, field):
    status, out, resp = await v1.get(f"{INTENTS}/products_in_demand", params=params)
    assert status == 422 and field in out["fields"], out
    assert resp.headers["Deprecation"] == "true"
