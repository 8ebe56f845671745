"""Small things a new user tripped on (issue 15 §9): CSV for Excel (bom=true),
business-rule 422s that name their field and count in good grammar, booleans
as strict as the published schemas, and X-RateLimit-* headers on every answer
to a recognised key (unmatched routes included) and on the address-limited pages."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from api_service.app import create_app
from api_service.registry import BASE_PATH
from shared_models import tokens
from tests.factories import create, mark_notified, signup_body

DEMAND = "/back_in_stock/reports/products_in_demand"
RATE = ("X-RateLimit-Limit", "X-RateLimit-Remaining")


# --- CSV with a byte order mark ----------------------------------------------------------

async def test_csv_export_takes_bom_for_excel(api, pool, shop):
    await create(api, variant_id=4001)
    await pool.execute("UPDATE variants SET product_title = 'Café crème', variant_title = NULL "
                       "WHERE shop_id = $1 AND variant_id = 4001", shop.shop_id)
    status, _, plain = await api.get(DEMAND, params={"format": "csv"})
    assert status == 200
    plain_bytes = await plain.read()
    status, _, marked = await api.get(DEMAND, params={"format": "csv", "bom": "true"})
    assert status == 200 and marked.headers["Content-Type"].startswith("text/csv")
    marked_bytes = await marked.read()
    assert marked_bytes[:3] == b"\xef\xbb\xbf" and not plain_bytes.startswith(b"\xef\xbb\xbf")
    assert marked_bytes[3:] == plain_bytes  # the same export, only marked
    assert "Café crème" in marked_bytes.decode("utf-8-sig")
    status, _, summary = await api.get("/back_in_stock/reports/summary", params={"format": "csv", "bom": "true"})
    assert status == 200 and (await summary.read()).startswith(b"\xef\xbb\xbf")
    status, _, as_json = await api.get(DEMAND, params={"bom": "true"})  # JSON: ignored
    assert status == 200 and as_json.content_type == "application/json"
    status, body, _ = await api.get(DEMAND, params={"format": "csv", "bom": "yes"})
    assert status == 422 and body["fields"] == {"bom": ["Not a valid boolean."]}


# --- business-rule 422s ------------------------------------------------------------------

async def test_already_notified_names_allow_resend(api, pool):
    signup = await create(api)
    await mark_notified(pool, signup["id"])
    status, body, _ = await api.post(f"/back_in_stock/signups/{signup['id']}/notify", json={})
    assert status == 422
    assert body["errors"] == ["Signup was already notified; set allow_resend to send again"]
    assert list(body["fields"]) == ["allow_resend"]


async def test_bulk_delete_counts_in_good_grammar(api, pool, client, shop):
    one = await create(api, email="one@example.com")
    await mark_notified(pool, one["id"])
    status, body, _ = await api.post("/back_in_stock/signups/bulk_delete", json={"ids": [one["id"]]})
    assert status == 422 and "1 of the listed signups was already notified" in body["errors"][0]
    assert list(body["fields"]) == ["ids.0"]
    two = await create(api, email="two@example.com")
    await mark_notified(pool, two["id"])
    status, body, _ = await api.post("/back_in_stock/signups/bulk_delete", json={"ids": [one["id"], two["id"]]})
    assert status == 422 and "2 of the listed signups were already notified" in body["errors"][0]
    resp = await client.delete("/api/v1/external/intents/bulk_destroy", json={"intent_ids": [one["id"]]},
                               headers=shop.headers)
    body = await resp.json()
    assert resp.status == 422 and "1 of the listed intents was already notified" in body["errors"][0]
    assert list(body["fields"]) == ["intent_ids.0"]


# --- strict booleans ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["yes", "on", 1, "true", 0, "1"])
async def test_booleans_are_json_booleans_only(api, client, shop, value):
    signup = await create(api)
    status, body, _ = await api.post(f"/back_in_stock/signups/{signup['id']}/notify",
                                     json={"allow_resend": value})
    assert status == 422 and body["fields"] == {"allow_resend": ["Not a valid boolean."]}
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify",
                                     json={"ids": [signup["id"]], "batched": value, "allow_resend": value})
    assert status == 422
    assert body["fields"] == {"allow_resend": ["Not a valid boolean."], "batched": ["Not a valid boolean."]}
    customer = signup_body(email="strict@example.com")["customer"] | {"accepts_marketing": value}
    status, body, _ = await api.post("/back_in_stock/signups", json=signup_body(customer=customer))
    assert status == 422 and body["fields"] == {"customer.accepts_marketing": ["Not a valid boolean."]}
    resp = await client.post("/api/v1/external/intents/notify_intent", headers=shop.headers,
                             json={"id": signup["id"], "allow_resend": value})
    assert resp.status == 422 and (await resp.json())["fields"] == {"allow_resend": ["Not a valid boolean."]}


async def test_real_booleans_still_work_and_query_booleans_are_true_or_false(api, client, shop):
    signup = await create(api)
    status, body, _ = await api.post(f"/back_in_stock/signups/{signup['id']}/notify", json={"allow_resend": True})
    assert status == 202, body
    for spelling, status_code in (("true", 200), ("false", 200), ("yes", 422), ("1", 422), ("TRUE", 422)):
        resp = await client.get("/api/v1/external/intents", params={"notified": spelling}, headers=shop.headers)
        assert resp.status == status_code, (spelling, await resp.text())


# --- X-RateLimit-* -----------------------------------------------------------------------

async def test_rate_headers_on_unmatched_routes_for_a_recognised_key(client, shop):
    first = await client.get(BASE_PATH + "/back_in_stock/nothing", headers=shop.headers)
    assert first.status == 404 and all(h in first.headers for h in RATE)
    second = await client.post(BASE_PATH + "/back_in_stock/signups/x/y", headers=shop.headers)
    assert second.status == 404 and all(h in second.headers for h in RATE)
    outside = await client.get("/nowhere", headers=shop.headers)
    assert outside.status == 404 and all(h in outside.headers for h in RATE)
    unknown_key = await client.get(BASE_PATH + "/back_in_stock/nothing", headers={"X-Auth-Token": "bis_no_x"})
    # An unknown key was looked up and failed: the address's failed-lookup budget, as on a 401.
    assert unknown_key.status == 404 and all(h in unknown_key.headers for h in RATE)
    keyless = await client.get(BASE_PATH + "/back_in_stock/nothing")
    assert keyless.status == 404 and not any(h in keyless.headers for h in RATE)


async def test_rate_headers_on_errors_after_the_key_and_on_public_pages(client, shop, config):
    for path in ("/back_in_stock/signups/" + str(uuid.uuid4()), "/back_in_stock/signups?per_page=0",
                 "/help?prefix=nope"):
        resp = await client.get(BASE_PATH + path, headers=shop.headers)
        assert resp.status in (404, 422) and all(h in resp.headers for h in RATE), path
    page = await client.get("/u/" + tokens.sign("unsubscribe", shop.shop_id, uuid.uuid4(), config.secret_key),
                            headers={"Accept": "text/html"})
    assert page.status == 404 and all(h in page.headers for h in RATE)


async def test_an_unmatched_route_counts_against_the_keys_budget(config, aiohttp_client, shop):
    strict = await aiohttp_client(create_app(dataclasses.replace(config, rate_limit_burst=2,
                                                                 rate_limit_per_second=0.01)))
    seen = []
    for _ in range(3):
        resp = await strict.get(BASE_PATH + "/back_in_stock/nothing", headers=shop.headers)
        seen.append((resp.status, resp.headers.get("X-RateLimit-Remaining")))
    assert seen == [(404, "1"), (404, "0"), (429, "0")]


async def test_a_401_carries_the_addresss_failed_lookup_budget(client, shop):
    seen = []
    for _ in range(2):
        resp = await client.get(BASE_PATH + "/back_in_stock/signups", headers={"X-Auth-Token": "bis_unknownkey"})
        seen.append((resp.status, resp.headers.get("X-RateLimit-Limit"), resp.headers.get("X-RateLimit-Remaining")))
    limit = int(seen[0][1])
    assert seen == [(401, str(limit), str(limit - 1)), (401, str(limit), str(limit - 2))]
    keyless = await client.get(BASE_PATH + "/back_in_stock/signups")
    assert keyless.status == 401 and not any(h in keyless.headers for h in RATE)  # nothing was looked up
