"""Reading a Shopify order payload (orders/create, orders/cancelled)
defensively: the buyer, our UTM parameters, and each line's revenue in the
shop's currency."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

from shared_models.payload import INT32, JsonObject, as_int, as_text, as_time

UTM_SOURCE = "back_in_stock"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    line_id: int
    variant_id: int
    product_id: int | None
    quantity: int
    revenue: Decimal


@dataclass(frozen=True)
class Order:
    order_id: int
    name: str | None
    email: str | None
    customer_id: int | None  # Shopify's
    landing_site: str | None
    note_attributes: list[object]  # Shopify's, stored as they came
    currency: str | None
    ordered_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    lines: list[Line] = field(default_factory=list)
    utm_source: str | None = None
    utm_content: str | None = None

    @property
    def from_alert(self) -> bool:
        return (self.utm_source or "").strip().lower() == UTM_SOURCE

    @property
    def named_notification(self) -> uuid.UUID | None:
        try:
            return uuid.UUID((self.utm_content or "").strip())
        except ValueError:
            return None


def _money(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _shop_money(item: JsonObject, key: str) -> Decimal | None:
    """`<key>_set.shop_money.amount` (the shop's currency) when present, else `<key>`."""
    money_set = item.get(f"{key}_set")
    if isinstance(money_set, dict) and isinstance(money_set.get("shop_money"), dict):
        amount = _money(money_set["shop_money"].get("amount"))
        if amount is not None:
            return amount
    return _money(item.get(key))


def line_revenue(item: JsonObject, quantity: int) -> Decimal:
    """price x quantity less the line's discounts (allocations when given), never below 0."""
    price = _shop_money(item, "price") or Decimal(0)
    allocations = item.get("discount_allocations")
    if isinstance(allocations, list) and allocations:
        discount = sum((_shop_money(a, "amount") or Decimal(0) for a in allocations if isinstance(a, dict)),
                       Decimal(0))
    else:
        discount = _shop_money(item, "total_discount") or Decimal(0)
    return max(Decimal(0), price * quantity - discount).quantize(CENT)


def _query_params(text: str) -> dict[str, list[str]]:
    query = urlsplit(text).query if "?" in text or "://" in text else text
    return parse_qs(query, keep_blank_values=False)


def utm(landing_site: str | None, note_attributes: list[object]) -> tuple[str | None, str | None]:
    """utm_source and utm_content from the landing site's query, else note attributes
    (named utm_source / utm_content, or a value holding a query string)."""
    found: dict[str, str] = {}
    sources: list[dict[str, list[str]]] = []
    if landing_site:
        sources.append(_query_params(landing_site))
    for attribute in note_attributes:
        if not isinstance(attribute, dict):
            continue
        name, value = as_text(attribute.get("name"), 100), as_text(attribute.get("value"), 2000)
        if not name or not value:
            continue
        if name.lower() in ("utm_source", "utm_content"):
            sources.append({name.lower(): [value]})
        elif "utm_" in value:
            sources.append(_query_params(value))
    for params in sources:
        for key in ("utm_source", "utm_content"):
            if key not in found and params.get(key):
                found[key] = params[key][0]
    return found.get("utm_source"), found.get("utm_content")


def parse_lines(items: object) -> list[Line]:
    lines = []
    for position, item in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(item, dict):
            continue
        variant_id, quantity = as_int(item.get("variant_id")), as_int(item.get("quantity"), INT32)
        if variant_id is None or not quantity or quantity < 1:
            continue
        lines.append(Line(as_int(item.get("id")) or position, variant_id, as_int(item.get("product_id")),
                          quantity, line_revenue(item, quantity)))
    return lines


def parse_order(payload: JsonObject) -> Order | None:
    order_id = as_int(payload.get("id"))
    if order_id is None:
        return None
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    notes = payload.get("note_attributes") if isinstance(payload.get("note_attributes"), list) else []
    landing = as_text(payload.get("landing_site"), 2000)
    source, content = utm(landing, notes)
    email = as_text(payload.get("email"), 320) or as_text(payload.get("contact_email"), 320) \
        or as_text(customer.get("email"), 320)
    return Order(
        order_id=order_id, name=as_text(payload.get("name"), 100), email=email,
        customer_id=as_int(customer.get("id")), landing_site=landing, note_attributes=notes,
        currency=as_text(payload.get("currency"), 3), ordered_at=as_time(payload.get("created_at")),
        cancelled_at=as_time(payload.get("cancelled_at")), lines=parse_lines(payload.get("line_items")),
        utm_source=source, utm_content=content,
    )
