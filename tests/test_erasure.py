"""customers/redact is complete (issue 13 §2), through the real API and real
dispatcher workers with signed webhooks: after it, no table, API answer
(Idempotency-Key replays included), report, CSV or new log line shows the
person; orders keep their revenue and attribution; stored webhook payloads
are minimised once processed."""
from __future__ import annotations

import logging
import uuid

from tests.dispatch_support import running_workers, wait_for
from tests.report_support import REPORTS, order, report, restock, send_order, settled, signup
from tests.test_dispatch_shop_events import tenant_tables, webhook

ANN, PHONE, SHOPIFY_ID = "ann.erased@example.com", "+14155550123", 555001
OWN_PHONE = "+14155550188"  # on Ann's record only: the request doesn't name it
STREET = "12 Gift Lane"  # in the order's gift note and shipping address
LINE = {"variant_id": 4001, "product_id": 9001, "price": "40.00"}


def ann_order(order_id: int, **extra) -> dict:
    body = order(order_id, [LINE], email=ANN, customer_id=SHOPIFY_ID,
                 note_attributes=[{"name": "gift_note", "value": f"Deliver to {STREET}"}])
    body["customer"]["phone"] = PHONE
    body["phone"] = PHONE
    body["shipping_address"] = {"name": "Ann Erased", "address1": STREET, "phone": PHONE}
    body.update(extra)
    return body


async def mentions(pool, shop, text: str) -> list[str]:
    """The tenant tables with a row of the shop whose text holds `text`."""
    found = []
    for table in await tenant_tables(pool):
        if await pool.fetchval(f'SELECT count(*) FROM "{table}" t WHERE t.shop_id = $1 '
                               "AND strpos(lower(t::text), lower($2)) > 0", shop.shop_id, text):
            found.append(table)
    return found


async def test_customers_redact_leaves_nothing_of_the_person(client, api, pool, shop, config, caplog):
    # Ann: an email signup (replayable through its Idempotency-Key) and an SMS
    # one; her phone also on an SMS signup held under Bob's record.
    body = {"variant_id": 4001, "product_id": 9001, "channel": "email", "inventory_item_id": 7001,
            "product": {"title": "Linen shirt", "url": f"https://{shop.domain}/products/p?variant=4001"},
            "customer": {"email": ANN, "name": "Ann Erased"}}
    status, created, _ = await api.post("/back_in_stock/signups", json=body, headers={"Idempotency-Key": "ann-1"})
    assert status == 201, created
    ann_sms = await signup(api, shop, variant_id=4002, product_id=9001, item=7002, channel="sms",
                           email=ANN, phone=OWN_PHONE)
    status, bob_sms, _ = await api.post("/back_in_stock/signups", json={
        "variant_id": 4002, "product_id": 9001, "channel": "sms", "inventory_item_id": 7002,
        "customer": {"email": "bob@example.com", "phone": PHONE}})
    assert status == 201 and bob_sms["contact"] == PHONE, bob_sms
    bob_email = await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email="bob@example.com")

    async with running_workers(config):
        await restock(client, pool, shop, 7001)  # Ann's and Bob's email alerts are sent
        # Ann's order, attributed to her alert; another order the request names.
        assert (await send_order(client, pool, shop, ann_order(6001))).startswith("order attributed")
        await send_order(client, pool, shop, order(6002, [LINE], email="gift.buyer@example.com"))
        before = await report(api, "summary")
        assert (before["conversions"], before["recovered_revenue"]) == (1, "40.00")
        # The stored orders/create payload was minimised once processed.
        stored = await pool.fetchval("SELECT payload FROM webhook_events WHERE shop_id = $1 "
                                     "AND payload ->> 'id' = '6001'", shop.shop_id)
        assert set(stored) <= {"id", "created_at", "cancelled_at"} and stored["id"] == 6001, stored
        assert STREET.lower() not in str(stored).lower()

        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            outcome = await webhook(client, pool, shop, "customers/redact", {
                "shop_id": 1, "shop_domain": shop.domain, "orders_to_redact": [6002],
                "customer": {"id": SHOPIFY_ID, "email": ANN.upper(), "phone": "+1 (415) 555-0123"}})
            await wait_for(lambda: settled(pool, shop), what="redact settled")
        redact_logs = caplog.text
    assert outcome == "redacted 1 customers, 3 signups, 2 orders", outcome

    # No table holds her email, phone, name or street any more.
    for text in (ANN, PHONE, OWN_PHONE, "Ann Erased", STREET, str(SHOPIFY_ID)):
        assert await mentions(pool, shop, text) == [], text
    assert not any(t.lower() in redact_logs.lower() for t in (ANN, PHONE, STREET)), redact_logs
    # Her signups are gone, Bob's SMS signup to her phone too (not sendable); Bob stays, without her phone.
    for signup_id in (created["id"], ann_sms, bob_sms["id"]):
        assert (await api.get(f"/back_in_stock/signups/{signup_id}"))[0] == 404
    status, bob, _ = await api.get(f"/back_in_stock/signups/{bob_email}")
    assert status == 200 and bob["contact"] == "bob@example.com"
    assert await pool.fetchval("SELECT phone FROM customers WHERE shop_id = $1 AND email = 'bob@example.com'",
                               shop.shop_id) is None

    # The replay no longer answers her details, and doesn't create her again.
    status, replay, resp = await api.post("/back_in_stock/signups", json=body,
                                             headers={"Idempotency-Key": "ann-1"})
    assert status == 410 and resp.headers.get("Idempotent-Replayed") == "true", replay
    assert ANN not in str(replay) and "Ann Erased" not in str(replay)
    assert await pool.fetchval("SELECT count(*) FROM customers WHERE shop_id = $1 AND lower(email) = $2",
                               shop.shop_id, ANN) == 0

    # Orders keep revenue and attribution; reports, lists and CSVs don't show her.
    after = await report(api, "summary")
    assert (after["conversions"], after["recovered_revenue"]) == (1, "40.00")
    rows = await pool.fetch("SELECT order_id, email, shopify_customer_id, note_attributes FROM orders "
                            "WHERE shop_id = $1 ORDER BY order_id", shop.shop_id)
    assert [tuple(r) for r in rows] == [(6001, None, None, None), (6002, None, None, None)]
    assert await pool.fetchval("SELECT sum(revenue) FROM order_attributions WHERE shop_id = $1",
                               shop.shop_id) == 40
    reports = [(f"{REPORTS}/{name}", {"format": fmt}) for fmt in ("json", "csv")
               for name in ("summary", "signups", "notifications", "conversions", "products_in_demand")]
    for path, params in [("/back_in_stock/signups", {}), ("/back_in_stock/notifications", {}), *reports]:
        status, out, _ = await api.get(path, params=params)
        assert status == 200, (path, out)
        assert not any(t.lower() in str(out).lower() for t in (ANN, PHONE, "Ann Erased")), (path, out)


async def test_an_unrelated_customer_keeps_everything(client, api, pool, shop, config):
    """The match is exact: a customer with a similar address, another phone, is untouched."""
    keep = await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email="ann@example.com.au")
    keep_sms = await signup(api, shop, variant_id=4002, product_id=9001, item=7002, channel="sms",
                            email="carol@example.com", phone="+14155550199")
    async with running_workers(config):
        outcome = await webhook(client, pool, shop, "customers/redact", {
            "shop_id": 1, "shop_domain": shop.domain, "orders_to_redact": [],
            "customer": {"id": 1, "email": "ann@example.com", "phone": "+14155550123"}})
    assert outcome == "redacted 0 customers, 0 signups, 0 orders"
    for signup_id in (keep, keep_sms):
        assert (await api.get(f"/back_in_stock/signups/{signup_id}"))[0] == 200


async def test_a_later_redact_erases_the_data_request_export(client, api, pool, shop, config):
    await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email=ANN)
    async with running_workers(config):
        outcome = await webhook(client, pool, shop, "customers/data_request", {
            "shop_id": 1, "shop_domain": shop.domain, "customer": {"email": ANN}, "data_request": {"id": 4}})
        request_id = outcome.split()[2].rstrip(":")
        status, body, _ = await api.get(f"/back_in_stock/data_requests/{request_id}")
        assert status == 200 and body["export"]["customers"][0]["email"] == ANN
        # The export request's own stored payload names no one once processed.
        assert await mentions(pool, shop, ANN) == ["customers", "data_requests", "signups"]
        await webhook(client, pool, shop, "customers/redact",
                      {"shop_id": 1, "shop_domain": shop.domain, "customer": {"email": ANN}})
    assert (await api.get(f"/back_in_stock/data_requests/{request_id}"))[0] == 404
    assert await mentions(pool, shop, ANN) == []


async def test_data_requests_need_the_shops_key(client, api, pool, make_shop, shop, config):
    other = await make_shop()
    async with running_workers(config):
        outcome = await webhook(client, pool, shop, "customers/data_request", {
            "shop_id": 1, "shop_domain": shop.domain, "customer": {"email": ANN}})
    request_id = outcome.split()[2].rstrip(":")
    assert (await api.with_key(other.api_key).get(f"/back_in_stock/data_requests/{request_id}"))[0] == 404
    assert (await api.with_key(other.api_key).get("/back_in_stock/data_requests"))[1] == {"data_requests": []}
    assert (await api.with_key("bis_nope").get("/back_in_stock/data_requests"))[0] == 401
    assert (await api.get(f"/back_in_stock/data_requests/{uuid.uuid4()}"))[0] == 404


async def test_links_of_signups_deleted_before_the_redact_go_too(client, api, pool, shop, config):
    """A deleted signup's unsubscribe link keeps its contact for 60 days; an
    erasure removes it, whenever the signup was deleted."""
    early = await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email=ANN)
    assert (await api.delete(f"/back_in_stock/signups/{early}"))[0] in (200, 204)
    await signup(api, shop, variant_id=4002, product_id=9001, item=7002, email=ANN)
    assert "unsubscribe_links" in await mentions(pool, shop, ANN)
    async with running_workers(config):
        await webhook(client, pool, shop, "customers/redact",
                      {"shop_id": 1, "shop_domain": shop.domain, "customer": {"email": ANN.upper()}})
    assert await mentions(pool, shop, ANN) == []
