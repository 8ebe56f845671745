"""Tenant isolation, for every action of the registry (a new one is covered,
or makes these tests fail until it is): shop B's key on shop A's rows.

- An action with a path id, given A's id with B's key: 404 in the error
  envelope, exactly as for an id that exists nowhere.
- Every GET without a path id (lists, settings, reports), with A's ids and
  A-only values as filters: never one of A's rows, and B sees the same thing
  whether A's data exists or not.
- Bulk actions given A's ids: bulk_delete 404 (none known), bulk_notify
  rejects them as not found, transfer moves nothing.
- The v1 aliases likewise.
- After all of it, A's rows are exactly as before."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import pytest_asyncio

from api_service.registry import V1_BASE_PATH, all_actions
from tests.factories import add_notification, mark_notified, signup_body

ACTIONS = all_actions()
PATH_ID_ACTIONS = [a for a in ACTIONS if a.path_params]
LIST_ACTIONS = [a for a in ACTIONS if a.method == "GET" and not a.path_params]
V1_ALIASES = sorted(alias for a in ACTIONS for alias in a.aliases)
SHARED_EMAIL = "ann@example.com"  # both shops have a customer with it
A_ONLY = {"email": "alice-a-only@example.com", "name": "Alice Aonly", "variant": 4777, "product": 9777}

# What is compared before and after: every row of A, in a stable order.
SNAPSHOT = {
    "signups": "SELECT * FROM signups WHERE shop_id = $1 ORDER BY signup_id",
    "customers": "SELECT * FROM customers WHERE shop_id = $1 ORDER BY customer_id",
    "notifications": "SELECT * FROM notifications WHERE shop_id = $1 ORDER BY notification_id",
    "jobs": "SELECT * FROM jobs WHERE shop_id = $1 ORDER BY job_id",
    "job_targets": "SELECT * FROM job_targets WHERE shop_id = $1 ORDER BY 1, 2, 3",
    "settings": "SELECT * FROM settings WHERE shop_id = $1",
    "variants": "SELECT * FROM variants WHERE shop_id = $1 ORDER BY variant_id",
}


class World:
    """Shop A with a bit of everything, shop B with a signup on the same variant and email."""

    def __init__(self, api, pool, a, b):
        self.pool, self.a, self.b = pool, a, b
        self.api_a, self.api_b = api.with_key(a.api_key), api.with_key(b.api_key)
        self.ids: dict[str, list[str]] = {"Signup": [], "Notification": [], "Job": [], "Customer": [],
                                          "Data request": []}

    async def create(self, api, shop, **kwargs) -> dict:
        body = signup_body(**kwargs)
        variant = kwargs.get("variant_id", 4001)
        body["product"]["url"] = f"https://{shop.domain}/products/linen-shirt?variant={variant}"
        status, out, _ = await api.post("/back_in_stock/signups", json=body)
        assert status == 201, out
        return out

    async def build(self) -> "World":
        a, api = self.a, self.api_a
        waiting = await self.create(api, a, email=SHARED_EMAIL)
        notified = await self.create(api, a, variant_id=4002, email=SHARED_EMAIL)
        a_only = await self.create(api, a, variant_id=A_ONLY["variant"], product_id=A_ONLY["product"],
                                   email=A_ONLY["email"], name=A_ONLY["name"])
        spare = await self.create(api, a, variant_id=4003, email="spare@example.com")
        await mark_notified(self.pool, notified["id"])
        notification = await add_notification(self.pool, a.shop_id, notified["id"], variant_id=4002)
        status, job, _ = await api.post(f"/back_in_stock/signups/{spare['id']}/notify", json={})
        assert status == 202, job
        self.waiting, self.a_only, self.job = waiting, a_only, job["job_id"]
        self.ids["Signup"] = [waiting["id"], notified["id"], a_only["id"], spare["id"]]
        self.ids["Notification"] = [str(notification)]
        self.ids["Job"] = [job["job_id"]]
        self.ids["Customer"] = sorted({s["customer"]["id"] for s in (waiting, notified, a_only, spare)})
        export = uuid.uuid4()  # a customers/data_request export, as the dispatcher stores it
        await self.pool.execute("INSERT INTO data_requests (shop_id, request_id, webhook_id, export) "
                                "VALUES ($1, $2, 'w-export', $3)", a.shop_id, export,
                                {"customers": [{"email": A_ONLY["email"], "name": A_ONLY["name"]}]})
        self.ids["Data request"] = [str(export)]
        self.b_signup = await self.create(self.api_b, self.b, email=SHARED_EMAIL)
        return self

    async def snapshot(self) -> dict[str, list[dict]]:
        return {name: [dict(r) for r in await self.pool.fetch(sql, self.a.shop_id)]
                for name, sql in SNAPSHOT.items()}

    def markers(self) -> list[str]:
        """Strings that only A's rows carry."""
        return [*(i for ids in self.ids.values() for i in ids), A_ONLY["email"], A_ONLY["name"]]


@pytest_asyncio.fixture
async def world(api, pool, make_shop) -> World:
    a = await make_shop(plan="pro")
    b = await make_shop(plan="pro")
    return await World(api, pool, a, b).build()


def _body_for(action) -> dict[str, Any] | None:
    if action.body_schema is None:
        return None
    return {}  # notify: allow_resend defaults to false; every body of a path-id action is optional


@pytest.mark.parametrize("action", PATH_ID_ACTIONS, ids=lambda a: a.name)
async def test_another_shops_id_is_404_like_a_missing_one(world, action):
    assert action.path_params == ["id"], f"{action.name}: teach this test its path params"
    assert action.resource in world.ids, f"{action.name}: teach this test about {action.resource} rows"
    before = await world.snapshot()
    for foreign in world.ids[action.resource]:
        status, body, _ = await world.api_b.call(action.method, action.path.replace("{id}", foreign),
                                                 json=_body_for(action))
        missing, missing_body, _ = await world.api_b.call(
            action.method, action.path.replace("{id}", str(uuid.uuid4())), json=_body_for(action))
        assert status == 404, (action.name, status, body)
        assert isinstance(body, dict) and list(body) == ["errors"] and body["errors"][0], body
        assert (status, body) == (missing, missing_body)  # indistinguishable from a missing id
    assert await world.snapshot() == before


def _filters(action, world: World) -> list[dict[str, str]]:
    """No filter, then each filter the action takes set to one of A's values."""
    values = {"variant_id": str(A_ONLY["variant"]), "product_id": str(A_ONLY["product"]),
              "email": "alice-a-only", "signup_id": world.a_only["id"], "job_id": world.job,
              "shopify_variant_id": str(A_ONLY["variant"]), "shopify_product_id": str(A_ONLY["product"])}
    names = {f.data_key or n for n, f in action.query_schema().fields.items()} if action.query_schema else set()
    return [{}] + [{name: value} for name, value in values.items() if name in names]


async def _views(world: World, calls: list[tuple[str, dict]]) -> list[tuple[int, Any]]:
    out = []
    for path, params in calls:
        status, body, _ = await world.api_b.get(path, params=params)
        out.append((status, body))
    return out


async def test_lists_and_reports_never_show_another_shops_rows(world, pool):
    calls = [(a.path, p) for a in LIST_ACTIONS for p in _filters(a, world)]
    with_a = await _views(world, calls)
    for (path, params), (status, body) in zip(calls, with_a):
        assert status == 200, (path, params, body)
        text = json.dumps(body)
        leaked = [m for m in world.markers() if m in text]
        assert not leaked, (path, params, leaked)
    # B's own signup is there (the lists work), A's same-email, same-variant one isn't.
    status, body, _ = await world.api_b.get("/back_in_stock/signups", params={"email": "ann"})
    assert [s["id"] for s in body["signups"]] == [world.b_signup["id"]]
    # Whether A's data exists makes no difference to anything B sees.
    await pool.execute("DELETE FROM shops WHERE shop_id = $1", world.a.shop_id)
    assert await _views(world, calls) == with_a


async def test_bulk_actions_ignore_another_shops_ids(world):
    before = await world.snapshot()
    a_ids = world.ids["Signup"]
    status, body, _ = await world.api_b.post("/back_in_stock/signups/bulk_delete", json={"ids": a_ids})
    assert status == 404 and list(body) == ["errors"], body

    status, body, _ = await world.api_b.post("/back_in_stock/signups/bulk_notify", json={"ids": a_ids})
    assert status == 202, body
    assert body["accepted_count"] == 0 and body["accepted"] == []
    assert sorted(r["id"] for r in body["rejected"]) == sorted(a_ids)
    assert {r["error"] for r in body["rejected"]} == {"Signup not found"}

    # A filter selects B's signups only (B has one waiting on the shared email).
    status, body, _ = await world.api_b.post("/back_in_stock/signups/bulk_notify",
                                             json={"filter": {"email": "ann"}})
    assert status == 202 and body["accepted_count"] == 1, body

    for scope in ("unsent", "sent", "all"):
        status, body, _ = await world.api_b.post("/back_in_stock/signups/transfer", json={
            "from_variant_id": A_ONLY["variant"], "from_product_id": A_ONLY["product"],
            "to_variant_id": 4999, "to_product_id": 9999, "scope": scope})
        assert status == 200 and body == {"transferred_count": 0, "merged_count": 0}, body
    assert await world.snapshot() == before


async def test_writes_of_another_shop_leave_a_untouched(world):
    """B's settings, create and cancel calls never reach A's rows."""
    before = await world.snapshot()
    for action in ACTIONS:
        if action.method == "PATCH" and action.path.startswith("/back_in_stock/settings/"):
            status, current, _ = await world.api_b.get(action.path)
            assert status == 200
            status, body, _ = await world.api_b.patch(action.path, json=current)  # same values, rewritten
            assert status == 200, (action.name, body)
    status, body, _ = await world.api_b.patch("/back_in_stock/settings",
                                              json={"delivery": {"order": "newest_first"}})
    assert status == 200, body
    await world.create(world.api_b, world.b, variant_id=A_ONLY["variant"], product_id=A_ONLY["product"],
                       email=A_ONLY["email"])
    assert await world.snapshot() == before


# v1: each alias called with B's key on A's ids, in v1's shapes.
def _v1_calls(world: World) -> dict[str, tuple[str, str, Any, Any]]:
    """alias -> (method, path, json, check(status, body))."""
    a = world.ids["Signup"]
    base = V1_BASE_PATH + "/intents"

    def not_found(status, body):
        assert status == 404 and list(body) == ["errors"], body

    def bulk_notify(status, body):
        assert status == 207, body
        assert body["success"] == [] and sorted(f["intent_id"] for f in body["failed"]) == sorted(a)

    def transfer(status, body):
        assert status == 200 and body["transferred_count"] == 0 and body["merged_count"] == 0, body

    def clean_list(status, body):
        assert status == 200, body
        text = json.dumps(body)
        assert not [m for m in world.markers() if m in text], body

    def created_in_b(status, body):
        assert status == 201, body
        assert body["intent"]["id"] not in a

    return {
        f"GET {base}": ("GET", base, None, clean_list),
        f"GET {base}/{{id}}": ("GET", f"{base}/{a[0]}", None, not_found),
        f"POST {base}": ("POST", base, {
            "intent": {"shopify_variant_id": A_ONLY["variant"], "shopify_product_id": A_ONLY["product"],
                       "channel": "email"},
            "customer": {"email": A_ONLY["email"]}}, created_in_b),
        f"POST {base}/notify_intent": ("POST", f"{base}/notify_intent", {"id": a[0]}, not_found),
        f"POST {base}/bulk_notify_intent": ("POST", f"{base}/bulk_notify_intent", {"intent_ids": a}, bulk_notify),
        f"DELETE {base}/bulk_destroy": ("DELETE", f"{base}/bulk_destroy", {"intent_ids": a}, not_found),
        f"POST {base}/transfer_signups": ("POST", f"{base}/transfer_signups", {
            "from_shopify_variant_id": A_ONLY["variant"], "from_shopify_product_id": A_ONLY["product"],
            "to_shopify_variant_id": 4999, "to_shopify_product_id": 9999, "intent_type": "all"}, transfer),
        f"GET {base}/products_in_demand": ("GET", f"{base}/products_in_demand", None, clean_list),
    }


@pytest.mark.parametrize("alias", V1_ALIASES)
async def test_v1_aliases_keep_shops_apart(world, alias):
    calls = _v1_calls(world)
    assert alias in calls, f"teach this test the v1 alias {alias}"
    method, path, body, check = calls[alias]
    before = await world.snapshot()
    resp = await world.api_b.client.request(method, path, json=body, headers=world.api_b.headers)
    check(resp.status, await resp.json())
    assert await world.snapshot() == before
