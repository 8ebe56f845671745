"""Each channel end to end: real workers sending through the real SMTP server
(aiosmtpd) and the local HTTP stand-ins for Twilio and the push gateway, and
the links in what they received leading back through the public pages."""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

from shared_models import tokens
from tests.dispatch_support import (
    create_signup,
    finished_job,
    job_notifications,
    notify,
    running_workers,
    wait_for,
)
from tests.shopify import inventory_update, send_webhook

CLICK = re.compile(r"http://127\.0\.0\.1:8080/t/([A-Za-z0-9_-]+)")
UNSUBSCRIBE = re.compile(r"http://127\.0\.0\.1:8080/u/([A-Za-z0-9_-]+)")


async def follow_click(client, token: str) -> str:
    resp = await client.get(f"/t/{token}", allow_redirects=False)
    assert resp.status == 302, await resp.text()
    return resp.headers["Location"]


def utm(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


async def test_email_as_received(client, api, pool, make_shop, providers):
    shop = await make_shop(plan="lite", name="Acme Store")
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings/channels", json={"email": {
        "subject": "{{ product_title }} ({{ variant_title }}) is back at {{ shop_name }}",
        "sender_name": "Acme Alerts", "reply_to": "help@acme.example"}})
    assert status == 200
    signup = await create_signup(api, shop, email="ann@example.com")
    job_id = await notify(api, signup["id"])
    async with running_workers(providers.config):
        job = await wait_for(lambda: finished_job(api, job_id), what="notify done")
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
    [row] = await job_notifications(pool, job_id)
    nid = row["notification_id"]

    [mail] = providers.smtp.received
    assert mail.mail_from == "alerts@backinstock.test" and mail.rcpt_tos == ["ann@example.com"]
    msg = mail.message
    assert msg["Subject"] == "Linen shirt (M / Blue) is back at Acme Store"
    assert (msg["From"].addresses[0].display_name, msg["From"].addresses[0].addr_spec) == \
        ("Acme Alerts", "alerts@backinstock.test")
    assert msg["Reply-To"] == "help@acme.example"
    assert msg["To"] == "ann@example.com"
    assert (row["status"], row["provider"], row["provider_message_id"]) == ("sent", "smtp", msg["Message-ID"])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Linen shirt - M / Blue" in text
    assert "<strong>Linen shirt</strong> (M / Blue)" in html

    # The tracked link: the same in both parts, signed for this notification.
    [click] = set(CLICK.findall(text))
    assert CLICK.findall(html) == [click]
    assert tokens.verify("click", click, providers.config.secret_key) == (shop.shop_id, nid)
    # The unsubscribe link: in both parts and in List-Unsubscribe, signed for the signup.
    [unsubscribe] = set(UNSUBSCRIBE.findall(text))
    assert unsubscribe in html
    assert msg["List-Unsubscribe"] == f"<http://127.0.0.1:8080/u/{unsubscribe}>"
    assert tokens.verify("unsubscribe", unsubscribe, providers.config.secret_key) == \
        (shop.shop_id, uuid.UUID(signup["id"]))

    location = await follow_click(client, click)
    assert location.startswith(f"https://{shop.domain}/products/linen-shirt?variant=4001&")
    assert utm(location) == {"variant": ["4001"], "utm_source": ["back_in_stock"], "utm_medium": ["email"],
                             "utm_content": [str(nid)]}
    status, note, _ = await api.get(f"/back_in_stock/notifications/{nid}")
    assert note["clicked_at"] is not None and note["provider"] == "smtp"

    # RFC 8058 one-click, exactly as a mailbox provider posts it.
    resp = await client.post(f"/u/{unsubscribe}", data=b"List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    status, after, _ = await api.get(f"/back_in_stock/signups/{signup['id']}")
    assert after["status"] == "unsubscribed"


async def test_sms_and_push_as_received(client, api, pool, make_shop, providers):
    shop = await make_shop(plan="lite", name="Acme Store")
    api = api.with_key(shop.api_key)
    status, channels, _ = await api.patch("/back_in_stock/settings/channels",
                                          json={"sms": {"enabled": True}, "push": {"enabled": True}})
    assert status == 200 and channels["sms"]["enabled"] and channels["push"]["enabled"]
    sms = await create_signup(api, shop, channel="sms", phone="+14155550123")
    push = await create_signup(api, shop, channel="push", push_token="device-token-1")
    async with running_workers(providers.config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        job = await wait_for(lambda: _restock_job(pool, shop), what="restock job")
        job = await wait_for(lambda: finished_job(api, str(job)), what="restock done")
    assert job["counts"] == {"sent": 2, "failed": 0, "blocked": 0}
    by_channel = {r["channel"]: r for r in await job_notifications(pool, job["id"])}

    # SMS: Twilio's form, from our number, the product, the tracked link, an opt-out line last.
    [form] = providers.twilio.posts
    assert set(form) == {"To", "From", "Body"}
    assert (form["To"], form["From"]) == ("+14155550123", "+15005550006")
    body = form["Body"]
    assert body.startswith("Acme Store: Linen shirt - M / Blue is back in stock! ")
    assert body.splitlines()[-1].startswith("Reply STOP to opt out")
    row = by_channel["sms"]
    assert (str(row["signup_id"]), row["status"], row["provider"]) == (sms["id"], "sent", "twilio")
    assert row["provider_message_id"] == f"SM{1:032x}"  # the sid Twilio answered
    [click] = CLICK.findall(body)
    assert tokens.verify("click", click, providers.config.secret_key) == (shop.shop_id, row["notification_id"])
    location = await follow_click(client, click)
    assert utm(location)["utm_medium"] == ["sms"]
    assert utm(location)["utm_content"] == [str(row["notification_id"])]

    # Push: the gateway's JSON, with the tracked link as its url.
    [payload] = providers.push.posts
    row = by_channel["push"]
    assert set(payload) == {"token", "title", "body", "url"}
    assert payload["token"] == "device-token-1"
    assert payload["title"] == "Linen shirt - M / Blue is back in stock"
    assert "Acme Store" in payload["body"]
    [click] = CLICK.findall(payload["url"])
    assert payload["url"] == f"http://127.0.0.1:8080/t/{click}"
    assert tokens.verify("click", click, providers.config.secret_key) == (shop.shop_id, row["notification_id"])
    assert providers.push.headers[0]["Idempotency-Key"] == str(row["notification_id"])
    assert (str(row["signup_id"]), row["status"], row["provider"], row["provider_message_id"]) == \
        (push["id"], "sent", "push_gateway", "push-1")
    assert utm(await follow_click(client, click))["utm_medium"] == ["push"]
    assert providers.smtp.received == []


async def _restock_job(pool, shop):
    return await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1 AND kind = 'restock'", shop.shop_id)
