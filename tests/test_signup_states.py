"""Signup states have one owner (shared_models/signup_states.py): PostgreSQL's
copies follow its precedences on every combination of the facts, and every
path that shows a state (the API's status and list filter, v1, the reports,
the high-demand count, restock targets, transfers) answers as the owner does
on signups in each state and in each conflict between two states."""
from __future__ import annotations

import itertools
import uuid

from api_service.signups.hooks import WAITING as HOOKS_WAITING
from dispatcher.merchant import VARIANT as MERCHANT_VARIANT
from shared_models import jobs
from shared_models import signup_states as states
from tests.factories import signup_body
from tests.report_support import report
from tests.test_v1_support import V1Api

FACTS = ("converted_at", "last_notified_at", "unsubscribed_at", "optin_required", "optin_confirmed_at",
         "last_blocked_at")
# Every combination of the facts, one signup each (its own variant: open ones never meet).
COMBINATIONS = """
INSERT INTO signups (shop_id, signup_id, customer_id, variant_id, product_id, channel, contact,
                     converted_at, last_notified_at, unsubscribed_at, optin_required, optin_confirmed_at,
                     last_blocked_at)
SELECT $1, gen_random_uuid(), $2, 5000 + g, 9500, 'email', 'all@example.com',
       CASE WHEN g & 1 > 0 THEN now() END, CASE WHEN g & 2 > 0 THEN now() END,
       CASE WHEN g & 4 > 0 THEN now() END, g & 8 > 0, CASE WHEN g & 16 > 0 THEN now() END,
       CASE WHEN g & 32 > 0 THEN now() END
FROM generate_series(0, 63) g
"""
CUSTOMER = "INSERT INTO customers (shop_id, customer_id, email) VALUES ($1, $2, 'all@example.com')"


async def test_rule_signup_state_sql_copies_follow_the_owner(pool, shop):
    """signups.status, report_signup_state(), signups_open's predicate and the
    owner's SQL sets, against the owner's Python precedences, on all 64 combinations."""
    customer = uuid.uuid4()
    await pool.execute(CUSTOMER, shop.shop_id, customer)
    await pool.execute(COMBINATIONS, shop.shop_id, customer)
    index_predicate = await pool.fetchval(
        "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'signups_open'::regclass")
    rows = await pool.fetch(f"""
        SELECT s.*, report_signup_state(s.converted_at, s.last_notified_at, s.unsubscribed_at,
                                        s.optin_required, s.optin_confirmed_at) AS report_state,
               ({index_predicate}) AS in_open_index, ({states.OPEN}) AS open, ({states.WAITING}) AS waiting,
               ({states.ALERTED}) AS alerted, ({states.NOT_ALERTED}) AS not_alerted
        FROM signups s WHERE s.shop_id = $1""", shop.shop_id)
    assert len(rows) == 64
    for row in rows:
        facts = {f: row[f] is not None and row[f] is not False for f in FACTS}
        assert row["status"] == states.status(row), facts
        assert row["report_state"] == states.report_state(row), facts
        assert row["in_open_index"] == row["open"] == states.is_open(row), facts
        assert row["waiting"] == states.is_waiting(row), facts
        assert row["alerted"] == (not row["not_alerted"]) == states.alerted(row), facts
    assert {r["status"] for r in rows} == set(states.STATUSES) == {name for name, _ in states.STATUS_PRECEDENCE}
    assert {r["report_state"] for r in rows} == set(states.REPORT_STATES)


# Signups in each state and in each conflict: facts set with SQL, as the
# dispatcher, the order webhooks and the unsubscribe page would set them.
CASES = {
    "pending": {},
    "blocked": {"last_blocked_at": True},
    "notified": {"last_notified_at": True},
    "notified, then blocked on a resend": {"last_notified_at": True, "last_blocked_at": True},
    "notified, then unsubscribed": {"last_notified_at": True, "unsubscribed_at": True},
    "unsubscribed before any alert": {"unsubscribed_at": True},
    "blocked, then unsubscribed": {"last_blocked_at": True, "unsubscribed_at": True},
    "converted": {"last_notified_at": True, "converted_at": True},
    "converted, then unsubscribed": {"last_notified_at": True, "converted_at": True, "unsubscribed_at": True},
    "purchased, then unsubscribed": {"last_notified_at": True, "purchased_at": True, "unsubscribed_at": True},
    "awaiting opt-in": {"optin_required": True},
    "awaiting opt-in, blocked for it": {"optin_required": True, "last_blocked_at": True},
    "awaiting opt-in, unsubscribed": {"optin_required": True, "unsubscribed_at": True},
    "opt-in confirmed": {"optin_required": True, "optin_confirmed_at": True},
}
SET_FACTS = """
UPDATE signups SET
    last_notified_at = CASE WHEN $3 THEN now() END, notifications_sent = CASE WHEN $3 THEN 1 ELSE 0 END,
    unsubscribed_at = CASE WHEN $4 THEN now() END, last_blocked_at = CASE WHEN $5 THEN now() END,
    converted_at = CASE WHEN $6 THEN now() END, purchased_at = CASE WHEN $7 THEN now() END,
    optin_required = $8, optin_confirmed_at = CASE WHEN $9 THEN now() END
WHERE shop_id = $1 AND signup_id = $2
RETURNING *
"""


async def _signups_in_every_case(api, pool, shop) -> dict[str, dict]:
    """Two of each case, on variants 4001 and 4002: {signup id: its row}."""
    rows = {}
    for (n, case), variant in itertools.product(enumerate(CASES), (4001, 4002)):
        status, out, _ = await api.post("/back_in_stock/signups", json=signup_body(
            variant_id=variant, inventory_item_id=variant + 3000, email=f"c{n}-{variant}@example.com"))
        assert status == 201, out
        f = CASES[case]
        row = await pool.fetchrow(SET_FACTS, shop.shop_id, uuid.UUID(out["id"]), *(bool(f.get(k)) for k in (
            "last_notified_at", "unsubscribed_at", "last_blocked_at", "converted_at", "purchased_at",
            "optin_required", "optin_confirmed_at")))
        rows[out["id"]] = dict(row)
    return rows


def _ids(rows: dict[str, dict], keep) -> set[str]:
    return {i for i, r in rows.items() if keep(r)}


async def test_rule_signup_state_has_one_owner(client, api, pool, shop):
    rows = await _signups_in_every_case(api, pool, shop)
    # The API's status field (and optin.confirmed), one signup at a time and listed.
    for signup_id, row in rows.items():
        status, out, _ = await api.get(f"/back_in_stock/signups/{signup_id}")
        assert (out["status"], out["optin"]["confirmed"]) == (states.status(row), states.optin_confirmed(row))
    # The list filter, for every status.
    for name in states.STATUSES:
        status, out, _ = await api.get("/back_in_stock/signups", params={"status": name, "per_page": "200"})
        assert {s["id"] for s in out["signups"]} == _ids(rows, lambda r: states.status(r) == name), name
    # v1: notified means alerted, whatever happened since.
    v1 = V1Api(client, shop.headers)
    for flag in (True, False):
        status, out, _ = await v1.get("/intents", params={"notified": str(flag).lower(), "per_page": "500"})
        assert {i["id"] for i in out["intents"]} == _ids(rows, lambda r: states.alerted(r) == flag)
        assert all(i["optin_confirmed"] == states.optin_confirmed(rows[i["id"]]) for i in out["intents"])
    # The reports count report states: pending is the contract's waiting, notified is alerted.
    count = lambda keep: len(_ids(rows, keep))  # noqa: E731
    summary = await report(api, "summary")
    assert (summary["signups"], summary["pending"], summary["notified"], summary["converted"]) == (
        len(rows), count(states.is_waiting), count(states.alerted),
        count(lambda r: states.report_state(r) == "converted"))
    [by_day] = (await report(api, "signups", channel="email"))["signups"]
    for column, state in (("pending", "pending"), ("converted", "converted"), ("unsubscribed", "unsubscribed"),
                          ("awaiting_optin", "unconfirmed")):
        assert by_day[column] == count(lambda r: states.report_state(r) == state), column
    assert by_day["notified"] == summary["notified"]
    demand = (await report(api, "products_in_demand"))["products_in_demand"]
    for variant in (4001, 4002):
        waiting = count(lambda r: r["variant_id"] == variant and states.is_waiting(r))
        assert [d["pending"] for d in demand if d["shopify_variant_id"] == variant] == [waiting]
        # The high-demand count (API after a create, dispatcher before the email).
        assert await pool.fetchval(HOOKS_WAITING, shop.shop_id, variant, 1000) == waiting
        assert (await pool.fetchrow(MERCHANT_VARIANT, shop.shop_id, variant))["waiting"] == waiting
    # What a restock targets: the open signups (those awaiting opt-in get a blocked attempt).
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        job_id = await jobs.create_job(conn, shop.shop_id, kind="restock", trigger="restock", variant_id=4001)
        targets = await jobs.add_targets(conn, shop.shop_id, job_id, where=jobs.TARGETS_WAITING_ON_VARIANT,
                                         arg=4001, batch_size=None)
        await transaction.rollback()
    assert {str(t) for t in targets} == _ids(rows, lambda r: r["variant_id"] == 4001 and states.is_open(r))
    # A transfer's unsent scope moves the open ones.
    status, out, _ = await api.post("/back_in_stock/signups/transfer", json={
        "from_variant_id": 4001, "from_product_id": 9001, "to_variant_id": 4003, "to_product_id": 9001})
    assert status == 200, out
    status, moved, _ = await api.get("/back_in_stock/signups", params={"variant_id": "4003", "per_page": "200"})
    assert {s["id"] for s in moved["signups"]} == _ids(rows, lambda r: r["variant_id"] == 4001 and states.is_open(r))
