"""The public pages outside the base path: /t (click tracking), /u (unsubscribe), /optin."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from api_service.public.redirects import safe_product_url
from shared_models import tokens

VARIANT_ID = 4001
PRODUCT_ID = 9001

INSERT_CUSTOMER = "INSERT INTO customers (shop_id, customer_id, email) VALUES ($1, $2, $3)"
INSERT_SIGNUP = """
INSERT INTO signups (shop_id, signup_id, customer_id, variant_id, product_id, channel, contact, optin_required)
VALUES ($1, $2, $3, $4, $5, 'email', $6, $7)
"""
INSERT_NOTIFICATION = """
INSERT INTO notifications (shop_id, notification_id, signup_id, customer_id, channel, contact, status,
                           trigger, variant_id, product_id, provider, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, 'sent', 'restock', $7, $8, 'console', now())
"""
SIGNUP_STATE = "SELECT unsubscribed_at, optin_confirmed_at, updated_at FROM signups WHERE shop_id = $1 AND signup_id = $2"
CLICKED_AT = "SELECT clicked_at FROM notifications WHERE shop_id = $1 AND notification_id = $2"


@dataclass
class Seeded:
    shop_id: uuid.UUID
    domain: str
    customer_id: uuid.UUID
    signup_id: uuid.UUID
    notification_id: uuid.UUID


async def seed(pool, shop, *, url: str | None = None, product_title: str = "Linen shirt",
               handle: str | None = None, channel: str = "email", optin_required: bool = False,
               email: str | None = None) -> Seeded:
    customer_id, signup_id, notification_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    contact = email or f"{uuid.uuid4().hex[:8]}@example.com"
    await pool.execute(INSERT_CUSTOMER, shop.shop_id, customer_id, contact)
    await pool.execute(
        "INSERT INTO variants (shop_id, variant_id, product_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        shop.shop_id, VARIANT_ID, PRODUCT_ID)
    await pool.execute(
        "UPDATE variants SET product_title = $3, variant_title = 'M / Blue', url = $4, handle = $5 "
        "WHERE shop_id = $1 AND variant_id = $2",
        shop.shop_id, VARIANT_ID, product_title, url, handle)
    await pool.execute(INSERT_SIGNUP, shop.shop_id, signup_id, customer_id, VARIANT_ID, PRODUCT_ID, contact,
                       optin_required)
    await pool.execute(INSERT_NOTIFICATION, shop.shop_id, notification_id, signup_id, customer_id, channel,
                       contact, VARIANT_ID, PRODUCT_ID)
    return Seeded(shop.shop_id, shop.domain, customer_id, signup_id, notification_id)


async def add_signup(pool, shop_id: uuid.UUID, customer_id: uuid.UUID, variant_id: int) -> uuid.UUID:
    signup_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO variants (shop_id, variant_id, product_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        shop_id, variant_id, PRODUCT_ID)
    await pool.execute(INSERT_SIGNUP, shop_id, signup_id, customer_id, variant_id, PRODUCT_ID, "x@example.com", False)
    return signup_id


def sign(config, kind: str, shop_id: uuid.UUID, object_id: uuid.UUID) -> str:
    return tokens.sign(kind, shop_id, object_id, config.secret_key)


def assert_security_headers(resp) -> None:
    csp = resp.headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "style-src 'unsafe-inline'", "form-action 'self'"):
        assert directive in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.content_type == "text/html"


async def assert_not_found(resp) -> None:
    assert resp.status == 404
    body = await resp.json()
    assert body["errors"] and isinstance(body["errors"][0], str)


# --- /t -----------------------------------------------------------------------------------

async def test_click_redirects_to_the_product_with_utm_and_records_the_first_click(client, pool, shop, config):
    seeded = await seed(pool, shop, url=f"https://{shop.domain}/products/linen-shirt?variant={VARIANT_ID}")
    token = sign(config, "click", shop.shop_id, seeded.notification_id)
    resp = await client.get(f"/t/{token}", allow_redirects=False)
    assert resp.status == 302
    location = urlsplit(resp.headers["Location"])
    assert (location.scheme, location.hostname, location.path) == ("https", shop.domain, "/products/linen-shirt")
    assert parse_qs(location.query) == {"variant": [str(VARIANT_ID)], "utm_source": ["back_in_stock"],
                                        "utm_medium": ["email"], "utm_content": [str(seeded.notification_id)]}
    assert resp.headers["Cache-Control"] == "no-store"
    first = await pool.fetchval(CLICKED_AT, shop.shop_id, seeded.notification_id)
    assert first is not None
    resp = await client.get(f"/t/{token}", allow_redirects=False)
    assert resp.status == 302
    assert await pool.fetchval(CLICKED_AT, shop.shop_id, seeded.notification_id) == first  # first click wins


async def test_click_utm_medium_is_the_channel(client, pool, shop, config):
    seeded = await seed(pool, shop, url=f"https://{shop.domain}/products/x?utm_source=other", channel="sms")
    resp = await client.get(f"/t/{sign(config, 'click', shop.shop_id, seeded.notification_id)}",
                            allow_redirects=False)
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["utm_medium"] == ["sms"] and query["utm_source"] == ["back_in_stock"]


async def test_head_does_not_count_a_click(client, pool, shop, config):
    seeded = await seed(pool, shop, url=f"https://{shop.domain}/products/x")
    resp = await client.head(f"/t/{sign(config, 'click', shop.shop_id, seeded.notification_id)}",
                             allow_redirects=False)
    assert resp.status == 302
    assert await pool.fetchval(CLICKED_AT, shop.shop_id, seeded.notification_id) is None


@pytest.mark.parametrize("url", [
    "https://evil.example/products/linen-shirt",
    "https://evil.example\\@{domain}/products/x",
    "https://{domain}@evil.example/",
    "javascript:alert(1)//{domain}",
    None,
])
async def test_click_never_leaves_the_shops_domains(client, pool, shop, config, url):
    seeded = await seed(pool, shop, url=url.format(domain=shop.domain) if url else None)
    resp = await client.get(f"/t/{sign(config, 'click', shop.shop_id, seeded.notification_id)}",
                            allow_redirects=False)
    assert resp.status == 302
    location = urlsplit(resp.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", shop.domain, "/products")
    assert parse_qs(location.query)["variant"] == [str(VARIANT_ID)]


async def test_click_fallback_uses_the_handle_when_known(client, pool, shop, config):
    seeded = await seed(pool, shop, url="https://evil.example/x", handle="linen-shirt")
    resp = await client.get(f"/t/{sign(config, 'click', shop.shop_id, seeded.notification_id)}",
                            allow_redirects=False)
    assert resp.headers["Location"].startswith(f"https://{shop.domain}/products/linen-shirt?variant={VARIANT_ID}&")


async def test_click_accepts_a_storefront_domain(client, pool, shop, config):
    await pool.execute("UPDATE shops SET storefront_domains = $2 WHERE shop_id = $1",
                       shop.shop_id, ["www.acme-store.test"])
    seeded = await seed(pool, shop, url="https://WWW.acme-store.test/products/linen-shirt")
    resp = await client.get(f"/t/{sign(config, 'click', shop.shop_id, seeded.notification_id)}",
                            allow_redirects=False)
    assert resp.headers["Location"].startswith("https://www.acme-store.test/products/linen-shirt?utm_source=")


async def test_click_with_forged_wrong_kind_or_unknown_token_is_404(client, pool, shop, config, make_shop):
    seeded = await seed(pool, shop, url=f"https://{shop.domain}/products/x")
    good = sign(config, "click", shop.shop_id, seeded.notification_id)
    forged = tokens.sign("click", shop.shop_id, seeded.notification_id, "not-our-secret")
    wrong_kind = sign(config, "unsubscribe", shop.shop_id, seeded.notification_id)
    other_shop = await make_shop()
    foreign = sign(config, "click", other_shop.shop_id, seeded.notification_id)  # valid MAC, wrong shop
    for token in (forged, wrong_kind, foreign, good[:-1], "x" * 64):
        await assert_not_found(await client.get(f"/t/{token}", allow_redirects=False))
    await pool.execute("DELETE FROM notifications WHERE shop_id = $1", shop.shop_id)
    await assert_not_found(await client.get(f"/t/{good}", allow_redirects=False))


def test_safe_product_url_rebuilds_what_it_checked():
    domains = ("acme.myshopify.com",)
    assert safe_product_url("HTTPS://Acme.MyShopify.com./p?a=1#f", domains) == "https://acme.myshopify.com/p?a=1#f"
    assert safe_product_url("https://acme.myshopify.com:8443/p", domains) == "https://acme.myshopify.com:8443/p"
    for bad in ("ftp://acme.myshopify.com/", "//acme.myshopify.com/p", "https://acme.myshopify.com.evil.test/",
                "https://acme.myshopify.com\t.evil/", "https://acme.myshopify.com:99999/"):
        assert safe_product_url(bad, domains) is None, bad


# --- /u -----------------------------------------------------------------------------------

async def test_unsubscribe_page_asks_and_changes_nothing(client, pool, shop, config):
    seeded = await seed(pool, shop, product_title="<script>alert(1)</script>")
    token = sign(config, "unsubscribe", shop.shop_id, seeded.signup_id)
    resp = await client.get(f"/u/{token}")
    assert resp.status == 200
    assert_security_headers(resp)
    html = await resp.text()
    assert f'action="/u/{token}"' in html and f'action="/u/{token}?all=1"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html  # self-contained: no external resources
    state = await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id)
    assert state["unsubscribed_at"] is None


async def test_unsubscribe_post_is_idempotent(client, pool, shop, config):
    seeded = await seed(pool, shop)
    token = sign(config, "unsubscribe", shop.shop_id, seeded.signup_id)
    before = await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id)
    resp = await client.post(f"/u/{token}", data={"confirm": "1"})
    assert resp.status == 200
    assert_security_headers(resp)
    assert "unsubscribed" in (await resp.text())
    first = await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id)
    assert first["unsubscribed_at"] is not None and first["updated_at"] > before["updated_at"]
    resp = await client.post(f"/u/{token}")
    assert resp.status == 200
    again = await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id)
    assert again["unsubscribed_at"] == first["unsubscribed_at"]
    assert again["updated_at"] == first["updated_at"]


async def test_rfc8058_one_click(client, pool, shop, config):
    seeded = await seed(pool, shop)
    token = sign(config, "unsubscribe", shop.shop_id, seeded.signup_id)
    resp = await client.post(f"/u/{token}", data="List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["unsubscribed_at"] is not None


async def test_unsubscribe_all_covers_only_that_customer(client, pool, shop, config, make_shop):
    seeded = await seed(pool, shop, email="ann@example.com")
    second = await add_signup(pool, shop.shop_id, seeded.customer_id, VARIANT_ID + 1)
    other = await seed(pool, shop, email="bob@example.com")
    token = sign(config, "unsubscribe", shop.shop_id, seeded.signup_id)
    page = await client.get(f"/u/{token}?all=1")
    assert page.status == 200 and f'action="/u/{token}?all=1"' in await page.text()
    resp = await client.post(f"/u/{token}?all=1")
    assert resp.status == 200
    for signup_id in (seeded.signup_id, second):
        assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, signup_id))["unsubscribed_at"] is not None
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, other.signup_id))["unsubscribed_at"] is None


async def test_unsubscribe_forged_or_foreign_token_is_404(client, pool, shop, config, make_shop):
    seeded = await seed(pool, shop)
    other_shop = await make_shop()
    for token in (tokens.sign("unsubscribe", shop.shop_id, seeded.signup_id, "nope"),
                  sign(config, "click", shop.shop_id, seeded.signup_id),
                  sign(config, "optin", shop.shop_id, seeded.signup_id),
                  sign(config, "unsubscribe", other_shop.shop_id, seeded.signup_id)):
        await assert_not_found(await client.get(f"/u/{token}"))
        await assert_not_found(await client.post(f"/u/{token}"))
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["unsubscribed_at"] is None


# --- /optin -------------------------------------------------------------------------------

async def test_optin_get_asks_and_post_confirms(client, pool, shop, config):
    seeded = await seed(pool, shop, optin_required=True)
    token = sign(config, "optin", shop.shop_id, seeded.signup_id)
    resp = await client.get(f"/optin/{token}")
    assert resp.status == 200
    assert_security_headers(resp)
    assert f'action="/optin/{token}"' in await resp.text()
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["optin_confirmed_at"] is None
    resp = await client.post(f"/optin/{token}")
    assert resp.status == 200
    assert_security_headers(resp)
    assert "confirmed" in await resp.text()
    first = (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["optin_confirmed_at"]
    assert first is not None
    await client.post(f"/optin/{token}")
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["optin_confirmed_at"] == first


async def test_optin_does_not_revive_an_unsubscribed_signup(client, pool, shop, config):
    seeded = await seed(pool, shop, optin_required=True)
    await client.post(f"/u/{sign(config, 'unsubscribe', shop.shop_id, seeded.signup_id)}")
    resp = await client.post(f"/optin/{sign(config, 'optin', shop.shop_id, seeded.signup_id)}")
    assert resp.status == 200 and "cancelled" in await resp.text()
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["optin_confirmed_at"] is None


async def test_optin_forged_token_is_404(client, pool, shop, config):
    seeded = await seed(pool, shop, optin_required=True)
    token = sign(config, "unsubscribe", shop.shop_id, seeded.signup_id)
    await assert_not_found(await client.get(f"/optin/{token}"))
    await assert_not_found(await client.post(f"/optin/{token}"))
