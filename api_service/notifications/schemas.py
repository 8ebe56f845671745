"""Inputs of the notifications actions, and the row as the API shows it."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from shared_models.channels import CHANNELS
from shared_models.listing import PageQuery
from shared_models.jsonutil import isoformat

STATUSES = ("sending", "sent", "failed", "blocked")
BLOCKED_REASONS = ("plan_limit", "channel_disabled", "optin_unconfirmed", "unsubscribed",
                   "country_not_allowed", "sold_out", "not_published")
TRIGGERS = ("restock", "manual", "reminder")
SHOPIFY_ID = validate.Range(min=1, max=2**63 - 1)


class NotificationPath(Schema):
    id = fields.UUID(required=True, metadata={"description": "Notification id"})


class NotificationListQuery(PageQuery):
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    blocked_reason = fields.String(validate=validate.OneOf(BLOCKED_REASONS))
    trigger = fields.String(validate=validate.OneOf(TRIGGERS))
    signup_id = fields.UUID()
    variant_id = fields.Integer(validate=SHOPIFY_ID)
    product_id = fields.Integer(validate=SHOPIFY_ID)
    job_id = fields.UUID()


def notification_out(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["notification_id"]),
        "signup_id": str(row["signup_id"]),
        "customer_id": str(row["customer_id"]) if row["customer_id"] else None,
        "job_id": str(row["job_id"]) if row["job_id"] else None,
        "channel": row["channel"],
        "contact": row["contact"],
        "status": row["status"],
        "blocked_reason": row["blocked_reason"],
        "error": row["error"],
        "trigger": row["trigger"],
        "batch": row["batch"],
        "attempt": row["attempt"],
        "variant": {"shopify_variant_id": row["variant_id"], "shopify_product_id": row["product_id"],
                    "title": row["variant_title"]},
        "provider": row["provider"],
        "provider_message_id": row["provider_message_id"],
        "created_at": isoformat(row["created_at"]),
        "sent_at": isoformat(row["sent_at"]),
        "clicked_at": isoformat(row["clicked_at"]),
    }
