"""Only trusted text goes into messages (issue 13 §4), and a subject template
that fails for a real product fails that alert with the reason (§6).

End to end: the storefront endpoint (no key), a signed Shopify webhook that
restocks, real workers, and the email as the SMTP server (aiosmtpd) got it."""
from __future__ import annotations

from shared_models.templates import template_errors
from tests.dispatch_support import running_workers, wait_for
from tests.shopify import inventory_update, product, send_webhook
from tests.test_v1_support import intent_body

PHISH = "ACTION REQUIRED: your order was suspended - call +1 555 0100"
STOREFRONT = "/api/v1/intents.json"


def phishing_intent(shop, variant_id: int, item: int, email_address: str) -> dict:
    return intent_body(variant_id=variant_id, product_id=9100, email=email_address, source=None,
                       shopify_inventory_item_id=item,
                       product={"title": PHISH, "variant_title": PHISH, "sku": PHISH, "vendor": PHISH,
                                "url": f"https://{shop.domain}/pages/{PHISH[:15].replace(' ', '-')}"})


async def storefront_signup(client, shop, body) -> dict:
    resp = await client.post(STOREFRONT, json=body, headers={"X-Shopify-Shop-Domain": shop.domain})
    assert resp.status in (200, 201), await resp.text()
    return await resp.json()


def full_text(mail) -> str:
    """Subject, headers and every part, decoded: where a phrase could hide."""
    msg = mail.message
    parts = [str(v) for _, v in msg.items()]
    parts += [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


async def test_storefront_text_never_reaches_the_email(client, pool, make_shop, providers):
    shop = await make_shop(plan="lite", name="Acme Store")
    await storefront_signup(client, shop, phishing_intent(shop, 4101, 7101, "ann@example.com"))
    # A second visitor, for a variant someone else already put in the catalog row.
    await storefront_signup(client, shop, phishing_intent(shop, 4101, 7101, "bob@example.com"))
    stored = await pool.fetchrow("SELECT product_title, variant_title, sku, vendor, url, inventory_item_id "
                                 "FROM variants WHERE shop_id = $1 AND variant_id = 4101", shop.shop_id)
    assert dict(stored) == {"product_title": None, "variant_title": None, "sku": None, "vendor": None,
                            "url": None, "inventory_item_id": 7101}

    async with running_workers(providers.config):
        status, _ = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7101, 5))
        assert status == 200
        await wait_for(lambda: _received(providers.smtp, 2), what="two alert emails")
    for mail in providers.smtp.received:
        msg = mail.message
        assert msg["Subject"] == "An item you asked about is back in stock at Acme Store"
        text = full_text(mail)
        assert "Good news: an item you asked about is back in stock at Acme Store." in text
        for fragment in ("ACTION REQUIRED", "555 0100", "suspended"):
            assert fragment not in text
    assert sorted(m.rcpt_tos[0] for m in providers.smtp.received) == ["ann@example.com", "bob@example.com"]


async def test_shopify_title_wins_and_the_storefront_cannot_replace_it(client, pool, make_shop, providers):
    shop = await make_shop(plan="lite", name="Acme Store")
    status, _ = await send_webhook(client, shop, "products/update",
                                   product(9100, [{"id": 4102, "inventory_item_id": 7102, "title": "M / Blue"}]))
    assert status == 200
    async with running_workers(providers.config):
        await wait_for(lambda: pool.fetchval("SELECT product_title FROM variants WHERE shop_id = $1 "
                                             "AND variant_id = 4102", shop.shop_id), what="catalog from Shopify")
        await storefront_signup(client, shop, phishing_intent(shop, 4102, 7102, "cat@example.com"))
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7102, 3))
        await wait_for(lambda: _received(providers.smtp, 1), what="the alert email")
    [mail] = providers.smtp.received
    assert mail.message["Subject"] == "Linen shirt is back in stock"
    assert "Linen shirt - M / Blue" in full_text(mail) and PHISH not in full_text(mail)


async def test_a_template_that_validated_but_fails_for_a_product_fails_the_alert(
        client, api, pool, make_shop, providers):
    shop = await make_shop(plan="lite", name="Acme Store")
    api = api.with_key(shop.api_key)
    # Renders for every sample value the validation tries (typical, longest,
    # empty), but not for a real title just past "M" and shorter than four.
    subject = '{% if product_title > "M" %}{{ product_title[3] }}{% endif %} is back'
    status, out, _ = await api.patch("/back_in_stock/settings/channels", json={"email": {"subject": subject}})
    assert status == 200, out
    body = {"variant_id": 4103, "product_id": 9103, "inventory_item_id": 7103, "channel": "email",
            "customer": {"email": "dee@example.com"}, "product": {"title": "Mug"}}
    status, out, _ = await api.post("/back_in_stock/signups", json=body)
    assert status == 201, out
    async with running_workers(providers.config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7103, 2))
        row = await wait_for(lambda: pool.fetchrow(
            "SELECT status, error, provider_message_id FROM notifications WHERE shop_id = $1 "
            "AND status <> 'sending'", shop.shop_id), what="the alert's outcome")
    assert row["status"] == "failed" and row["provider_message_id"] is None
    assert row["error"].startswith("the email subject template failed to render:"), row["error"]
    assert "outcome unknown" not in row["error"]
    assert providers.smtp.received == []


def test_worst_case_samples_catch_templates_the_typical_values_pass():
    assert template_errors("{{ variant_title[0] }}")  # a variant with no title
    assert template_errors("{{ product_title[20] }}")  # a short title
    assert template_errors("{% if product_title > 'V' %}{{ product_title|truncate(2) }}{% endif %}")
    assert template_errors("{{ product_title }} - {{ variant_title }} at {{ shop_name }}") == []


async def _received(smtp, n: int):
    return len(smtp.received) >= n

