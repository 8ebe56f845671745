"""Auth, the error envelope, unknown routes, body limits and Idempotency-Key,
on a test app whose registry holds a few actions made for the purpose."""
from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from marshmallow import Schema, fields, validate

from api_service.admin import shops as admin
from api_service.app import create_app
from api_service.context import Call, Reply
from shared_models.errors import ApiError
from api_service.registry import Action, all_actions

BASE = "/api/v2/external"


class EchoBody(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=20))
    count = fields.Integer(validate=validate.Range(min=1, max=5))


CALLS: list[dict] = []


async def echo(call: Call) -> Reply:
    if call.body["name"] == "slow":
        await asyncio.sleep(0.3)
    if call.body["name"] == "boom":
        raise RuntimeError("unexpected")
    if call.body["name"] == "teapot":
        raise ApiError("I refuse", status=418)
    CALLS.append(call.body)
    await call.pool.execute("UPDATE shops SET name = name || '!' WHERE shop_id = $1", call.shop.shop_id)
    return Reply({"echo": call.body, "n": len(CALLS)}, status=201)


TEST_ACTIONS = [
    Action(name="test_echo", method="POST", path="/test/echo", handler=echo,
           description="Echo the body.", resource="Echo", body_schema=EchoBody, status=201),
]


@pytest_asyncio.fixture
async def test_client(config, aiohttp_client):
    CALLS.clear()
    return await aiohttp_client(create_app(config, actions=[*all_actions(), *TEST_ACTIONS]))


@pytest_asyncio.fixture
async def key(test_client):
    from api_service.context import CONNECTIONS
    out = await admin.create_shop(test_client.app[CONNECTIONS].pool, "basics.myshopify.com")
    return out["api_key"]


async def post_echo(client, key, body, **headers):
    resp = await client.post(f"{BASE}/test/echo", json=body, headers={"X-Auth-Token": key, **headers})
    return resp.status, await resp.json(), resp


async def test_missing_and_unknown_keys_are_401(test_client):
    for headers in ({}, {"X-Auth-Token": "nope"}, {"X-Auth-Token": "bis_0000000000000000000000000000000"}):
        resp = await test_client.get(f"{BASE}/back_in_stock/notifications", headers=headers)
        assert resp.status == 401
        body = await resp.json()
        assert list(body) == ["errors"] and body["errors"][0]


async def test_bearer_header_is_accepted(test_client, key):
    resp = await test_client.get(f"{BASE}/help", headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200


async def test_read_only_key_may_only_get(test_client, key):
    from api_service.context import CONNECTIONS
    pool = test_client.app[CONNECTIONS].pool
    shop = await admin.shop_by_domain(pool, "basics.myshopify.com")
    ro = await admin.create_key(pool, shop["shop_id"], read_only=True)
    status, body, _ = await post_echo(test_client, ro, {"name": "a"})
    assert status == 403 and body == {"errors": ["This API key is read-only"]}
    assert CALLS == []
    resp = await test_client.get(f"{BASE}/back_in_stock/notifications", headers={"X-Auth-Token": ro})
    assert resp.status == 200


async def test_revoked_key_stops_at_once(test_client, key):
    from api_service.context import CONNECTIONS
    pool = test_client.app[CONNECTIONS].pool
    assert (await test_client.get(f"{BASE}/help", headers={"X-Auth-Token": key})).status == 200
    await admin.revoke_key(pool, "basics.myshopify.com", key[4:12])
    assert (await test_client.get(f"{BASE}/help", headers={"X-Auth-Token": key})).status == 401


async def test_keys_are_stored_only_as_hashes(test_client, key):
    from api_service.context import CONNECTIONS
    pool = test_client.app[CONNECTIONS].pool
    rows = await pool.fetch("SELECT prefix, key_hash::text AS h FROM api_keys")
    assert rows and all(key not in r["h"] and key != r["prefix"] for r in rows)
    assert await pool.fetchval("SELECT count(*) FROM api_keys WHERE position($1 in key_hash::text) > 0", key) == 0


@pytest.mark.parametrize("method,path", [
    ("POST", "/back_in_stock/foo"),
    ("GET", "/back_in_stock/nothing/here"),
    ("DELETE", "/back_in_stock/notifications"),  # a known path, another method
    ("PUT", "/back_in_stock/settings"),
])
async def test_unknown_routes_name_method_and_path(test_client, key, method, path):
    resp = await test_client.request(method, BASE + path, headers={"X-Auth-Token": key})
    assert resp.status == 404
    assert await resp.json() == {"errors": [f"No v2 action registered for {method} {path}"]}


async def test_malformed_json_is_400_and_changes_nothing(test_client, key):
    resp = await test_client.post(f"{BASE}/test/echo", data=b'{"name": ', headers={
        "X-Auth-Token": key, "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["errors"][0].startswith("Malformed JSON")
    assert CALLS == []


async def test_validation_errors_carry_fields(test_client, key):
    status, body, _ = await post_echo(test_client, key, {"name": "", "count": 9, "extra": 1})
    assert status == 422
    assert set(body["fields"]) == {"name", "count", "extra"}
    assert len(body["errors"]) == 3
    assert CALLS == []


async def test_non_object_body_is_422(test_client, key):
    status, body, _ = await post_echo(test_client, key, [1, 2])
    assert status == 422 and "fields" in body


async def test_body_over_1_mib_is_413(test_client, key):
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    resp = await test_client.post(f"{BASE}/test/echo", data=big, headers={
        "X-Auth-Token": key, "Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["errors"] == ["Request body is larger than 1 MiB"]
    assert CALLS == []


async def test_unexpected_errors_are_500_in_the_envelope(test_client, key):
    status, body, _ = await post_echo(test_client, key, {"name": "boom"})
    assert status == 500 and body == {"errors": ["Internal server error"]}


async def test_idempotency_key_replays_first_response(test_client, key):
    first = await post_echo(test_client, key, {"name": "a"}, **{"Idempotency-Key": "k1"})
    second = await post_echo(test_client, key, {"name": "a"}, **{"Idempotency-Key": "k1"})
    assert first[0] == second[0] == 201
    assert first[1] == second[1] == {"echo": {"name": "a"}, "n": 1}
    assert second[2].headers["Idempotent-Replayed"] == "true"
    assert len(CALLS) == 1


async def test_idempotency_key_with_other_body_is_422(test_client, key):
    await post_echo(test_client, key, {"name": "a"}, **{"Idempotency-Key": "k2"})
    status, body, _ = await post_echo(test_client, key, {"name": "b"}, **{"Idempotency-Key": "k2"})
    assert status == 422 and "different request" in body["errors"][0]
    assert len(CALLS) == 1


async def test_idempotency_key_in_flight_is_409(test_client, key):
    slow = asyncio.create_task(post_echo(test_client, key, {"name": "slow"}, **{"Idempotency-Key": "k3"}))
    await asyncio.sleep(0.1)
    status, body, _ = await post_echo(test_client, key, {"name": "slow"}, **{"Idempotency-Key": "k3"})
    assert status == 409
    assert (await slow)[0] == 201


async def test_idempotency_does_not_store_5xx(test_client, key):
    assert (await post_echo(test_client, key, {"name": "boom"}, **{"Idempotency-Key": "k4"}))[0] == 500
    assert (await post_echo(test_client, key, {"name": "boom"}, **{"Idempotency-Key": "k4"}))[0] == 500
    from api_service.context import CONNECTIONS
    pool = test_client.app[CONNECTIONS].pool
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'k4'") == 0


async def test_idempotency_stores_4xx(test_client, key):
    first = await post_echo(test_client, key, {"name": "teapot"}, **{"Idempotency-Key": "k5"})
    again = await post_echo(test_client, key, {"name": "teapot"}, **{"Idempotency-Key": "k5"})
    assert first[0] == again[0] == 418 and again[2].headers["Idempotent-Replayed"] == "true"


async def test_idempotency_keys_are_per_shop(test_client, key):
    from api_service.context import CONNECTIONS
    other = await admin.create_shop(test_client.app[CONNECTIONS].pool, "other.myshopify.com")
    await post_echo(test_client, key, {"name": "a"}, **{"Idempotency-Key": "same"})
    status, body, _ = await post_echo(test_client, other["api_key"], {"name": "b"}, **{"Idempotency-Key": "same"})
    assert status == 201 and body["echo"] == {"name": "b"}


async def test_idempotency_key_expires_after_24_hours(test_client, key):
    from api_service.context import CONNECTIONS
    pool = test_client.app[CONNECTIONS].pool
    await post_echo(test_client, key, {"name": "a"}, **{"Idempotency-Key": "old"})
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    status, body, _ = await post_echo(test_client, key, {"name": "b"}, **{"Idempotency-Key": "old"})
    assert status == 201 and body["echo"] == {"name": "b"}


async def test_rate_limit_headers_and_429(aiohttp_client, env, redis):
    from shared_models.config import Config
    config = Config.from_env({**env, "RATE_LIMIT_PER_SECOND": "0.001", "RATE_LIMIT_BURST": "3"})
    client = await aiohttp_client(create_app(config))
    from api_service.context import CONNECTIONS
    out = await admin.create_shop(client.app[CONNECTIONS].pool, "limited.myshopify.com")
    seen = []
    for _ in range(4):
        resp = await client.get(f"{BASE}/help", headers={"X-Auth-Token": out["api_key"]})
        seen.append((resp.status, resp.headers.get("X-RateLimit-Remaining")))
    assert seen[:3] == [(200, "2"), (200, "1"), (200, "0")]
    assert seen[3][0] == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["X-RateLimit-Limit"] == "3"


async def test_rate_limiter_fails_open_without_redis(aiohttp_client, env, caplog):
    from shared_models.config import Config
    config = Config.from_env({**env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    client = await aiohttp_client(create_app(config))
    from api_service.context import CONNECTIONS
    out = await admin.create_shop(client.app[CONNECTIONS].pool, "noredis.myshopify.com")
    resp = await client.get(f"{BASE}/help", headers={"X-Auth-Token": out["api_key"]})
    assert resp.status == 200
    assert "rate limiter unavailable" in caplog.text


async def test_healthz_and_readyz(test_client):
    assert (await test_client.get("/healthz")).status == 200
    resp = await test_client.get("/readyz")
    assert resp.status == 200 and (await resp.json())["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_readyz_is_503_when_redis_is_down(aiohttp_client, env):
    from shared_models.config import Config
    client = await aiohttp_client(create_app(Config.from_env({**env, "REDIS_URL": "redis://127.0.0.1:1/0"})))
    resp = await client.get("/readyz")
    assert resp.status == 503 and (await resp.json())["checks"]["postgres"] == "ok"
