"""A variant's name has one owner (shared_models.naming): Python and the demand
report's SQL agree on every case, and the signup, the notification row and the
email show the same name."""
from __future__ import annotations

import pytest

from shared_models.naming import DISPLAY_NAME_SQL, display_name, product_name
from tests.dispatch_support import create_signup, running_workers, wait_for
from tests.shopify import inventory_update, send_webhook

CASES = [
    ("Tee", "Default Title"), ("Tee", None), ("Tee", ""), ("Tee", "Tee"), ("Tee", "M / Blue"),
    ("  Tee ", " M "), (None, "M"), ("", "M"), ("   ", None), ("Café crème", "Grande"),
]


@pytest.mark.parametrize("product, variant", CASES)
def test_names(product, variant):
    name = product_name(product, variant)
    assert display_name(product, variant) == (name or None)
    if variant in (None, "", "Default Title", "Tee") and (product or "").strip():
        assert name == product.strip()


async def test_the_reports_sql_names_variants_as_python_does(pool):
    rows = await pool.fetch(f"SELECT {DISPLAY_NAME_SQL} AS name FROM unnest($1::text[], $2::text[]) "
                            "AS v(product_title, variant_title)", [c[0] for c in CASES], [c[1] for c in CASES])
    assert [r["name"] for r in rows] == [display_name(*c) for c in CASES]


async def test_a_default_title_variant_is_named_the_same_everywhere(client, api, pool, shop, providers):
    body_title = {"title": "Tee", "variant_title": "Default Title"}
    status, out, _ = await api.post("/back_in_stock/signups", json={
        "variant_id": 4001, "product_id": 9001, "inventory_item_id": 7001, "channel": "email",
        "customer": {"email": "tee@example.com"}, "product": body_title})
    assert status == 201, out
    assert out["variant"]["title"] == "Tee"
    async with running_workers(providers.config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 3))
        await wait_for(lambda: _sent(pool, shop), what="the alert")
    assert await pool.fetchval("SELECT variant_title FROM notifications WHERE shop_id = $1", shop.shop_id) == "Tee"
    [mail] = providers.smtp.received
    subject = mail.message["Subject"]
    assert "Tee" in subject and "Default Title" not in subject
    assert "Default Title" not in mail.message.get_body(("plain",)).get_content()


async def _sent(pool, shop):
    return await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'",
                               shop.shop_id)
