"""What a webhook's payload must look like for its topic to act.

Shopify signs the body only: the topic, webhook id and Triggered-At headers
are anyone's. A signed body re-posted under another topic must do nothing, so
each topic acts only when the payload has that topic's shape and names this
shop. `mismatch` answers why not (a short fixed reason, for logs and the
metric's label), or None when the payload fits."""
from __future__ import annotations

from typing import Any

from shared_models.payload import as_int

# Topics that erase or stop: they need X-Shopify-Triggered-At too.
DESTRUCTIVE = frozenset({"shop/redact", "customers/redact", "app/uninstalled"})
# Known topics, the metric's label values (anything else is "other").
KNOWN = frozenset({"shop/redact", "customers/redact", "customers/data_request", "app/uninstalled",
                   "inventory_levels/update", "products/create", "products/update", "products/delete",
                   "orders/create", "orders/cancelled"})


def _domain(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


def _has_id(payload: dict, key: str = "id") -> bool:
    return as_int(payload.get(key)) is not None


def _names_shop_domain(payload: dict, shop: Any) -> bool:
    return _domain(payload.get("shop_domain")) == shop["domain"]


def _shop_id_matches(given: Any, shop: Any) -> bool:
    """A known Shopify shop id must match; an unknown one (not set yet) can't contradict."""
    value = as_int(given)
    if value is None:
        return False
    return shop["shopify_shop_id"] is None or value == shop["shopify_shop_id"]


def _shop_redact(payload: dict, shop: Any) -> str | None:
    if not _names_shop_domain(payload, shop) or not _shop_id_matches(payload.get("shop_id"), shop):
        return "shop mismatch"
    # A customers/* body also names the shop: only shop/redact's names no one else.
    if set(payload) - {"shop_id", "shop_domain"}:
        return "not a shop redaction"
    # Shopify sends it 48 hours after app/uninstalled, and not at all after a reinstall.
    if shop["uninstalled_at"] is None:
        return "shop installed"
    return None


def _customers(payload: dict, shop: Any) -> str | None:
    if not _names_shop_domain(payload, shop):
        return "shop mismatch"
    if not isinstance(payload.get("customer"), dict):
        return "no customer"
    return None


def _customers_redact(payload: dict, shop: Any) -> str | None:
    """A data request's body names a customer too: a redaction has no data_request
    and no orders_requested (Shopify sends orders_to_redact instead)."""
    if "data_request" in payload or "orders_requested" in payload:
        return "not a customer redaction"
    return _customers(payload, shop)


def _data_request(payload: dict, shop: Any) -> str | None:
    if "orders_to_redact" in payload:
        return "not a data request"
    return _customers(payload, shop)


def _app_uninstalled(payload: dict, shop: Any) -> str | None:
    domain_ok = shop["domain"] in {_domain(payload.get("domain")), _domain(payload.get("myshopify_domain"))}
    given = as_int(payload.get("id"))
    known = shop["shopify_shop_id"]
    if given is not None and known is not None:
        return None if given == known else "shop mismatch"
    return None if domain_ok else "shop mismatch"


def _products(payload: dict, shop: Any) -> str | None:
    return None if _has_id(payload) and isinstance(payload.get("variants"), list) else "not a product"


def _product_delete(payload: dict, shop: Any) -> str | None:
    """Shopify sends only {"id"}: a product's full body re-posted is not a deletion."""
    return None if _has_id(payload) and set(payload) <= {"id"} else "not a product deletion"


def _orders(payload: dict, shop: Any) -> str | None:
    return None if _has_id(payload) and isinstance(payload.get("line_items"), list) else "not an order"


def _order_cancelled(payload: dict, shop: Any) -> str | None:
    """An order's create body re-posted as a cancellation has no cancelled_at."""
    if _orders(payload, shop) is not None:
        return "not an order"
    return None if payload.get("cancelled_at") else "not a cancellation"


def _inventory(payload: dict, shop: Any) -> str | None:
    return None if _has_id(payload, "inventory_item_id") else "not an inventory level"


CHECKS = {
    "shop/redact": _shop_redact,
    "customers/redact": _customers_redact,
    "customers/data_request": _data_request,
    "app/uninstalled": _app_uninstalled,
    "products/create": _products,
    "products/update": _products,
    "products/delete": _product_delete,  # Shopify sends only {"id"}
    "orders/create": _orders,
    "orders/cancelled": _order_cancelled,
    "inventory_levels/update": _inventory,
}


def mismatch(topic: str, payload: dict, shop: Any) -> str | None:
    check = CHECKS.get(topic)
    return check(payload, shop) if check is not None else None


def topic_label(topic: str) -> str:
    return topic if topic in KNOWN else "other"
