"""A signup as the API shows it (the contract's "Signup as read")."""
from __future__ import annotations

from typing import Any

from shared_models.jsonutil import isoformat
from shared_models.naming import display_name
from shared_models.signup_states import optin_confirmed

def signup_out(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["signup_id"]),
        "status": row["status"],
        "channel": row["channel"],
        "contact": row["contact"],
        "quantity": row["quantity"],
        "source": row["source"],
        "variant": {
            "shopify_variant_id": row["variant_id"],
            "shopify_product_id": row["product_id"],
            "title": display_name(row["product_title"], row["variant_title"]),
        },
        "customer": {"id": str(row["customer_id"]), "email": row["customer_email"],
                     "name": row["customer_name"]},
        "optin": {"required": row["optin_required"], "confirmed": optin_confirmed(row)},
        "notifications_sent": row["notifications_sent"],
        "last_notified_at": isoformat(row["last_notified_at"]),
        "unsubscribed_at": isoformat(row["unsubscribed_at"]),
        "created_at": isoformat(row["created_at"]),
        "updated_at": isoformat(row["updated_at"]),
    }
