"""Compliance through real workers: double opt-in (the confirmation is not an
alert), SMS countries, and unsubscribed signups."""
from __future__ import annotations

import re
import uuid

from dispatcher.optin import send_optin
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from shared_models import tokens
from tests.dispatch_support import (
    create_signup,
    finished_job,
    job_notifications,
    notify,
    running_workers,
    wait_for,
)

OPTIN = re.compile(r"http://127\.0\.0\.1:8080/optin/([A-Za-z0-9_-]+)")


async def notify_and_wait(api, signup_id) -> tuple[dict, str]:
    job_id = await notify(api, signup_id)
    return await wait_for(lambda: finished_job(api, job_id), what="notify done"), job_id


async def read(api, signup_id) -> dict:
    status, body, _ = await api.get(f"/back_in_stock/signups/{signup_id}")
    assert status == 200, body
    return body


async def test_optin_required_confirmation_then_alert(client, api, pool, shop, providers):
    status, _, _ = await api.patch("/back_in_stock/settings/compliance", json={"optin_required": True})
    assert status == 200
    async with running_workers(providers.config):
        signup = await create_signup(api, shop, email="ann@example.com")
        assert signup["optin"] == {"required": True, "confirmed": False}
        [mail] = await wait_for(lambda: _received(providers, 1), what="confirmation email")
        # Not an alert: no notification row, nothing taken from the plan.
        assert await pool.fetchval("SELECT count(*) FROM notifications") == 0
        assert await pool.fetchval("SELECT coalesce(sum(used), 0) FROM plan_usage") == 0
        msg = mail.message
        assert mail.rcpt_tos == ["ann@example.com"]
        assert msg["Subject"] == "Confirm your back-in-stock alert for Linen shirt - M / Blue"
        text = msg.get_body(("plain",)).get_content()
        [token] = set(OPTIN.findall(text))
        assert token in msg.get_body(("html",)).get_content()
        assert tokens.verify("optin", token, providers.config.secret_key) == (shop.shop_id, uuid.UUID(signup["id"]))

        # Unconfirmed: a notify is blocked, and the signup still waits.
        job, job_id = await notify_and_wait(api, signup["id"])
        [row] = await job_notifications(pool, job_id)
        assert (row["status"], row["blocked_reason"], row["provider"]) == ("blocked", "optin_unconfirmed", None)
        assert (await read(api, signup["id"]))["status"] == "blocked"

        # The page alone (a mail scanner following the link) confirms nothing.
        resp = await client.get(f"/optin/{token}")
        assert resp.status == 200 and "Confirm my alert" in await resp.text()
        assert (await read(api, signup["id"]))["optin"]["confirmed"] is False
        resp = await client.post(f"/optin/{token}")
        assert resp.status == 200 and "Your alert is confirmed" in await resp.text()
        assert (await read(api, signup["id"]))["optin"] == {"required": True, "confirmed": True}

        job, job_id = await notify_and_wait(api, signup["id"])
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
    assert len(providers.smtp.received) == 2  # the confirmation, once, then the alert
    assert providers.smtp.received[1].message["Subject"] == "Linen shirt is back in stock"
    assert (await read(api, signup["id"]))["status"] == "notified"
    assert await pool.fetchval("SELECT sum(used) FROM plan_usage") == 1


async def _received(providers, n):
    return providers.smtp.received if len(providers.smtp.received) >= n else None


async def test_sms_country_not_allowed(api, pool, make_shop, providers):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings", json={
        "channels": {"sms": {"enabled": True}}, "compliance": {"sms_allowed_countries": ["US"]}})
    assert status == 200
    us = await create_signup(api, shop, channel="sms", phone="+14155550123")
    uk = await create_signup(api, shop, channel="sms", phone="+447400123456")
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"ids": [us["id"], uk["id"]]})
    assert status == 202
    async with running_workers(providers.config):
        job = await wait_for(lambda: finished_job(api, body["job_id"]), what="bulk done")
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 1}
    rows = {str(r["signup_id"]): r for r in await job_notifications(pool, body["job_id"])}
    assert (rows[us["id"]]["status"], rows[us["id"]]["provider"]) == ("sent", "twilio")
    assert (rows[uk["id"]]["status"], rows[uk["id"]]["blocked_reason"]) == ("blocked", "country_not_allowed")
    assert [p["To"] for p in providers.twilio.posts] == ["+14155550123"]
    assert (await read(api, uk["id"]))["status"] == "blocked"


async def test_unsubscribed_signup_is_blocked(client, api, pool, shop, providers):
    gone = await create_signup(api, shop, email="ann@example.com")
    stays = await create_signup(api, shop, email="bob@example.com")
    token = tokens.sign("unsubscribe", shop.shop_id, uuid.UUID(gone["id"]), providers.config.secret_key)
    resp = await client.post(f"/u/{token}")
    assert resp.status == 200
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"ids": [gone["id"], stays["id"]]})
    assert status == 202 and body["accepted_count"] == 2
    async with running_workers(providers.config):
        job = await wait_for(lambda: finished_job(api, body["job_id"]), what="bulk done")
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 1}
    rows = {str(r["signup_id"]): r for r in await job_notifications(pool, body["job_id"])}
    assert (rows[gone["id"]]["status"], rows[gone["id"]]["blocked_reason"]) == ("blocked", "unsubscribed")
    assert rows[stays["id"]]["status"] == "sent"
    assert [m.rcpt_tos for m in providers.smtp.received] == [["bob@example.com"]]
    assert (await read(api, gone["id"]))["status"] == "unsubscribed"


async def test_optin_confirmation_obeys_channel_and_country_rules(api, pool, make_shop, providers):
    """A confirmation is not an alert, but it is a message: none goes over a
    channel the shop's plan or settings turn off, nor to a country not allowed."""
    free = await make_shop()
    free_api = api.with_key(free.api_key)
    await free_api.patch("/back_in_stock/settings/compliance", json={"optin_required": True})
    lite = await make_shop(plan="lite")
    lite_api = api.with_key(lite.api_key)
    status, _, _ = await lite_api.patch("/back_in_stock/settings", json={
        "channels": {"sms": {"enabled": True}},
        "compliance": {"optin_required": True, "sms_allowed_countries": ["US"]}})
    assert status == 200
    no_sms = await create_signup(free_api, free, channel="sms", phone="+14155550123")  # SMS: paid plans only
    abroad = await create_signup(lite_api, lite, channel="sms", phone="+447400123456")
    allowed = await create_signup(lite_api, lite, channel="sms", phone="+14155550124")
    rt = await build_runtime(providers.config, Tuning())
    try:
        assert await send_optin(rt, free.shop_id, uuid.UUID(no_sms["id"])) is False
        assert await send_optin(rt, lite.shop_id, uuid.UUID(abroad["id"])) is False
        assert await send_optin(rt, lite.shop_id, uuid.UUID(allowed["id"])) is True
    finally:
        await close_runtime(rt)
    [form] = providers.twilio.posts
    assert form["To"] == "+14155550124"
    assert OPTIN.search(form["Body"]) and form["Body"].endswith("Reply STOP to opt out")
