"""tagging.customer_tags: the shop's tags on each customer who signed up,
added on Shopify with tagsAdd, once per customer.

Customers are found on Shopify by their Shopify id when an order told us, else
by email or phone. One not found there yet (a shopper who never bought) is
looked for again daily for NOT_FOUND_DAYS: they may become a customer by
ordering. Claims move tag_next_at forward like order tags' (a lease with
backoff), so workers never push the same customer at once; tagsAdd is
idempotent on Shopify's side, so a repeat after a lost reply is harmless.
"""
from __future__ import annotations

import logging

import aiohttp

from dispatcher.runtime import Runtime
from shared_models.rows.shopify import TagCustomerRow, TaggingShopRow
from shared_models.shopify import AdminClient, AdminError, admin_base, gid, legacy_id

log = logging.getLogger("backinstock.shopify")

BATCH = 50
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 30  # doubled per attempt
NOT_FOUND_DAYS = 30
# Shops that want customer tags and can be reached (a few; settings are small).
# Rows: shared_models.rows.shopify.TaggingShopRow.
SHOPS = """
SELECT sh.shop_id, sh.domain, sh.shopify_token, st.overrides -> 'tagging' -> 'customer_tags' AS tags
FROM settings st JOIN shops sh USING (shop_id)
WHERE jsonb_typeof(st.overrides -> 'tagging' -> 'customer_tags') = 'array'
  AND jsonb_array_length(st.overrides -> 'tagging' -> 'customer_tags') > 0
  AND sh.shopify_token IS NOT NULL AND sh.uninstalled_at IS NULL
"""
# Rows: shared_models.rows.shopify.TagCustomerRow.
CLAIM = """
UPDATE customers c SET tag_attempts = c.tag_attempts + 1,
    tag_next_at = now() + make_interval(secs => $2 * power(2, least(c.tag_attempts, 10)))
WHERE c.shop_id = $1 AND c.customer_id = ANY(ARRAY(
    SELECT customer_id FROM customers cu
    WHERE shop_id = $1 AND shopify_tagged_at IS NULL AND tag_status IS NULL
      AND (tag_next_at IS NULL OR tag_next_at <= now())
      -- Consent: only someone still waiting, never a contact that opted out
      -- (merchants feed these tags into their marketing tools).
      AND EXISTS (SELECT 1 FROM signups s WHERE s.shop_id = $1 AND s.customer_id = cu.customer_id
                  AND s.unsubscribed_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.shop_id = $1
                      AND ((x.channel = 'email' AND x.contact = lower(cu.email))
                           OR (x.channel = 'sms' AND x.contact = cu.phone)))
    ORDER BY tag_next_at NULLS FIRST LIMIT $3
    FOR UPDATE SKIP LOCKED))
RETURNING c.customer_id, c.email, c.phone, c.shopify_customer_id, c.tag_attempts, c.created_at
"""
DONE = """
UPDATE customers SET shopify_tagged_at = now(), shopify_customer_id = $3, tag_error = NULL, tag_next_at = NULL
WHERE shop_id = $1 AND customer_id = $2
"""
NOT_FOUND = """
UPDATE customers SET tag_next_at = now() + interval '1 day',
    tag_status = CASE WHEN created_at < now() - make_interval(days => $3) THEN 'not_found' END
WHERE shop_id = $1 AND customer_id = $2
"""
FAILED = """
UPDATE customers SET tag_error = $3, tag_status = CASE WHEN $4 THEN 'failed' END
WHERE shop_id = $1 AND customer_id = $2
"""
SKIPPED = "UPDATE customers SET tag_status = 'skipped' WHERE shop_id = $1 AND customer_id = $2"

FIND = """query BisCustomerByContact($query: String!) {
  customers(first: 5, query: $query) { nodes { id email phone } }
}"""
TAGS_ADD = """mutation tagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""


def search_query(email: str | None, phone: str | None) -> str | None:
    """Shopify's search syntax, the value quoted (a quote or backslash escaped)."""
    field, value = ("email", email) if email else ("phone", phone) if phone else (None, None)
    if value is None:
        return None
    return f'{field}:"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def find_customer(client: AdminClient, row: TagCustomerRow) -> int | None:
    if row.shopify_customer_id:
        return row.shopify_customer_id
    data = await client.execute("BisCustomerByContact", FIND, {"query": search_query(row.email, row.phone)})
    for node in (data.get("customers") or {}).get("nodes") or []:
        # Shopify's search may match loosely: tag only the very same contact.
        if not isinstance(node, dict):
            continue
        same_email = row.email and (node.get("email") or "").lower() == row.email.lower()
        same_phone = not row.email and row.phone and node.get("phone") == row.phone
        if same_email or same_phone:
            return legacy_id(node.get("id"))
    return None


async def tag_customer(client: AdminClient, customer_id: int, tags: list[str]) -> None:
    data = await client.execute("tagsAdd", TAGS_ADD, {"id": gid("Customer", customer_id), "tags": tags})
    result = data.get("tagsAdd") or {}
    if result.get("userErrors"):
        raise AdminError(f"tagsAdd userErrors: {result['userErrors']}"[:500], retryable=False)


async def push_shop(rt: Runtime, session: aiohttp.ClientSession, shop: TaggingShopRow) -> int:
    pool, config = rt.conns.pool, rt.conns.config
    tags = [t for t in (shop.tags or []) if isinstance(t, str)]
    client = AdminClient(session, admin_base(config.shopify_admin_api_base, shop.domain),
                         shop.shopify_token, config.shopify_api_version)
    done = 0
    rows: list[TagCustomerRow] = await pool.fetch(CLAIM, shop.shop_id, BACKOFF_SECONDS, BATCH,
                                                  record_class=TagCustomerRow)
    for row in rows:
        if not row.email and not row.phone and not row.shopify_customer_id:
            await pool.execute(SKIPPED, shop.shop_id, row.customer_id)  # push token only
            continue
        try:
            found = await find_customer(client, row)
            if found is None:
                await pool.execute(NOT_FOUND, shop.shop_id, row.customer_id, NOT_FOUND_DAYS)
                continue
            await tag_customer(client, found, tags)
        except AdminError as exc:
            give_up = not exc.retryable or row.tag_attempts >= MAX_ATTEMPTS
            log.warning("customer %s of shop %s: tags not added (%s)%s", row.customer_id, shop.shop_id,
                        exc, ", giving up" if give_up else ", will retry")
            await pool.execute(FAILED, shop.shop_id, row.customer_id, str(exc)[:500], give_up)
            continue
        await pool.execute(DONE, shop.shop_id, row.customer_id, found)
        done += 1
    return done


async def push_customer_tags(rt: Runtime) -> int:
    """One batch per shop that wants customer tags; returns how many customers were tagged."""
    tagged = 0
    async with aiohttp.ClientSession() as session:
        shops: list[TaggingShopRow] = await rt.conns.pool.fetch(SHOPS, record_class=TaggingShopRow)
        for shop in shops:
            tagged += await push_shop(rt, session, shop)
    return tagged
