"""Shared by the test_v1_* modules (no tests here): a client for
/api/v1/external (each module makes its `v1` fixture of it), v1 request bodies, and the checks every v1 answer passes."""
from __future__ import annotations

from tests.conftest import Api

V1 = "/api/v1/external"
V2 = "/api/v2/external"
INTENT_KEYS = {"id", "channel", "email", "phone", "quantity", "source", "notified_at", "blocked_at",
               "unsubscribed_at", "optin_confirmed", "sent_notifications_count", "shopify_variant_id",
               "shopify_product_id", "shopify_inventory_item_id", "customer_id", "customer_name",
               "created_at", "updated_at"}


class V1Api(Api):
    base = V1


def intent_body(*, variant_id: int = 4001, product_id: int | None = 9001, channel: str = "email",
                email: str | None = "ann@example.com", phone: str | None = None, push: str | None = None,
                name: str | None = "Ann", product: dict | None = None, **intent: object) -> dict:
    """v1's create body (the contract's v1 names)."""
    body: dict = {"intent": {"shopify_variant_id": variant_id, "channel": channel, "quantity": 1,
                             "source": "api", **intent},
                  "customer": {"email": email, "phone": phone, "push": push, "name": name,
                               "accepts_marketing": True, "locale": "en", "country_code": "US"}}
    if product_id is not None:
        body["intent"]["shopify_product_id"] = product_id
    if product is not None:
        body["product"] = product
    return body


def assert_deprecated(resp, successor: str) -> None:
    """Every v1 answer, errors included."""
    assert resp.headers.get("Deprecation") == "true"
    assert resp.headers.get("Link") == f'<{V2}{successor}>; rel="successor-version"'
