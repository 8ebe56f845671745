"""Consent that sticks (issue 13 §1), through the real API, the real /u and
/optin pages, the SMTP and Twilio stand-ins and real dispatcher workers: the
per-shop suppression list, its effect on every create and send, the opt-in
that alone lifts it, /u links that outlive their signup, and merges that keep
a confirmation with its contact."""
from __future__ import annotations

import re
import uuid

import pytest

from shared_models import tokens
from tests.dispatch_support import (
    create_signup,
    finished_job,
    job_notifications,
    notify,
    queue_drained,
    running_workers,
    wait_for,
)
from tests.factories import signup_body
from tests.stand_ins import Reply
from tests.test_v1_support import V1Api, intent_body

OPTIN = re.compile(r"http://127\.0\.0\.1:8080/optin/([A-Za-z0-9_-]+)")
STOREFRONT = "/api/v1/intents.json"
SUPPRESSION = "SELECT source, created_at FROM suppressions WHERE shop_id = $1 AND channel = $2 AND contact = $3"


def unsubscribe_token(providers, shop, signup_id: str) -> str:
    return tokens.sign("unsubscribe", shop.shop_id, uuid.UUID(signup_id), providers.config.secret_key)


async def storefront_create(client, shop, **kwargs):
    resp = await client.post(STOREFRONT, json=intent_body(**kwargs), headers={"X-Shopify-Shop-Domain": shop.domain})
    return resp.status, await resp.json()


async def notify_and_wait(api, pool, signup_id: str) -> tuple[dict, list]:
    job_id = await notify(api, signup_id, allow_resend=True)
    job = await wait_for(lambda: finished_job(api, job_id), what="notify done")
    return job, await job_notifications(pool, job_id)


async def sms_shop(make_shop, api):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings/channels",
                                   json={"sms": {"enabled": True}, "push": {"enabled": True}})
    assert status == 200
    return shop, api


async def test_unsubscribe_all_blocks_every_later_create_and_send(client, api, pool, shop, providers, redis):
    first = await create_signup(api, shop, email="dave@a.com")
    resp = await client.post(f"/u/{unsubscribe_token(providers, shop, first['id'])}?all=1")
    assert resp.status == 200
    suppressed = await pool.fetchrow(SUPPRESSION, shop.shop_id, "email", "dave@a.com")
    assert suppressed["source"] == "unsubscribe_all"

    # The merchant's creates, v2 and v1, any case, the very variant left or another: 422 on the contact field.
    for variant_id in (4001, 4002):
        body = signup_body(variant_id=variant_id, email="DAVE@a.com")
        status, out, _ = await api.post("/back_in_stock/signups", json=body)
        assert status == 422, out
        [message] = out["fields"]["customer.email"]
        assert "unsubscribed from this shop's alerts on " in message
        assert suppressed["created_at"].isoformat(timespec="seconds")[:16] in message
    v1 = V1Api(client, shop.headers)
    status, out, _ = await v1.post("/intents", json=intent_body(variant_id=4002, email="Dave@A.com"))
    assert status == 422 and "unsubscribed from this shop's alerts" in out["fields"]["customer.email"][0], out
    assert await pool.fetchval("SELECT count(*) FROM signups WHERE shop_id = $1", shop.shop_id) == 1

    # The storefront answers as for anyone (nothing reveals the suppression) ...
    status, plain = await storefront_create(client, shop, variant_id=4002, email="erin@a.com")
    status2, hidden = await storefront_create(client, shop, variant_id=4002, email="DAVE@a.com")
    assert (status, status2) == (201, 201)
    assert set(plain["intent"]) == set(hidden["intent"])
    assert hidden["intent"]["email"] == "dave@a.com"  # as sent (the stored spelling)
    signup_id = hidden["intent"]["id"]
    assert await pool.fetchval("SELECT optin_required FROM signups WHERE signup_id = $1", uuid.UUID(signup_id))

    async with running_workers(providers.config):
        # ... but its signup waits for the contact's opt-in: one email, not one a signup.
        await wait_for(lambda: _mail_to(providers, "dave@a.com"), what="opt-in email")
        status, again = await storefront_create(client, shop, variant_id=4003, email="dave@A.com")
        assert status == 201
        await wait_for(lambda: queue_drained(redis, providers.config), what="queue drained")
        optins = await _mail_to(providers, "dave@a.com")
        assert len(optins) == 1  # at most one a week

        job, [row] = await notify_and_wait(api, pool, signup_id)
        assert (row["status"], row["blocked_reason"]) == ("blocked", "unsubscribed")
        assert job["counts"] == {"sent": 0, "failed": 0, "blocked": 1}

        # Confirming lifts it: the alert goes, and the merchant may sign the contact up again.
        [token] = set(OPTIN.findall(optins[0].message.get_body(("plain",)).get_content()))
        resp = await client.post(f"/optin/{token}")
        assert resp.status == 200
        assert await pool.fetchrow(SUPPRESSION, shop.shop_id, "email", "dave@a.com") is None
        job, [row] = await notify_and_wait(api, pool, signup_id)
        assert row["status"] == "sent"
    status, _, _ = await api.post("/back_in_stock/signups", json=signup_body(variant_id=4004, email="dave@a.com"))
    assert status == 201


async def _mail_to(providers, address: str):
    return [m for m in providers.smtp.received if [a.lower() for a in m.rcpt_tos] == [address]] or None


async def test_one_click_suppresses_the_contact_and_existing_signups_are_blocked(client, api, pool, shop,
                                                                                 providers):
    left = await create_signup(api, shop, email="ann@example.com")
    other = await create_signup(api, shop, email="ann@example.com", variant_id=4002, item=7002)
    resp = await client.post(f"/u/{unsubscribe_token(providers, shop, left['id'])}",
                             data="List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    assert (await pool.fetchrow(SUPPRESSION, shop.shop_id, "email", "ann@example.com"))["source"] == "one_click"
    async with running_workers(providers.config):
        job, [row] = await notify_and_wait(api, pool, other["id"])  # still open, but its contact opted out
    assert (row["status"], row["blocked_reason"]) == ("blocked", "unsubscribed")
    assert providers.smtp.received == []


async def test_twilio_21610_suppresses_the_number_and_no_sms_opt_in_follows(client, api, pool, make_shop,
                                                                             providers, redis):
    shop, api = await sms_shop(make_shop, api)
    phone = "+14155550123"
    signup = await create_signup(api, shop, channel="sms", phone=phone)
    providers.twilio.replies.append(
        Reply(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}))
    async with running_workers(providers.config):
        job, [row] = await notify_and_wait(api, pool, signup["id"])
        assert row["status"] == "failed"
        assert (await pool.fetchrow(SUPPRESSION, shop.shop_id, "sms", phone))["source"] == "provider_opt_out"

        body = signup_body(variant_id=4002, channel="sms", email=None, phone="+1 415 555 0123")
        status, out, _ = await api.post("/back_in_stock/signups", json=body)
        assert status == 422 and "unsubscribed from this shop's alerts" in out["fields"]["customer.phone"][0]

        # The storefront accepts it quietly; no opt-in SMS ever goes to a number that opted out.
        status, created = await storefront_create(client, shop, variant_id=4002, channel="sms", email=None,
                                                  phone=phone)
        assert status == 201
        await wait_for(lambda: queue_drained(redis, providers.config), what="queue drained")
        job, [row] = await notify_and_wait(api, pool, created["intent"]["id"])
        assert (row["status"], row["blocked_reason"]) == ("blocked", "unsubscribed")
    assert len(providers.twilio.posts) == 1  # the refused alert only


async def test_hard_bounce_suppresses_case_insensitively(api, pool, shop, providers):
    bounced = await create_signup(api, shop, email="Gone@Example.com")
    # The same customer, the address spelt otherwise on another signup.
    other = await create_signup(api, shop, email="gone@example.COM", variant_id=4002, item=7002)
    providers.smtp.rcpt_reply = "550 5.1.1 <Gone@Example.com>: mailbox unavailable"
    async with running_workers(providers.config):
        job, [row] = await notify_and_wait(api, pool, bounced["id"])
        assert row["status"] == "failed"
        assert (await pool.fetchrow(SUPPRESSION, shop.shop_id, "email", "gone@example.com"))["source"] == "hard_bounce"
        status, body, _ = await api.get(f"/back_in_stock/signups/{other['id']}")
        assert body["status"] == "unsubscribed"


async def test_unsubscribe_link_outlives_its_deleted_signup(client, api, pool, shop, providers):
    signup = await create_signup(api, shop, email="fay@example.com")
    token = unsubscribe_token(providers, shop, signup["id"])
    status, _, _ = await api.delete(f"/back_in_stock/signups/{signup['id']}")
    assert status == 204
    resp = await client.get(f"/u/{token}", headers={"Accept": "text/html"})
    assert resp.status == 200
    resp = await client.post(f"/u/{token}")
    assert resp.status == 200
    assert (await pool.fetchrow(SUPPRESSION, shop.shop_id, "email", "fay@example.com"))["source"] == \
        "unsubscribe_link"
    status, out, _ = await api.post("/back_in_stock/signups", json=signup_body(email="fay@example.com"))
    assert status == 422 and "customer.email" in out["fields"]

    # Past its 60 days, or for a signup that never was, the link is gone.
    await pool.execute("UPDATE unsubscribe_links SET active_at = now() - interval '61 days' WHERE shop_id = $1",
                       shop.shop_id)
    assert (await client.post(f"/u/{token}")).status == 404
    forged = tokens.sign("unsubscribe", shop.shop_id, uuid.uuid4(), providers.config.secret_key)
    assert (await client.post(f"/u/{forged}")).status == 404


async def test_shop_deletion_leaves_no_link_behind(pool, make_shop, api):
    shop = await make_shop()
    api = api.with_key(shop.api_key)
    await create_signup(api, shop, email="gus@example.com")
    await pool.execute("DELETE FROM shops WHERE shop_id = $1", shop.shop_id)  # what shop/redact does
    assert await pool.fetchval("SELECT count(*) FROM unsubscribe_links WHERE shop_id = $1", shop.shop_id) == 0


@pytest.mark.parametrize("confirmed", ["source", "target"])
async def test_transfer_merge_keeps_a_confirmation_with_its_contact(client, api, pool, make_shop, providers,
                                                                    confirmed):
    shop, api = await sms_shop(make_shop, api)
    status, _, _ = await api.patch("/back_in_stock/settings/compliance", json={"optin_required": True})
    assert status == 200
    yes, no = "+14155550101", "+14155550102"
    # One customer (found by email), two numbers: the source on 4001, the target on 4002.
    src = await create_signup(api, shop, channel="sms", email="hal@example.com",
                              phone=yes if confirmed == "source" else no)
    dst = await create_signup(api, shop, channel="sms", email="hal@example.com", variant_id=4002, item=7002,
                              phone=no if confirmed == "source" else yes)
    sure = src if confirmed == "source" else dst
    optin = tokens.sign("optin", shop.shop_id, uuid.UUID(sure["id"]), providers.config.secret_key)
    assert (await client.post(f"/optin/{optin}")).status == 200

    status, out, _ = await api.post("/back_in_stock/signups/transfer", json={
        "from_variant_id": 4001, "from_product_id": 9001, "to_variant_id": 4002, "to_product_id": 9001})
    assert status == 200 and out == {"transferred_count": 0, "merged_count": 1}, out
    rows = await pool.fetch("SELECT signup_id, contact, optin_confirmed_at FROM signups WHERE shop_id = $1",
                            shop.shop_id)
    assert [(str(r["signup_id"]), r["contact"], r["optin_confirmed_at"] is not None) for r in rows] == \
        [(dst["id"], yes, True)]  # never `no` confirmed

    # The merged-away source's unsubscribe link still works, for its own number.
    resp = await client.post(f"/u/{unsubscribe_token(providers, shop, src['id'])}")
    assert resp.status == 200
    source_number = yes if confirmed == "source" else no
    assert await pool.fetchrow(SUPPRESSION, shop.shop_id, "sms", source_number) is not None
