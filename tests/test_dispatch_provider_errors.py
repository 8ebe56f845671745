"""What providers answer, through the worker: retries as new attempt rows,
permanent refusals that unsubscribe, rate limits waited out, unknown outcomes
never retried, and the plan counting only what was sent."""
from __future__ import annotations

import uuid

from tests.dispatch_support import (
    create_signup,
    finished_job,
    job_notifications,
    notify,
    running_workers,
    wait_for,
)
from tests.stand_ins import DROP, Reply


async def sms_shop(make_shop, api):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings/channels",
                                   json={"sms": {"enabled": True}, "push": {"enabled": True}})
    assert status == 200
    return shop, api


async def plan_used(pool, shop) -> int:
    return await pool.fetchval("SELECT coalesce(sum(used), 0) FROM plan_usage WHERE shop_id = $1", shop.shop_id)


async def signup_status(api, signup_id) -> dict:
    status, body, _ = await api.get(f"/back_in_stock/signups/{signup_id}")
    assert status == 200, body
    return body


def attempts(rows) -> list[tuple]:
    return [(r["attempt"], r["status"], r["provider"]) for r in rows]


async def test_transient_error_is_retried_as_a_new_attempt(api, pool, make_shop, providers):
    shop, api = await sms_shop(make_shop, api)
    signup = await create_signup(api, shop, channel="sms", phone="+14155550123")
    providers.twilio.replies.append(Reply(500, {"code": 20500, "message": "Internal Server Error"}))
    job_id = await notify(api, signup["id"])
    async with running_workers(providers.config):
        await wait_for(lambda: finished_job(api, job_id), what="notify done")
    rows = await job_notifications(pool, job_id)
    assert attempts(rows) == [(1, "failed", "twilio"), (2, "sent", "twilio")]
    assert rows[0]["error"] == "Twilio HTTP 500: Internal Server Error"
    assert rows[0]["sent_at"] is None and rows[1]["error"] is None
    assert rows[1]["provider_message_id"] == f"SM{1:032x}"  # the 500 took no sid
    assert len(providers.twilio.posts) == 2
    assert (await signup_status(api, signup["id"]))["status"] == "notified"
    assert await plan_used(pool, shop) == 1  # the failed attempt gave its unit back


async def test_recipient_opted_out_unsubscribes_that_contact(api, pool, make_shop, providers):
    shop, api = await sms_shop(make_shop, api)
    first = await create_signup(api, shop, channel="sms", phone="+14155550123")
    second = await create_signup(api, shop, channel="sms", phone="+14155550123", variant_id=4002, item=7002)
    other = await create_signup(api, shop, channel="sms", phone="+14155550199")
    providers.twilio.replies.append(
        Reply(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}))
    job_id = await notify(api, first["id"])
    async with running_workers(providers.config):
        job = await wait_for(lambda: finished_job(api, job_id), what="notify done")
    assert job["counts"] == {"sent": 0, "failed": 1, "blocked": 0}
    [row] = await job_notifications(pool, job_id)  # permanent: not retried
    assert (row["status"], row["error"]) == ("failed", "Twilio 21610: Attempt to send to unsubscribed recipient")
    assert len(providers.twilio.posts) == 1
    assert (await signup_status(api, first["id"]))["status"] == "unsubscribed"
    assert (await signup_status(api, second["id"]))["status"] == "unsubscribed"  # same contact
    assert (await signup_status(api, other["id"]))["status"] == "pending"
    assert await plan_used(pool, shop) == 0


async def test_rate_limit_is_waited_out_not_recorded(api, pool, make_shop, providers):
    shop, api = await sms_shop(make_shop, api)
    signup = await create_signup(api, shop, channel="sms", phone="+14155550123")
    providers.twilio.replies.append(
        Reply(429, {"code": 20429, "message": "Too Many Requests"}, headers={"Retry-After": "1"}))
    job_id = await notify(api, signup["id"])
    async with running_workers(providers.config):
        await wait_for(lambda: finished_job(api, job_id), what="notify done")
    [row] = await job_notifications(pool, job_id)
    assert (row["attempt"], row["status"], row["error"]) == (1, "sent", None)
    assert len(providers.twilio.posts) == 2
    waited = await pool.fetchval("SELECT finished_at - started_at FROM jobs WHERE job_id = $1", uuid.UUID(job_id))
    assert waited.total_seconds() >= 0.9  # Retry-After: 1
    assert await plan_used(pool, shop) == 1


async def test_unknown_outcome_is_failed_and_not_retried(api, pool, make_shop, providers):
    shop, api = await sms_shop(make_shop, api)
    signup = await create_signup(api, shop, channel="push", push_token="device-token-1")
    providers.push.replies.append(Reply(mode=DROP))  # reads the request, closes without answering
    job_id = await notify(api, signup["id"])
    async with running_workers(providers.config):
        job = await wait_for(lambda: finished_job(api, job_id), what="notify done")
    [row] = await job_notifications(pool, job_id)
    assert (row["attempt"], row["status"], row["provider"]) == (1, "failed", "push_gateway")
    assert row["error"].startswith("outcome unknown: push gateway connection broke")
    assert len(providers.push.posts) == 1
    assert job["counts"] == {"sent": 0, "failed": 1, "blocked": 0}
    assert (await signup_status(api, signup["id"]))["status"] == "pending"
    assert await plan_used(pool, shop) == 0


async def test_smtp_hard_bounce_on_rcpt_fails_and_unsubscribes(api, pool, shop, providers):
    signup = await create_signup(api, shop, email="gone@example.com")
    kept = await create_signup(api, shop, email="kept@example.com", variant_id=4002, item=7002)
    providers.smtp.rcpt_reply = "550 5.1.1 <gone@example.com>: mailbox unavailable"
    job_id = await notify(api, signup["id"])
    async with running_workers(providers.config):
        await wait_for(lambda: finished_job(api, job_id), what="notify done")
    [row] = await job_notifications(pool, job_id)
    assert (row["status"], row["provider"]) == ("failed", "smtp")
    assert row["error"] == "SMTP 550 on RCPT: 5.1.1 <gone@example.com>: mailbox unavailable"
    assert providers.smtp.received == []
    assert (await signup_status(api, signup["id"]))["status"] == "unsubscribed"
    assert (await signup_status(api, kept["id"]))["status"] == "pending"
    assert await plan_used(pool, shop) == 0


async def test_max_attempts_exhausted_leaves_the_signup_waiting(api, pool, make_shop, providers):
    shop, api = await sms_shop(make_shop, api)
    signup = await create_signup(api, shop, channel="push", push_token="device-token-1")
    providers.push.replies.extend([Reply(503, {"error": "unavailable"})] * 3)
    job_id = await notify(api, signup["id"])
    async with running_workers(providers.config, max_attempts=3):
        await wait_for(lambda: finished_job(api, job_id), what="notify done")
        rows = await job_notifications(pool, job_id)
        assert attempts(rows) == [(1, "failed", "push_gateway"), (2, "failed", "push_gateway"),
                                  (3, "failed", "push_gateway")]
        assert {r["error"] for r in rows} == {"push gateway HTTP 503: unavailable"}
        assert len(providers.push.posts) == 3
        # Failed attempts don't make it notified: it is still waiting, and the plan was not charged.
        after = await signup_status(api, signup["id"])
        assert (after["status"], after["notifications_sent"], after["last_notified_at"]) == ("pending", 0, None)
        assert await plan_used(pool, shop) == 0
        # So the next notify (no allow_resend needed) sends it.
        again = await notify(api, signup["id"])
        job = await wait_for(lambda: finished_job(api, again), what="second notify done")
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
    assert (await signup_status(api, signup["id"]))["status"] == "notified"
    assert await plan_used(pool, shop) == 1


async def test_smtp_connection_lost_after_data_is_not_retried(api, pool, shop, providers):
    first = await create_signup(api, shop, email="ann@example.com")
    second = await create_signup(api, shop, email="bob@example.com")
    providers.smtp.drop_after_data = True  # the message arrived; the final reply never comes
    async with running_workers(providers.config):
        job_id = await notify(api, first["id"])
        await wait_for(lambda: finished_job(api, job_id), what="notify done")
        [row] = await job_notifications(pool, job_id)
        assert (row["attempt"], row["status"], row["provider"]) == (1, "failed", "smtp")
        assert row["error"].startswith("outcome unknown: SMTP connection lost after DATA")
        assert (await signup_status(api, first["id"]))["status"] == "pending"
        # The provider reconnects for the next message.
        providers.smtp.drop_after_data = False
        job_id = await notify(api, second["id"])
        await wait_for(lambda: finished_job(api, job_id), what="second notify done")
    [row] = await job_notifications(pool, job_id)
    assert row["status"] == "sent"
    assert [m.rcpt_tos for m in providers.smtp.received] == [["bob@example.com"]]
    assert await plan_used(pool, shop) == 1
