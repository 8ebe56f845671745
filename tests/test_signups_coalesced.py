"""Coalesced creates (api_service/signups/groups.py): the creates of a shop
that arrive while one of its writes is in flight run as one statement, each
with its own answer, Idempotency-Key and principal check; the key cache
(api_service/auth.py) under revocation; batched rate limits."""
from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager

import asyncpg
import pytest

from api_service.admin import shops as admin
from api_service.auth import KEY_CACHE, KeyCache, authenticate
from api_service.context import CONNECTIONS
from api_service.ratelimit import RateLimiter
from api_service.signups import groups, queries
from tests.factories import counts, create, signup_body

PATH = "/back_in_stock/signups"
WAITING_ON_LOCK = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND wait_event = 'advisory' AND query LIKE '%signup_create_many%'")


def create_groups(client) -> groups.CreateGroups:
    return groups.create_groups(client.app[CONNECTIONS])


async def until(condition, what: str, seconds: float = 20.0) -> None:
    """Polls a condition of the system (never a fixed wait for timing)."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def write_held_open(api, pool, shop):
    """A transfer's exclusive lock on variant 4001, held by the test: the next
    create on it starts its group's write and waits there, in flight, so the
    creates after it queue for the next group. Yields the first create's task."""
    async with pool.acquire() as holder:
        tx = holder.transaction()
        await tx.start()
        await holder.execute(queries.LOCK_VARIANT_EXCLUSIVE, shop.shop_id, 4001)
        first = asyncio.create_task(api.post(PATH, json=signup_body(email="first@example.com")))

        async def waiting() -> bool:
            return await pool.fetchval(WAITING_ON_LOCK) == 1
        await until(waiting, "the first create's write to wait on the lock")
        try:
            yield first
        finally:
            await tx.rollback()


def queued(client, shop) -> int:
    coalescer = create_groups(client).coalescers.by_key.get(shop.shop_id)
    return len(coalescer.queued) if coalescer is not None else 0


async def test_a_group_with_mixed_outcomes_answers_each_member_on_its_own(api, client, pool, shop):
    bob = await create(api, email="bob@example.com", variant_id=4002)
    s, kim, _ = await api.post(PATH, json=signup_body(email="kim@example.com", variant_id=4003),
                               headers={"Idempotency-Key": "kim-1"})
    assert s == 201
    await pool.execute("INSERT INTO suppressions (shop_id, channel, contact, source) "
                       "VALUES ($1, 'email', 'sue@example.com', 'unsubscribe_all')", shop.shop_id)
    stats = create_groups(client).coalescers
    groups_before, items_before = stats.groups, stats.items
    members = {
        "new": (signup_body(email="cat@example.com", variant_id=4004), {}),
        "twin 1": (signup_body(email="dan@example.com", variant_id=4005), {}),
        "twin 2": (signup_body(email="dan@example.com", variant_id=4005), {}),
        "already waiting": (signup_body(email="BOB@example.com", variant_id=4002), {}),
        "unknown variant": (signup_body(email="eve@example.com", variant_id=4999, product_id=None), {}),
        "suppressed": (signup_body(email="sue@example.com", variant_id=4006), {}),
        "replay": (signup_body(email="kim@example.com", variant_id=4003), {"Idempotency-Key": "kim-1"}),
        "keyed": (signup_body(email="lou@example.com", variant_id=4007), {"Idempotency-Key": "lou-1"}),
    }
    async with write_held_open(api, pool, shop) as first:
        tasks = {name: asyncio.create_task(api.post(PATH, json=body, headers=headers))
                 for name, (body, headers) in members.items()}

        async def all_queued() -> bool:
            return queued(client, shop) == len(members)
        await until(all_queued, "every member to queue behind the write in flight")
        assert not first.done()
    out = {name: await task for name, task in tasks.items()}
    assert (await first)[0] == 201
    # The first write alone, then every member queued behind it in one statement.
    assert (stats.groups - groups_before, stats.items - items_before) == (2, 1 + len(members))

    assert out["new"][0] == 201
    twins = sorted([out["twin 1"], out["twin 2"]], key=lambda r: r[0])
    assert [t[0] for t in twins] == [200, 201] and twins[0][1]["id"] == twins[1][1]["id"]
    assert out["already waiting"][0] == 200 and out["already waiting"][1]["id"] == bob["id"]
    status, body, _ = out["unknown variant"]
    assert status == 422 and list(body["fields"]) == ["product_id"]
    status, body, _ = out["suppressed"]
    assert status == 422 and list(body["fields"]) == ["customer.email"]
    status, body, resp = out["replay"]
    assert status == 201 and body == kim and resp.headers.get("Idempotent-Replayed") == "true"
    status, lou, resp = out["keyed"]
    assert status == 201 and "Idempotent-Replayed" not in resp.headers
    # The keyed member's answer was stored: its retry replays it.
    again, body, resp = await api.post(PATH, json=members["keyed"][0], headers={"Idempotency-Key": "lou-1"})
    assert (again, body, resp.headers.get("Idempotent-Replayed")) == (201, lou, "true")
    # bob, kim, first, cat, dan, lou: a signup, a customer and a variant each.
    assert await counts(pool) == (6, 6, 6)


async def test_one_members_failure_fails_only_it(client, pool, shop):
    """A member that makes the group's statement fail (here a contact the API
    would never let through): the group is rolled back whole and each member
    written again alone, so only that one fails."""
    good = [groups.Member(signup_body(email=f"ok{i}@example.com", variant_id=4001 + i, quantity=1, source="api"),
                          False, False) for i in range(2)]
    bad = groups.Member(signup_body(email=None, push_token=None, variant_id=4010, quantity=1, source="api"),
                        False, False)
    out = await groups.write(pool, shop.shop_id, [good[0], bad, good[1]])
    assert [o.kind for o in (out[0], out[2])] == ["created", "created"]
    assert isinstance(out[1], asyncpg.PostgresError)
    assert await counts(pool) == (2, 2, 2)


async def test_a_single_client_is_never_kept_waiting_for_company(api, client):
    stats = create_groups(client).coalescers
    before = stats.groups
    for i in range(5):
        await create(api, email=f"solo{i}@example.com")
    assert stats.groups - before == 5  # each create its own write, at once
    assert not stats.by_key  # and nothing left behind once idle


async def test_a_revoked_key_is_refused_at_once_under_load(api, client, pool, shop):
    key = await admin.create_key(pool, shop.shop_id)
    caller = api.with_key(key)
    results: list[tuple[float, int]] = []  # (when the request was sent, its status)
    stop = asyncio.Event()

    async def worker(n: int) -> None:
        i = 0
        while not stop.is_set():
            sent = time.monotonic()
            status, _, _ = await caller.post(PATH, json=signup_body(email=f"w{n}-{i}@example.com"))
            results.append((sent, status))
            i += 1

    workers = [asyncio.create_task(worker(n)) for n in range(8)]
    try:
        async def some_created() -> bool:
            return sum(1 for _, s in results if s == 201) >= 40
        await until(some_created, "creates with the key")
        assert client.app[KEY_CACHE].get(key) is not None  # served from the cache until now
        await admin.revoke_key(pool, shop.domain, key[4:12])
        revoked = time.monotonic()

        async def many_after() -> bool:
            return sum(1 for t, _ in results if t > revoked) >= 40
        await until(many_after, "requests sent after the revocation")
    finally:
        stop.set()
        await asyncio.gather(*workers)
    before = [s for t, s in results if t < revoked]
    after = [s for t, s in results if t > revoked]
    assert set(before) <= {201, 401} and before.count(201) >= 40
    # Refused, every one: 401, then 429 once the address's failed lookups ran out (KEY_FAILURE_*).
    assert 401 in after and set(after) <= {401, 429}, after


async def test_a_change_made_straight_in_the_database_reaches_the_next_create(api, client, pool, shop):
    """The cached principal is checked in the create's own transaction: even
    a change no code of ours announced (plain SQL) is seen at once."""
    assert (await create(api, email="a@example.com"))["optin"]["required"] is False
    await pool.execute("INSERT INTO settings (shop_id, overrides) VALUES ($1, $2) ON CONFLICT (shop_id) "
                       "DO UPDATE SET overrides = EXCLUDED.overrides",
                       shop.shop_id, {"compliance": {"optin_required": True}})
    assert (await create(api, email="b@example.com"))["optin"]["required"] is True
    await pool.execute("UPDATE shops SET storefront_domains = '{www.example.org}' WHERE shop_id = $1", shop.shop_id)
    body = signup_body(email="c@example.com", product={"url": "https://www.example.org/products/x"})
    assert (await api.post(PATH, json=body))[0] == 201


@pytest.mark.parametrize("hits", [12])
async def test_rate_limit_hits_are_batched_and_counted_exactly(redis, hits):
    limiter = RateLimiter(redis, per_second=0.001, burst=5)
    bucket = f"batch-{uuid.uuid4().hex[:8]}"
    decisions = await asyncio.gather(*(limiter.hit(bucket) for _ in range(hits)),
                                     limiter.hit(bucket + "-other"))
    assert [d.allowed for d in decisions[:hits]].count(True) == 5
    assert decisions[-1].allowed and decisions[-1].remaining == 4  # its own bucket
    assert limiter._batches.groups < hits + 1  # fewer round trips than hits


async def test_only_a_lookup_for_the_cache_computes_the_fingerprint(pool, shop):
    """principal_fingerprint is planned on every call: a lookup that is not
    cached (every action but the create) leaves it out; a cached one has it,
    and it is the one the create's statement will compare."""
    key = await admin.create_key(pool, shop.shop_id)
    assert (await authenticate(pool, key)).fingerprint is None
    cached = await authenticate(pool, key, KeyCache())
    assert cached.fingerprint == await pool.fetchval(
        "SELECT principal_fingerprint(p_shop => $1, p_key => $2)", shop.shop_id, cached.key_uuid)
