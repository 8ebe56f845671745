"""A shop comes back: a webhook proving the app is installed again clears
`uninstalled_at`, and sending resumes (new restocks, notify calls, reminders;
jobs cancelled by the uninstall stay cancelled).

The proof: a signed webhook of a topic Shopify sends only to installed apps
(not app/uninstalled, shop/redact or the customers/* GDPR topics, which
arrive after an uninstall), whose X-Shopify-Triggered-At is later than the
uninstall's own. Triggered-At is not covered by the signature, so when the
payload carries its own `updated_at` (products, inventory levels, orders),
that must be later than the uninstall too: an old signed body replayed with a
fresh header brings nothing back. The operator's way: `backinstock shops
reinstall --domain D`."""
from __future__ import annotations

import asyncpg

from shared_models.context import SHOP_COLUMNS, Shop
from shared_models.payload import as_time
from shared_models.rows import select_list
from shared_models.rows.webhooks import WebhookEvent

NOT_PROOF = frozenset({"app/uninstalled", "shop/redact", "customers/redact", "customers/data_request"})
# Returns the shop as SHOP_WITH_OVERRIDES reads it (shared_models.context).
REINSTALL = f"""
UPDATE shops sh SET uninstalled_at = NULL, updated_at = now()
WHERE sh.shop_id = $1 AND sh.uninstalled_at = $2
RETURNING {select_list(SHOP_COLUMNS, "sh")},
          (SELECT st.overrides FROM settings st WHERE st.shop_id = sh.shop_id) AS settings_overrides
"""


def proves_installed(shop: Shop, event: WebhookEvent) -> bool:
    uninstalled = shop.uninstalled_at
    if uninstalled is None or event.topic in NOT_PROOF or event.triggered_at is None:
        return False
    # A Triggered-At in the future is no later than the moment we received it.
    if min(event.triggered_at, event.received_at) <= uninstalled:
        return False
    # The body must date itself after the uninstall too: an old signed body
    # re-posted with a fresh (unsigned) Triggered-At proves nothing, and one
    # without a date of its own (products/delete's {"id"}) proves nothing either.
    own = as_time(event.payload.get("updated_at"))
    return own is not None and own > uninstalled


async def maybe_reinstall(conn: asyncpg.Connection, shop: Shop, event: WebhookEvent) -> Shop:
    """The shop, reinstalled if this event proves it is."""
    if not proves_installed(shop, event):
        return shop
    row = await conn.fetchrow(REINSTALL, shop.shop_id, shop.uninstalled_at)
    return shop if row is None else Shop.from_row(row)
