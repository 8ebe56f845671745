"""What the Admin API pushes read (dispatcher.shopify_admin, dispatcher.customer_tags):
claimed orders and customers to tag, and the shops that want customer tags.
The queries stay with the code that runs them; each class names its own, and
tests/test_typed_rows.py holds the two together."""
from __future__ import annotations

import datetime as dt
import uuid

from shared_models.rows import Row, column


class OrderTagRow(Row):
    """An order whose tag this worker pushes, with its shop's Admin access
    (dispatcher.shopify_admin.CLAIM)."""

    __slots__ = ()
    shop_id: uuid.UUID = column()
    order_id: int = column()
    tag: str | None = column()
    tag_attempts: int = column()
    domain: str = column()
    shopify_token: str | None = column()


class TaggingShopRow(Row):
    """A shop that wants customer tags (dispatcher.customer_tags.SHOPS)."""

    __slots__ = ()
    shop_id: uuid.UUID = column()
    domain: str = column()
    shopify_token: str = column()
    tags: list[object] = column()  # tagging.customer_tags as stored: strings are used, anything else skipped


class TagCustomerRow(Row):
    """A customer this worker tags (dispatcher.customer_tags.CLAIM)."""

    __slots__ = ()
    customer_id: uuid.UUID = column()
    email: str | None = column()
    phone: str | None = column()
    shopify_customer_id: int | None = column()
    tag_attempts: int = column()
    created_at: dt.datetime = column()
