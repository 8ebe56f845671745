"""An intent: a signup row in v1's shape (flat, Shopify names, v1 timestamps)."""
from __future__ import annotations

from typing import Any

from shared_models.jsonutil import isoformat
from shared_models.signup_states import optin_confirmed

INTENT_KEYS = ("id", "channel", "email", "phone", "quantity", "source", "notified_at", "blocked_at",
               "unsubscribed_at", "optin_confirmed", "sent_notifications_count", "shopify_variant_id",
               "shopify_product_id", "shopify_inventory_item_id", "customer_id", "customer_name",
               "created_at", "updated_at")
META_KEYS = ("total_count", "page", "per_page", "total_pages")


def intent_out(row: Any) -> dict[str, Any]:
    """`row` is what signups.service reads (queries.SELECT)."""
    return {
        "id": str(row["signup_id"]),
        "channel": row["channel"],
        "email": row["customer_email"],
        "phone": row["customer_phone"],
        "quantity": row["quantity"],
        "source": row["source"],
        "notified_at": isoformat(row["last_notified_at"]),
        "blocked_at": isoformat(row["last_blocked_at"]),
        "unsubscribed_at": isoformat(row["unsubscribed_at"]),
        "optin_confirmed": optin_confirmed(row),  # as v2's optin.confirmed
        "sent_notifications_count": row["notifications_sent"],
        "shopify_variant_id": row["variant_id"],
        "shopify_product_id": row["product_id"],
        "shopify_inventory_item_id": row["inventory_item_id"],
        "customer_id": str(row["customer_id"]),
        "customer_name": row["customer_name"],
        "created_at": isoformat(row["created_at"]),
        "updated_at": isoformat(row["updated_at"]),
    }


def v1_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """v2's list meta without what v1 never had (total_count_exact)."""
    return {k: meta[k] for k in META_KEYS if k in meta}
