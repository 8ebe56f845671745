"""Read, delete, bulk_delete and transfer; routes and /help of the signups actions."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from tests.conftest import Api
from tests.factories import add_notification, count, create, mark_notified, set_columns, signup_body

PATH = "/back_in_stock/signups"
NOT_FOUND = {"errors": ["Signup not found"]}
UTC = dt.timezone.utc


async def exists(pool, signup_id: str) -> bool:
    return bool(await pool.fetchval("SELECT 1 FROM signups WHERE signup_id = $1", uuid.UUID(signup_id)))


# --- read and delete ---------------------------------------------------------------

@pytest.mark.parametrize("signup_id", ["0b7c9a52-3f1e-4d6a-9c1e-5a2f8d4b6e10", "not-a-uuid", "bulk_delete"])
async def test_read_unknown_is_404(api, signup_id):
    status, body, _ = await api.get(f"{PATH}/{signup_id}")
    assert (status, body) == (404, NOT_FOUND)


async def test_another_shops_signup_is_404_for_read_and_delete(api, client, make_shop, pool):
    other = Api(client, (await make_shop()).headers)
    theirs = await create(other)
    status, body, _ = await api.get(f"{PATH}/{theirs['id']}")
    assert (status, body) == (404, NOT_FOUND)
    status, body, _ = await api.delete(f"{PATH}/{theirs['id']}")
    assert (status, body) == (404, NOT_FOUND)
    assert await exists(pool, theirs["id"])
    status, body, _ = await other.get(f"{PATH}/{theirs['id']}")
    assert status == 200 and body["id"] == theirs["id"]


async def test_delete_keeps_notifications(api, pool, shop):
    signup = await create(api)
    await mark_notified(pool, signup["id"])
    kept = await add_notification(pool, shop.shop_id, signup["id"])
    status, body, resp = await api.delete(f"{PATH}/{signup['id']}")
    assert status == 204 and body == ""
    assert not await exists(pool, signup["id"])
    assert await pool.fetchval("SELECT signup_id FROM notifications WHERE notification_id = $1", kept) == \
        uuid.UUID(signup["id"])
    status, body, _ = await api.get(f"{PATH}/{signup['id']}")
    assert (status, body) == (404, NOT_FOUND)
    status, body, _ = await api.delete(f"{PATH}/{signup['id']}")
    assert (status, body) == (404, NOT_FOUND)


# --- bulk_delete --------------------------------------------------------------------

BULK_DELETE = f"{PATH}/bulk_delete"


async def test_bulk_delete_deletes_and_reports_unknown_ids(api, pool, client, make_shop):
    a = await create(api, email="a@example.com")
    b = await create(api, email="b@example.com")
    keep = await create(api, email="k@example.com")
    theirs = await create(Api(client, (await make_shop()).headers))
    unknown = str(uuid.uuid4())
    status, body, _ = await api.post(BULK_DELETE, json={"ids": [a["id"], unknown, b["id"], a["id"], theirs["id"]]})
    assert status == 200, body
    assert body == {"deleted_count": 2, "not_found": [unknown, theirs["id"]]}
    assert not await exists(pool, a["id"]) and not await exists(pool, b["id"])
    assert await exists(pool, keep["id"]) and await exists(pool, theirs["id"])


async def test_bulk_delete_none_known_is_404(api, pool, client, make_shop):
    await create(api)
    theirs = await create(Api(client, (await make_shop()).headers))
    status, body, _ = await api.post(BULK_DELETE, json={"ids": [str(uuid.uuid4()), theirs["id"]]})
    assert status == 404 and body["errors"]
    assert await count(pool, "signups") == 2


@pytest.mark.parametrize("how", ["last_notified_at", "notifications_sent"])
async def test_bulk_delete_with_a_notified_signup_deletes_nothing(api, pool, how):
    waiting = await create(api, email="w@example.com")
    sent = await create(api, email="s@example.com")
    if how == "last_notified_at":
        await set_columns(pool, sent["id"], last_notified_at=dt.datetime.now(UTC))
    else:
        await set_columns(pool, sent["id"], notifications_sent=1)
    status, body, _ = await api.post(BULK_DELETE, json={"ids": [waiting["id"], sent["id"], str(uuid.uuid4())]})
    assert status == 422, body
    assert body["notified_ids"] == [sent["id"]]
    assert sent["id"] in body["errors"][0]
    assert list(body["fields"]) == ["ids.1"]
    assert await exists(pool, waiting["id"]) and await exists(pool, sent["id"])


@pytest.mark.parametrize("payload, field", [
    ({}, "ids"),
    ({"ids": []}, "ids"),
    ({"ids": None}, "ids"),
    ({"ids": "x"}, "ids"),
    ({"ids": [str(uuid.uuid4()), "nope"]}, "ids.1"),
    ({"ids": [str(uuid.uuid4())] * 10_001}, "ids"),
    ({"ids": [str(uuid.uuid4())], "force": True}, "force"),
])
async def test_bulk_delete_bad_input_is_422(api, pool, payload, field):
    signup = await create(api)
    if payload.get("ids") and isinstance(payload["ids"], list) and len(payload["ids"]) < 3:
        payload = {**payload, "ids": [signup["id"], *payload["ids"][1:]]}
    status, body, _ = await api.post(BULK_DELETE, json=payload)
    assert status == 422, body
    assert field in body["fields"], body
    assert await exists(pool, signup["id"])


async def test_bulk_delete_accepts_10000_ids(api, pool):
    signup = await create(api)
    ids = [signup["id"]] + [str(uuid.uuid4()) for _ in range(9_999)]
    status, body, _ = await api.post(BULK_DELETE, json={"ids": ids})
    assert status == 200 and body["deleted_count"] == 1 and len(body["not_found"]) == 9_999


# --- transfer -----------------------------------------------------------------------

TRANSFER = f"{PATH}/transfer"
MOVE = {"from_variant_id": 4001, "from_product_id": 9001, "to_variant_id": 5001, "to_product_id": 9501}


async def variant_of(api, signup_id: str) -> tuple[int, int, str]:
    status, body, _ = await api.get(f"{PATH}/{signup_id}")
    assert status == 200, body
    return body["variant"]["shopify_variant_id"], body["variant"]["shopify_product_id"], body["status"]


async def make_states(api, pool) -> dict[str, dict]:
    """One signup per state on variant 4001, each of another customer."""
    now = dt.datetime.now(UTC)
    made = {state: await create(api, email=f"{state}@example.com")
            for state in ("pending", "blocked", "notified", "unsubscribed")}
    await set_columns(pool, made["blocked"]["id"], last_blocked_at=now)
    await set_columns(pool, made["notified"]["id"], last_notified_at=now, notifications_sent=1)
    await set_columns(pool, made["unsubscribed"]["id"], unsubscribed_at=now)
    return made


@pytest.mark.parametrize("scope, moved", [
    (None, {"pending", "blocked"}),
    ("unsent", {"pending", "blocked"}),
    ("sent", {"notified"}),
    ("all", {"pending", "blocked", "notified", "unsubscribed"}),
])
async def test_transfer_scopes(api, pool, scope, moved):
    made = await make_states(api, pool)
    other_product = await create(api, email="x@example.com", product_id=1234, variant_id=4001)
    payload = dict(MOVE) if scope is None else {**MOVE, "scope": scope}
    status, body, _ = await api.post(TRANSFER, json=payload)
    assert status == 200, body
    assert body == {"transferred_count": len(moved), "merged_count": 0}
    for state, signup in made.items():
        expected = (5001, 9501) if state in moved else (4001, 9001)
        assert await variant_of(api, signup["id"]) == (*expected, state)  # status kept
    # a signup on 4001 under another product id doesn't match from_product_id
    assert (await variant_of(api, other_product["id"]))[:2] == (4001, 1234)


async def test_transfer_matches_the_product_too(api, pool):
    signup = await create(api)
    status, body, _ = await api.post(TRANSFER, json={**MOVE, "from_product_id": 1})
    assert body == {"transferred_count": 0, "merged_count": 0}
    assert (await variant_of(api, signup["id"]))[:2] == (4001, 9001)


async def test_transfer_merges_into_the_customers_open_target_keeping_the_earlier_position(api, pool, shop):
    source = await create(api)                                      # Ann on 4001
    target = await create(api, variant_id=5001, product_id=9501)    # Ann on 5001
    lone = await create(api, email="bob@example.com")               # Bob on 4001: moves
    early = dt.datetime(2026, 1, 1, tzinfo=UTC)
    await set_columns(pool, source["id"], created_at=early, last_blocked_at=early)
    await set_columns(pool, target["id"], created_at=dt.datetime(2026, 2, 1, tzinfo=UTC))
    blocked_attempt = await add_notification(pool, shop.shop_id, source["id"], status="blocked")
    status, body, _ = await api.post(TRANSFER, json=MOVE)
    assert status == 200, body
    assert body == {"transferred_count": 1, "merged_count": 1}
    assert not await exists(pool, source["id"])
    status, merged, _ = await api.get(f"{PATH}/{target['id']}")
    assert merged["created_at"] == "2026-01-01T00:00:00Z"
    assert merged["status"] == "blocked"  # the merged source's last blocked attempt came along
    row = await pool.fetchrow("SELECT signup_id, variant_id, product_id FROM notifications "
                              "WHERE notification_id = $1", blocked_attempt)
    assert (row["signup_id"], row["variant_id"], row["product_id"]) == (uuid.UUID(target["id"]), 4001, 9001)
    assert (await variant_of(api, lone["id"]))[:2] == (5001, 9501)
    status, listed, _ = await api.get(PATH, params={"variant_id": "5001"})
    assert [s["id"] for s in listed["signups"]] == [lone["id"], target["id"]]


async def test_transfer_merge_keeps_the_target_when_it_is_older(api, pool):
    source = await create(api)
    target = await create(api, variant_id=5001, product_id=9501)
    await set_columns(pool, target["id"], created_at=dt.datetime(2025, 1, 1, tzinfo=UTC))
    status, body, _ = await api.post(TRANSFER, json=MOVE)
    assert body == {"transferred_count": 0, "merged_count": 1}
    status, merged, _ = await api.get(f"{PATH}/{target['id']}")
    assert merged["created_at"] == "2025-01-01T00:00:00Z"
    assert not await exists(pool, source["id"])


async def test_transfer_does_not_merge_across_channels_or_into_notified_targets(api, pool):
    email_src = await create(api)
    await create(api, channel="sms", phone="+14155550123", variant_id=5001, product_id=9501)
    notified_target = await create(api, email="bob@example.com", variant_id=5001, product_id=9501)
    await mark_notified(pool, notified_target["id"])
    bob_src = await create(api, email="bob@example.com")
    status, body, _ = await api.post(TRANSFER, json=MOVE)
    assert body == {"transferred_count": 2, "merged_count": 0}
    assert (await variant_of(api, email_src["id"]))[:2] == (5001, 9501)
    assert (await variant_of(api, bob_src["id"]))[:2] == (5001, 9501)
    assert await exists(pool, notified_target["id"])


async def test_transfer_sent_signups_never_merge(api, pool):
    src = await create(api)
    await mark_notified(pool, src["id"])
    tgt = await create(api, variant_id=5001, product_id=9501)
    await mark_notified(pool, tgt["id"])
    status, body, _ = await api.post(TRANSFER, json={**MOVE, "scope": "sent"})
    assert body == {"transferred_count": 1, "merged_count": 0}
    assert await exists(pool, src["id"]) and await exists(pool, tgt["id"])


async def test_transfer_leaves_other_shops_alone(api, client, make_shop, pool):
    theirs = await create(Api(client, (await make_shop()).headers))
    mine = await create(api)
    status, body, _ = await api.post(TRANSFER, json=MOVE)
    assert body == {"transferred_count": 1, "merged_count": 0}
    assert await pool.fetchval("SELECT variant_id FROM signups WHERE signup_id = $1", uuid.UUID(theirs["id"])) == 4001
    assert (await variant_of(api, mine["id"]))[:2] == (5001, 9501)


async def test_transfer_racing_creates_on_the_target_keeps_one_open_signup_each(api, pool):
    emails = [f"r{i}@example.com" for i in range(15)]
    for email in emails:
        await create(api, email=email)
    calls = [api.post(TRANSFER, json=MOVE)]
    calls += [api.post(PATH, json=signup_body(email=e, variant_id=5001, product_id=9501)) for e in emails]
    results = await asyncio.gather(*calls)
    assert results[0][0] == 200, results[0][1]
    assert all(r[0] in (200, 201) for r in results[1:]), [r[1] for r in results[1:]]
    moved = results[0][1]
    assert moved["transferred_count"] + moved["merged_count"] == 15
    rows = await pool.fetch("SELECT variant_id, count(*) AS n, count(DISTINCT customer_id) AS customers "
                            "FROM signups GROUP BY variant_id")
    assert [(r["variant_id"], r["n"], r["customers"]) for r in rows] == [(5001, 15, 15)]


@pytest.mark.parametrize("payload, field", [
    ({**MOVE, "to_variant_id": 4001}, "to_variant_id"),
    ({**MOVE, "scope": "waiting"}, "scope"),
    ({k: v for k, v in MOVE.items() if k != "to_product_id"}, "to_product_id"),
    ({**MOVE, "from_variant_id": "4001"}, "from_variant_id"),
    ({**MOVE, "from_product_id": 0}, "from_product_id"),
    ({**MOVE, "dry_run": True}, "dry_run"),
])
async def test_transfer_bad_input_is_422_and_moves_nothing(api, pool, payload, field):
    signup = await create(api)
    status, body, _ = await api.post(TRANSFER, json=payload)
    assert status == 422, body
    assert field in body["fields"], body
    assert (await variant_of(api, signup["id"]))[:2] == (4001, 9001)


# --- routes and /help ----------------------------------------------------------------

async def test_notify_actions_are_routed_and_validated(api):
    signup = await create(api)
    status, body, _ = await api.post(f"{PATH}/bulk_notify", json={"ids": [signup["id"]]})
    assert status == 202 and body["accepted"] == [signup["id"]]  # not captured by /signups/{id}
    status, body, _ = await api.post(f"{PATH}/bulk_notify", json={"ids": [signup["id"]], "filter": {}})
    assert status == 422 and "ids" in body["fields"]
    status, body, _ = await api.post(f"{PATH}/bulk_notify", json={"filter": {"status": "sent"}})
    assert status == 422 and "filter.status" in body["fields"]
    status, body, _ = await api.post(f"{PATH}/{signup['id']}/notify", json={"allow_resend": "maybe"})
    assert status == 422 and "allow_resend" in body["fields"]
    status, body, _ = await api.post(f"{PATH}/{signup['id']}/notify", json={"allow_resend": True})
    assert status == 409  # the bulk_notify above still holds it in flight


async def test_unregistered_method_is_404(api):
    status, body, _ = await api.patch(f"{PATH}/{uuid.uuid4()}", json={})
    assert status == 404 and body["errors"][0].startswith("No v2 action registered for PATCH")


async def test_help_lists_the_signups_actions_in_order(api):
    status, body, _ = await api.get("/back_in_stock/help")
    names = [a["name"] for a in body["actions"] if a["path"].startswith("/back_in_stock/signups")]
    assert names == ["back_in_stock_signups_list", "back_in_stock_signups_read", "back_in_stock_signups_create",
                     "back_in_stock_signups_delete", "back_in_stock_signups_notify",
                     "back_in_stock_signups_bulk_notify", "back_in_stock_signups_bulk_delete",
                     "back_in_stock_signups_transfer"]
    by_name = {a["name"]: a for a in body["actions"]}
    assert by_name["back_in_stock_signups_list"]["aliases"] == ["GET /api/v1/external/intents"]
    assert by_name["back_in_stock_signups_bulk_delete"]["aliases"] == ["DELETE /api/v1/external/intents/bulk_destroy"]
    create_schema = by_name["back_in_stock_signups_create"]["request_schema"]
    assert set(create_schema["required"]) == {"variant_id", "channel", "customer"}
    assert by_name["back_in_stock_signups_read"]["request_schema"]["required"] == ["id"]
    assert by_name["back_in_stock_signups_transfer"]["request_schema"]["properties"]["scope"]["enum"] == \
        ["unsent", "sent", "all", None]
