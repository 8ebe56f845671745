"""SQL of the signups actions. Every statement is scoped by shop_id ($1)."""
from __future__ import annotations

from typing import Any

from shared_models import listing
from shared_models.signup_states import ALERTED, OPEN, open_sql

# One row per signup with its customer and catalog variant (no N+1). The v1
# shape needs the extra columns (phone, inventory item, blocked_at).
COLUMNS = """
SELECT s.signup_id, s.status, s.channel, s.contact, s.quantity, s.source, s.variant_id, s.product_id,
       s.shopify_market_id, s.optin_required, s.optin_confirmed_at, s.notifications_sent,
       s.last_notified_at, s.last_blocked_at, s.unsubscribed_at, s.created_at, s.updated_at,
       c.customer_id, c.email AS customer_email, c.phone AS customer_phone, c.name AS customer_name,
       v.product_title, v.variant_title, v.inventory_item_id
"""
JOINS = """
JOIN customers c ON c.shop_id = s.shop_id AND c.customer_id = s.customer_id
LEFT JOIN variants v ON v.shop_id = s.shop_id AND v.variant_id = s.variant_id
"""
SELECT = COLUMNS + "FROM signups s" + JOINS
READ = SELECT + "WHERE s.shop_id = $1 AND s.signup_id = $2"
LIST_FROM = "signups s"
ORDER = "ORDER BY s.created_at DESC, s.signup_id DESC"

DELETE = "DELETE FROM signups WHERE shop_id = $1 AND signup_id = $2 RETURNING signup_id"

# --- create -----------------------------------------------------------------

# Creates on a variant (shared, in signup_create_many) and transfers into it
# (exclusive) take turns, so a transfer never misses an open signup created
# while it merges: both use the key sql/functions/variant_lock_key.sql owns.
LOCK_VARIANT_EXCLUSIVE = "SELECT pg_advisory_xact_lock(variant_lock_key(p_shop => $1, p_variant => $2))"

# A group of creates of one shop (catalog, customers, signups, each member's
# Idempotency-Key and principal check) in one round trip: one array per
# argument, element g of each for member g. sql/functions/signup_create_many.sql
# says what each step does; api_service/signups/groups.py fills the arrays.
PRODUCT_FIELDS = ("title", "variant_title", "sku", "vendor", "url")  # the request's product.<field>s
CONTACTS = ("email", "phone", "push_token")
DETAILS = ("name", "accepts_marketing", "locale", "country_code")
CREATE_MANY = """
SELECT r_ord, r_outcome, r_signup, r_suppressed_at, r_status, r_body FROM signup_create_many(
    p_shop => $1, p_key => $2, p_fingerprint => $3, p_idem_key => $4, p_idem_hash => $5,
    p_signup => $6, p_customer => $7, p_variant => $8, p_product => $9, p_inventory_item => $10,
    p_product_title => $11, p_variant_title => $12, p_sku => $13, p_vendor => $14, p_url => $15,
    p_email => $16, p_phone => $17, p_push_token => $18, p_name => $19, p_accepts_marketing => $20,
    p_locale => $21, p_country => $22, p_storefront => $23, p_channel => $24, p_contact => $25,
    p_quantity => $26, p_source => $27, p_market => $28, p_optin_required => $29)
"""
# The group's rows as every other action shows them, read once it committed.
READ_MANY = SELECT + "WHERE s.shop_id = $1 AND s.signup_id = ANY($2::uuid[])"


# --- list filters -----------------------------------------------------------

# Each is served by a (shop_id, <column>, created_at DESC, signup_id DESC)
# index; contact searches go through customers (trigram indexes when
# pg_trgm is installed) and then signups_customer.
FILTERS = {
    "status": "s.status = {}",
    "channel": "s.channel = {}",
    "variant_id": "s.variant_id = {}",
    "product_id": "s.product_id = {}",
    "email": ("s.customer_id IN (SELECT customer_id FROM customers"
              " WHERE shop_id = $1 AND lower(email) LIKE {} ESCAPE '\\')"),
    "phone": ("s.customer_id IN (SELECT customer_id FROM customers"
              " WHERE shop_id = $1 AND phone LIKE {} ESCAPE '\\')"),
}


def like_pattern(value: str) -> str:
    """`%value%` with LIKE's wildcards and escape character taken literally."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def where(shop_id: Any, filters: dict[str, Any], tz: str) -> listing.Where:
    """The WHERE of a list (or of bulk_notify's filter) over `signups s`."""
    w = listing.Where("s.shop_id", shop_id)
    for name, clause in FILTERS.items():
        value = filters.get(name)
        if value is None:
            continue
        if name == "email":
            value = like_pattern(value.lower())
        elif name == "phone":
            value = like_pattern(value)
        w.add(clause, value)
    return w.dates("s.created_at", filters, tz)


def list_sql(w: listing.Where, limit: str) -> str:
    """The page's ids first (an index range, skipped rows never joined), then
    their rows with customer and variant: a deep page costs its offset in
    index entries, not in joins."""
    return (f"WITH page AS MATERIALIZED (SELECT s.signup_id, s.created_at FROM signups s WHERE {w.sql} "
            f"{ORDER} {limit})"
            f"{COLUMNS} FROM page p JOIN signups s ON s.shop_id = $1 AND s.signup_id = p.signup_id {JOINS}"
            "ORDER BY p.created_at DESC, p.signup_id DESC")

# --- bulk_delete ------------------------------------------------------------

# Locked in id order so that concurrent bulk operations can't deadlock.
LOCK_FOR_DELETE = """
SELECT signup_id, (last_notified_at IS NOT NULL OR notifications_sent > 0) AS notified
FROM signups WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
ORDER BY signup_id FOR UPDATE
"""
DELETE_MANY = "DELETE FROM signups WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])"

# --- transfer ---------------------------------------------------------------

# unsent: the open signups (shared_models.signup_states); sent: the alerted.
TRANSFER_SCOPES = {
    "unsent": OPEN,
    "sent": ALERTED,
    "all": "true",
}
# Sources ($2 variant, $3 product, in scope) and the open signups of the same
# customers on the target variant ($4) they may merge into, locked together in
# id order (concurrent transfers can't deadlock).
LOCK_FOR_TRANSFER = {
    scope: f"""
SELECT s.signup_id, (s.variant_id = $2 AND s.product_id = $3 AND {clause}) AS is_source
FROM signups s
WHERE s.shop_id = $1
  AND ((s.variant_id = $2 AND s.product_id = $3 AND {clause})
       OR (s.variant_id = $4 AND {OPEN} AND s.customer_id IN (
           SELECT o.customer_id FROM signups o
           WHERE o.shop_id = $1 AND o.variant_id = $2 AND o.product_id = $3
             AND {open_sql("o")})))
ORDER BY s.signup_id FOR UPDATE OF s
"""
    for scope, clause in TRANSFER_SCOPES.items()
}
# An open source meeting an open signup of the same customer and channel on
# the target variant (what signups_open forbids twice) is merged into it: the
# target keeps the earlier created_at (queue position), gets the source's
# notifications and counts; the source is deleted. An opt-in confirmation
# stays with its contact (issue 13 §1): carried only between signups to the
# same contact, or the target takes the confirmed source's contact along.
MERGE_OPEN = f"""
WITH pairs AS (
    SELECT s.signup_id AS source_id, t.signup_id AS target_id, s.created_at, s.notifications_sent,
           s.last_blocked_at, s.optin_confirmed_at, s.contact,
           contact_key(s.channel, s.contact) = contact_key(t.channel, t.contact) AS same_contact,
           -- another contact's confirmation never moves alone: where only the
           -- source's contact confirmed, the target takes that contact with it
           (contact_key(s.channel, s.contact) <> contact_key(t.channel, t.contact)
            AND t.optin_required AND t.optin_confirmed_at IS NULL AND s.optin_confirmed_at IS NOT NULL) AS take_source
    FROM signups s
    JOIN signups t ON t.shop_id = s.shop_id AND t.customer_id = s.customer_id AND t.channel = s.channel
        AND t.variant_id = $3 AND {open_sql("t")}
    WHERE s.shop_id = $1 AND s.signup_id = ANY($2::uuid[]) AND {OPEN}
), targets AS (
    UPDATE signups t SET created_at = LEAST(t.created_at, p.created_at),
        notifications_sent = t.notifications_sent + p.notifications_sent,
        last_blocked_at = GREATEST(t.last_blocked_at, p.last_blocked_at),
        optin_confirmed_at = CASE WHEN p.same_contact THEN COALESCE(t.optin_confirmed_at, p.optin_confirmed_at)
                                  WHEN p.take_source THEN p.optin_confirmed_at ELSE t.optin_confirmed_at END,
        contact = CASE WHEN p.take_source THEN p.contact ELSE t.contact END,
        updated_at = now()
    FROM pairs p WHERE t.shop_id = $1 AND t.signup_id = p.target_id
), repointed AS (
    UPDATE notifications n SET signup_id = p.target_id
    FROM pairs p WHERE n.shop_id = $1 AND n.signup_id = p.source_id
), removed AS (
    DELETE FROM signups s USING pairs p WHERE s.shop_id = $1 AND s.signup_id = p.source_id
    RETURNING s.signup_id
)
SELECT count(*) FROM removed
"""
MOVE = """
UPDATE signups SET variant_id = $3, product_id = $4, updated_at = now()
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""
