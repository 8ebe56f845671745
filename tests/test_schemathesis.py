"""Property-based testing of every operation of our OpenAPI document with
schemathesis, against a real `backinstock api` process on its own database.

For each operation, valid and invalid requests generated from the document
(bounded: EXAMPLES per mode, no deadline, derandomised so CI is stable) are
sent with a real API key, and each response must be: not a 5xx, a 4xx for
invalid input, a status code the document lists for that operation, a
documented content type, and a body matching the documented schema (the error
envelope for every error). Path ids are drawn both at random and from real rows
(signups, notifications, jobs), and bodies that can't be valid by chance (a
product URL on the shop's domain) are given too, so that every operation's
success path is exercised, not only its errors. About a minute in all."""
from __future__ import annotations

import collections
import uuid
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api_service.meta.openapi import outside_paths
from api_service.registry import all_actions
from api_service.v1.routes import ROUTES as V1_ROUTES
from tests.api_process import ApiProcess, cli_json
from tests.conftest import RUN_ID, with_database
from tests.factories import signup_body

EXAMPLES = 25  # per generation mode (valid, invalid) and operation
CHECKS = [not_a_server_error, negative_data_rejection, status_code_conformance, content_type_conformance,
          response_schema_conformance]
V2_OPERATIONS = [a.name for a in all_actions()]
V1_OPERATIONS = sorted({r.operation_id for r in V1_ROUTES.values()} | {"v1_storefront_intents_create"})
# Outside the registry: the JSON ones are fuzzed like the actions; the pages, the
# webhook (signed bodies), /metrics and /llms.txt (text), the widget (tests/test_storefront_endpoints.py)
# have their own tests.
OUTSIDE_OPERATIONS = {op["operationId"] for item in outside_paths(all_actions(), served=None).values()
                      for op in item.values()}
NOTHING_TO_GET_WRONG = {"healthz", "readyz"}  # no parameters, no key: no invalid request exists
META_OPERATIONS = sorted(op for op in OUTSIDE_OPERATIONS if op.startswith("help") or op in ("healthz", "readyz"))
OPENAPI = "/api/v2/external/openapi.json"
SUCCESS = range(200, 300)  # at least one per operation: its success path was reached
# Random ids only (the deletable ones are gone by then): 404 none known, checked elsewhere.
NO_SUCCESS_EXPECTED = {"back_in_stock_signups_bulk_delete", "v1_intents_bulk_destroy"}


@dataclass
class Served:
    url: str
    key: str
    schema: schemathesis.BaseSchema
    ids: dict[str, list[str]]  # "signup" | "deletable" | "notification" | "job" -> real ids of the shop
    domain: str

    def valid_bodies(self, operation_id: str) -> list[dict]:
        url = f"https://{self.domain}/products/linen-shirt?variant=5001"
        if operation_id == "back_in_stock_signups_create":
            body = signup_body(variant_id=5001, email="fuzz@example.com")
            body["product"]["url"] = url
            return [body]
        if operation_id in ("v1_intents_create", "v1_storefront_intents_create"):
            return [{"intent": {"shopify_variant_id": 5002, "shopify_product_id": 9002, "channel": "email"},
                     "customer": {"email": "fuzz-v1@example.com"},
                     "product": {"title": "Linen shirt", "url": url.replace("5001", "5002")}}]
        if operation_id == "v1_intents_notify":  # made now: earlier bulk_notify calls took the seeded ones
            return [{"id": self.new_signup(f"notify-{i}@example.com")} for i in range(3)]
        return []

    def new_signup(self, email: str) -> str:
        body = signup_body(variant_id=5003, email=email)
        body["product"]["url"] = f"https://{self.domain}/products/linen-shirt?variant=5003"
        resp = requests.post(self.url + "/api/v2/external/back_in_stock/signups", json=body,
                             headers={"X-Auth-Token": self.key}, timeout=30)
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]


@pytest_asyncio.fixture(scope="module")
async def served(pg_base_url, template_db, redis_url, tmp_path_factory):
    name = f"bis_st_{RUN_ID}"
    admin = await asyncpg.connect(pg_base_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    unlimited = {"RATE_PER_SECOND": "100000", "RATE_BURST": "100000"}
    env = {"DATABASE_URL": with_database(pg_base_url, name), "REDIS_URL": redis_url,
           "SECRET_KEY": "test-secret-0123456789abcdef0123456789", "ALLOW_CONSOLE_PROVIDERS": "1",
           **{f"RATE_LIMIT_{k[5:]}": v for k, v in unlimited.items()},
           **{f"STOREFRONT_{scope}_{k}": v for scope in ("SHOP", "ADDRESS", "CONTACT")
              for k, v in unlimited.items()}}
    api = ApiProcess(env, tmp_path_factory.mktemp("schemathesis") / "api.log")
    try:
        api.start()
        shop = cli_json(env, "shops", "create", "--domain", f"st-{uuid.uuid4().hex[:8]}.myshopify.com",
                        "--plan", "pro")
        ids = await _seed(api.url, shop, env["DATABASE_URL"])
        schema = schemathesis.openapi.from_url(api.url + OPENAPI)
        yield Served(api.url, shop["api_key"], schema, ids, shop["domain"])
        assert api.stop() == 0, api.log()
    finally:
        api.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _seed(url: str, shop: dict, dsn: str) -> dict[str, list[str]]:
    """A few real rows of each kind, made through the API where it can make them."""
    headers = {"X-Auth-Token": shop["api_key"]}
    signups, jobs = [], []
    async with aiohttp.ClientSession(url, headers=headers) as http:
        for i in range(12):
            body = signup_body(variant_id=4001 + i % 3, email=f"seed{i}@example.com")
            body["product"]["url"] = f"https://{shop['domain']}/products/linen-shirt?variant={4001 + i % 3}"
            async with http.post("/api/v2/external/back_in_stock/signups", json=body) as resp:
                assert resp.status == 201, await resp.text()
                signups.append((await resp.json())["id"])
        async with http.post(f"/api/v2/external/back_in_stock/signups/{signups[0]}/notify", json={}) as resp:
            assert resp.status == 202, await resp.text()
            jobs.append((await resp.json())["job_id"])
    conn = await asyncpg.connect(dsn)
    try:
        shop_id = uuid.UUID(shop["shop_id"])
        done_job = uuid.uuid4()
        await conn.execute("INSERT INTO jobs (shop_id, job_id, kind, status, finished_at) "
                           "VALUES ($1, $2, 'notify', 'done', now())", shop_id, done_job)
        jobs.append(str(done_job))
        notifications = []
        for i, status in enumerate(("sent", "failed", "blocked")):
            nid = uuid.uuid4()
            await conn.execute(
                "INSERT INTO notifications (shop_id, notification_id, signup_id, channel, status, trigger, "
                "variant_id, product_id, contact, blocked_reason) "
                "VALUES ($1, $2, $3, 'email', $4, 'manual', $5, 9001, $6, $7)",
                shop_id, nid, uuid.UUID(signups[1 + i]), status, 4001 + i, f"seed{1 + i}@example.com",
                "plan_limit" if status == "blocked" else None)
            notifications.append(str(nid))
        export = uuid.uuid4()  # a customers/data_request export, as the dispatcher stores it
        await conn.execute("INSERT INTO data_requests (shop_id, request_id, webhook_id, export) "
                           "VALUES ($1, $2, 'seed', '{\"customers\": []}')", shop_id, export)
    finally:
        await conn.close()
    # DELETE /signups/{id} gets its own, so that the others stay readable.
    return {"signup": signups[:6], "deletable": signups[6:], "notification": notifications, "job": jobs,
            "data_request": [str(export)]}


def _strategy(served: Served, operation_id: str, mode: GenerationMode):
    operation = served.schema.find_operation_by_id(operation_id)
    strategies = [operation.as_strategy(generation_mode=mode)]
    if not mode.is_positive:
        return strategies[0]
    path = operation.path
    kind = ("job" if "/jobs/{id}" in path else "notification" if "/notifications/{id}" in path
            else "data_request" if "/data_requests/{id}" in path
            else "deletable" if operation_id == "back_in_stock_signups_delete"
            else "signup" if "{id}" in path else None)
    if kind is not None:
        strategies.append(st.sampled_from(served.ids[kind]).flatmap(
            lambda id_: operation.as_strategy(generation_mode=mode, path_parameters={"id": id_})))
    bodies = served.valid_bodies(operation_id)
    if bodies:
        strategies.append(st.sampled_from(bodies).flatmap(
            lambda body: operation.as_strategy(generation_mode=mode, body=body)))
    return st.one_of(*strategies)


def _run(served: Served, operation_id: str) -> None:
    session = requests.Session()
    headers = {"X-Auth-Token": served.key}
    if operation_id == "v1_storefront_intents_create":
        headers = {"X-Shopify-Shop-Domain": served.domain}
    seen: collections.Counter[int] = collections.Counter()
    modes = [GenerationMode.POSITIVE]
    if operation_id not in NOTHING_TO_GET_WRONG:
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))
        @given(case=_strategy(served, operation_id, mode))
        def check(case):
            response = case.call(base_url=served.url, session=session, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS, headers=headers)
            seen[response.status_code] += 1

        check()
    if operation_id not in NO_SUCCESS_EXPECTED:
        assert any(code in SUCCESS for code in seen), f"no 2xx among {dict(seen)}"


def test_every_documented_operation_is_covered(served):
    documented = {op.ok().definition.raw.get("operationId")
                  for op in served.schema.get_all_operations()}
    assert documented == set(V2_OPERATIONS) | set(V1_OPERATIONS) | OUTSIDE_OPERATIONS


@pytest.mark.parametrize("operation_id", V2_OPERATIONS)
def test_v2_operation_conforms(served, operation_id):
    _run(served, operation_id)


@pytest.mark.parametrize("operation_id", V1_OPERATIONS)
def test_v1_operation_conforms(served, operation_id):
    _run(served, operation_id)


@pytest.mark.parametrize("operation_id", META_OPERATIONS)
def test_meta_operation_conforms(served, operation_id):
    _run(served, operation_id)
