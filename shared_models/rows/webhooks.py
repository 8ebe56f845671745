"""What the webhook handlers (dispatcher.webhooks) read, and reconciliation,
which feeds them: the event, catalog variants, and the alerts an order is
attributed to. The queries stay with the code that runs them; each class
names its own, and tests/test_typed_rows.py holds the two together."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared_models.payload import JsonObject
from shared_models.rows import Row, column, select_list


@dataclass(frozen=True)
class WebhookEvent:
    """A stored webhook event (dispatcher.webhooks.process.OLDEST_EVENT,
    CLAIM_EVENT), or one reconciliation makes up to run a handler with
    (webhook_id None: not stored). A dataclass, not a Row: one per event, and
    reconciliation builds its own."""

    webhook_id: str | None
    topic: str
    payload: JsonObject  # Shopify's body: the API stores objects only
    triggered_at: dt.datetime | None  # X-Shopify-Triggered-At, unsigned
    received_at: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "WebhookEvent":
        payload = row["payload"]
        return cls(row["webhook_id"], row["topic"], payload if isinstance(payload, dict) else {},
                   row["triggered_at"], row["received_at"])


class VariantState(Row):
    """What says whether a variant is published (dispatcher.batches.VARIANT;
    dispatcher.inventory.published reads it)."""

    __slots__ = ()
    product_status: str | None = column()  # active, draft, archived; None: only the API described it
    published_at: dt.datetime | None = column()


class VariantRow(VariantState):
    """A catalog variant as the webhook handlers lock and write it
    (dispatcher.webhooks.catalog.VARIANT and UPSERT, dispatcher.webhooks.inventory.VARIANT_BY_ITEM:
    all select VARIANT_COLUMNS)."""

    __slots__ = ()
    shop_id: uuid.UUID = column()
    variant_id: int = column()
    product_id: int = column()
    inventory_item_id: int | None = column()
    product_title: str | None = column()
    variant_title: str | None = column()
    sku: str | None = column()
    vendor: str | None = column()
    url: str | None = column()
    handle: str | None = column()
    inventory_quantity: int | None = column()
    source: str = column()  # api until a Shopify webhook describes the variant, then shopify
    shopify_updated_at: dt.datetime | None = column()
    deleted_at: dt.datetime | None = column()


VARIANT_COLUMNS = select_list(VariantRow.columns)


class WaitingVariantRow(Row):
    """A variant people wait for, as reconciliation asks Shopify about it
    (dispatcher.reconcile.WAITING_VARIANTS)."""

    __slots__ = ()
    variant_id: int = column()
    inventory_item_id: int | None = column()
    source: str = column()


class AlertRow(Row):
    """A sent alert an order line may be attributed to
    (dispatcher.webhooks.orders.NAMED_ALERT, BUYER_ALERT, VARIANT_ALERT)."""

    __slots__ = ()
    notification_id: uuid.UUID = column()
    signup_id: uuid.UUID = column()
    channel: str = column()
    product_id: int = column()
    sent_at: dt.datetime = column()
