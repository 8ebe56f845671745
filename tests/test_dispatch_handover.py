"""At most once without losing customers: a dispatcher process SIGKILLed
while provider calls are under way leaves "outcome unknown" only for those
calls; every other signup gets exactly one alert from the live workers, and
a large restock is finished within a minute of the kill."""
from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiohttp import web

from tests.dispatch_support import wait_for
from tests.shopify import inventory_update, send_webhook
from tests.stand_ins import PushGatewayStandIn

SCRIPT = Path(sys.executable).parent / "backinstock"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api_service.cli"]
# Short leases and sweeps: this test is about what is sent, not how soon.
QUICK = {"DISPATCH_LEASE_SECONDS": "3", "DISPATCH_SWEEP_SECONDS": "0.5", "DISPATCH_STALE_SECONDS": "1",
         "DISPATCH_CHUNK_SIZE": "50"}


class HoldingGateway(PushGatewayStandIn):
    """Answers the first `free` pushes, then holds every later one open until
    release(): those calls are in flight for as long as the test wants.
    `posts` are the calls that started (arrived), `answered` the tokens replied to."""

    def __init__(self, free: int):
        super().__init__()
        self.free = free
        self.released = asyncio.Event()
        self.answered: list[str] = []

    async def push(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.posts.append(body)
        if len(self.posts) > self.free:
            await self.released.wait()
        self.answered.append(body["token"])
        return await self.answer(request, self.next_reply(request))

    def held(self) -> set[str]:
        return {p["token"] for p in self.posts} - set(self.answered)

    def release(self) -> None:
        self.released.set()


async def start_dispatcher(env: dict[str, str], gateway_url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *COMMAND, "dispatcher", "--concurrency", "2", env={**os.environ, **env, "PUSH_GATEWAY_URL": gateway_url},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


async def push_shop(api, make_shop, plan: str = "unlimited"):
    shop = await make_shop(plan=plan)
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings/channels", json={"push": {"enabled": True}})
    assert status == 200
    return shop, api


async def push_signups(api, shop, n: int, *, variant_id: int = 4001, item: int = 7001) -> list[str]:
    from tests.factories import signup_body
    ids = []
    for i in range(n):
        body = signup_body(channel="push", email=None, push_token=f"tok-{i:04d}", variant_id=variant_id,
                           inventory_item_id=item)
        body["product"]["url"] = f"https://{shop.domain}/products/linen-shirt?variant={variant_id}"
        status, out, _ = await api.post("/back_in_stock/signups", json=body)
        assert status == 201, out
        ids.append(out["id"])
    return ids


async def job_done(pool, job_id) -> bool:
    return await pool.fetchval("SELECT status FROM jobs WHERE job_id = $1::uuid", str(job_id)) == "done"


async def kill_mid_send(victim: asyncio.subprocess.Process, held: HoldingGateway, in_flight: int,
                        started: int, pool, shop) -> tuple[set[str], float]:
    """Waits until the victim's every send slot is in a held call (nothing
    else can start) and it has recorded the answered calls' outcomes (a call
    answered but not yet recorded is in flight too, for the dispatcher: this
    makes the count exact), then SIGKILLs it. Returns the calls in flight and when."""
    await wait_for(lambda: _held(held, in_flight), timeout=60, what=f"{in_flight} calls in flight")
    await wait_for(lambda: _sent(pool, shop, started), timeout=30, what="answered calls recorded")
    victim.send_signal(signal.SIGKILL)
    await victim.wait()
    # Every slot is in a held call; on a loaded machine a chain may have taken its
    # next chunk's first calls too before the kill: those are in flight as well.
    assert len(held.posts) >= started + in_flight
    return held.held(), time.monotonic()


async def _sent(pool, shop, n: int) -> bool:
    return await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'",
                               shop.shop_id) == n


async def _held(gateway: HoldingGateway, n: int) -> bool:
    return len(gateway.held()) >= n


def check_at_most_once(rows, signup_ids, in_flight: set[str], delivered: collections.Counter) -> None:
    """rows: the job's notifications. `delivered`: pushes answered, per token, by every gateway."""
    per_signup = collections.Counter(str(r["signup_id"]) for r in rows)
    assert set(per_signup) == set(signup_ids) and set(per_signup.values()) == {1}  # one attempt each
    unknown = {r["contact"] for r in rows if r["status"] == "failed"}
    assert all(r["error"].startswith("outcome unknown") for r in rows if r["status"] == "failed")
    # Only calls under way at the kill may be unknown: never more, never others.
    assert len(unknown) <= len(in_flight) and unknown <= in_flight
    sent = {r["contact"] for r in rows if r["status"] == "sent"}
    assert sent | unknown == {r["contact"] for r in rows} and not sent & unknown
    # Everybody else got exactly one alert.
    assert all(delivered[token] == 1 for token in sent), delivered.most_common(3)
    assert not set(delivered) - sent - in_flight


@pytest.mark.parametrize("plan", ["unlimited", "lite"])
async def test_sigkill_leaves_unknown_only_the_calls_in_flight(api, pool, make_shop, env, plan):
    shop, api = await push_shop(api, make_shop, plan)
    ids = await push_signups(api, shop, 150)
    held = await HoldingGateway(free=20).start()
    fast = await PushGatewayStandIn().start()
    tuning = {**env, **QUICK, "DISPATCH_SEND_CONCURRENCY": "4"}
    victim = await start_dispatcher(tuning, held.url)
    survivor = None
    try:
        status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"ids": ids})
        assert status == 202
        # Two chains, four calls each: eight calls held open when the worker dies.
        in_flight, _ = await kill_mid_send(victim, held, 8, 20, pool, shop)
        survivor = await start_dispatcher(tuning, fast.url)
        await wait_for(lambda: job_done(pool, body["job_id"]), timeout=60, what="job finished by the survivor")
    finally:
        for proc in (victim, survivor):
            if proc is not None:
                await stop(proc)
        held.release()
        await held.stop()
        await fast.stop()
    rows = await pool.fetch("SELECT * FROM notifications WHERE job_id = $1::uuid", body["job_id"])
    delivered = collections.Counter(held.answered[:20] + [p["token"] for p in fast.posts])
    check_at_most_once(rows, ids, in_flight, delivered)
    # Each call in flight was handed over (its row committed first): all are unknown.
    assert len([r for r in rows if r["status"] == "failed"]) == 8
    status, job, _ = await api.get(f"/jobs/{body['job_id']}")
    assert (job["counts"]["sent"], job["counts"]["failed"]) == (142, 8)
    # The allowance is exact: one unit per alert sent, none for the unknown ones
    # (limited plan: taken at the hand-over, given back; unlimited: counted when sent).
    assert await pool.fetchval("SELECT sum(used) FROM plan_usage WHERE shop_id = $1", shop.shop_id) == 142


SEED = """
WITH c AS (
    INSERT INTO customers (shop_id, customer_id, push_token)
    SELECT $1, gen_random_uuid(), 'tok-' || lpad(g::text, 4, '0') FROM generate_series(1, $3::int - 1) g
    RETURNING customer_id, push_token
)
INSERT INTO signups (shop_id, signup_id, customer_id, variant_id, product_id, channel, contact)
SELECT $1, gen_random_uuid(), c.customer_id, s.variant_id, s.product_id, 'push', c.push_token
FROM c, signups s WHERE s.shop_id = $1 AND s.signup_id = $2
"""


async def test_large_restock_recovers_within_a_minute_of_a_sigkill(client, api, pool, make_shop, env):
    """Default leases, sweep and chunking: what recovery waits on in production."""
    shop, api = await push_shop(api, make_shop)
    first = (await push_signups(api, shop, 1))[0]  # the catalog's variant, through the API
    await pool.execute(SEED, shop.shop_id, uuid.UUID(first), 2400)
    ids = [str(r[0]) for r in await pool.fetch("SELECT signup_id FROM signups WHERE shop_id = $1", shop.shop_id)]
    assert len(ids) == 2400
    held = await HoldingGateway(free=300).start()
    fast = await PushGatewayStandIn().start()
    victim = await start_dispatcher(env, held.url)
    survivor = None
    try:
        status, _ = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        assert status == 200
        # Both chains of the restock stuck in the victim, 16 calls each.
        in_flight, killed_at = await kill_mid_send(victim, held, 32, 300, pool, shop)
        survivor = await start_dispatcher(env, fast.url)
        job_id = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1", shop.shop_id)
        await wait_for(lambda: job_done(pool, job_id), timeout=90, what="restock finished by the survivor")
        recovered_in = time.monotonic() - killed_at
    finally:
        for proc in (victim, survivor):
            if proc is not None:
                await stop(proc)
        held.release()
        await held.stop()
        await fast.stop()
    assert recovered_in < 60, recovered_in
    rows = await pool.fetch("SELECT * FROM notifications WHERE job_id = $1", job_id)
    delivered = collections.Counter(held.answered[:300] + [p["token"] for p in fast.posts])
    check_at_most_once(rows, ids, in_flight, delivered)
    # Each call in flight at the kill was handed over (row committed first): all unknown, no others.
    assert len([r for r in rows if r["status"] == "failed"]) == len(in_flight) >= 32


async def test_chains_come_back_when_a_dead_workers_leases_lapse(api, pool, shop, config):
    """Targets leased by a worker that died: the live workers' chains find
    nothing to claim, wait, and send them once the leases lapse, without the
    sweep (off here): nobody waits for a stale heartbeat."""
    from tests.dispatch_support import create_signup, running_workers

    ids = [(await create_signup(api, shop, email=f"c{i}@example.com"))["id"] for i in range(3)]
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"ids": ids})
    assert status == 202
    # The dead worker's claim: leases that lapse in 2 s, no rows written.
    leased = await pool.fetchval(
        "UPDATE job_targets SET lease_until = now() + interval '2 s' WHERE shop_id = $1 AND job_id = $2::uuid "
        "RETURNING extract(epoch FROM lease_until)", shop.shop_id, body["job_id"])
    assert leased is not None
    async with running_workers(config, sweep_seconds=600, stale_seconds=600):
        await wait_for(lambda: job_done(pool, body["job_id"]), timeout=20, what="job sent after the leases lapsed")
    sent = await pool.fetch("SELECT status, created_at FROM notifications WHERE job_id = $1::uuid", body["job_id"])
    assert [r["status"] for r in sent] == ["sent"] * 3
    assert min(r["created_at"].timestamp() for r in sent) >= float(leased)  # not before they lapsed
