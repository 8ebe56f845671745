"""The per-shop suppression list (sql/025_suppression.sql): the one owner of
its SQL and of the contact key, for the API, the public pages and the
dispatcher alike.

A (channel, contact) lands here on every opt-out from everything: the /u
page's "all", RFC 8058 one-click, a provider opt-out (Twilio 21610/STOP), a
hard bounce, a dead push token. Only the contact lifts it, by confirming an
opt-in through /optin; no API call does."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

OPTIN_EVERY = dt.timedelta(days=7)  # at most one opt-in confirmation a week to a suppressed contact
LINK_DAYS = 60  # an alert's unsubscribe link works at least this long after it was sent

# Python's twin of SQL contact_key(): email lower-cased; phones are E.164 and
# push tokens compared as they are.
def contact_key(channel: str, contact: str) -> str:
    return contact.lower() if channel == "email" else contact


# The send-time check, as an expression over signups `s` (one probe of the primary key).
SUPPRESSED = ("EXISTS (SELECT 1 FROM suppressions x WHERE x.shop_id = s.shop_id AND x.channel = s.channel "
              "AND x.contact = contact_key(s.channel, s.contact))")

FIND = "SELECT created_at, source, optin_sent_at FROM suppressions WHERE shop_id = $1 AND channel = $2 AND contact = $3"

# The first opt-out's source and time stay.
ADD = """
INSERT INTO suppressions (shop_id, channel, contact, source)
VALUES ($1, $2, contact_key($2, $3), $4)
ON CONFLICT (shop_id, channel, contact) DO NOTHING
"""

# "Unsubscribe from all alerts": every open signup of the customer, and every
# contact those (and the link's own signup) went to, suppressed.
UNSUBSCRIBE_CUSTOMER = """
WITH gone AS (
    UPDATE signups SET unsubscribed_at = now(), updated_at = now()
    WHERE shop_id = $1 AND customer_id = $2 AND unsubscribed_at IS NULL
    RETURNING channel, contact
)
INSERT INTO suppressions (shop_id, channel, contact, source)
SELECT DISTINCT $1::uuid, c.channel, contact_key(c.channel, c.contact), $5
FROM (SELECT channel, contact FROM gone UNION ALL SELECT $3, $4) c
ON CONFLICT (shop_id, channel, contact) DO NOTHING
"""

# A provider's opt-out or a hard bounce: every signup to that contact, matched
# case-insensitively (the signups_contact index), and the list.
OPT_OUT = """
WITH gone AS (
    UPDATE signups SET unsubscribed_at = now(), updated_at = now()
    WHERE shop_id = $1 AND lower(contact) = lower($3) AND channel = $2 AND unsubscribed_at IS NULL
)
INSERT INTO suppressions (shop_id, channel, contact, source)
VALUES ($1, $2, contact_key($2, $3), CASE WHEN $2 = 'email' THEN 'hard_bounce' ELSE 'provider_opt_out' END)
ON CONFLICT (shop_id, channel, contact) DO NOTHING
"""

LIFT = "DELETE FROM suppressions WHERE shop_id = $1 AND channel = $2 AND contact = contact_key($2, $3)"

# Claims this week's one opt-in confirmation to a suppressed contact.
CLAIM_OPTIN = """
UPDATE suppressions SET optin_sent_at = now()
WHERE shop_id = $1 AND channel = $2 AND contact = contact_key($2, $3)
  AND (optin_sent_at IS NULL OR optin_sent_at < now() - $4::interval)
RETURNING 1
"""

# A deleted (or merged-away) signup's link: what it still needs.
LINK = """
SELECT l.signup_id, l.customer_id, l.channel, l.contact, l.variant_id,
       s.name AS shop_name, v.product_title, v.variant_title
FROM unsubscribe_links l
JOIN shops s ON s.shop_id = l.shop_id
LEFT JOIN variants v ON v.shop_id = l.shop_id AND v.variant_id = l.variant_id
WHERE l.shop_id = $1 AND l.signup_id = $2 AND l.active_at > now() - make_interval(days => $3)
"""
PRUNE_LINKS = f"DELETE FROM unsubscribe_links WHERE active_at < now() - interval '{LINK_DAYS} days'"
# customers/redact: the erased person's links go, those of signups deleted
# earlier too (by their customer or their contact). Redactions are rare and a
# shop's links few (60 days of deletions): a scan of the shop's is fine.
FORGET_LINKS = """
DELETE FROM unsubscribe_links WHERE shop_id = $1
  AND (signup_id = ANY($2::uuid[]) OR customer_id = ANY($3::uuid[]) OR lower(contact) = ANY($4::text[]))
"""


async def find(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, channel: str,
               contact: str) -> Any:
    """The suppression of (channel, contact), or None. One primary-key probe."""
    return await conn.fetchrow(FIND, shop_id, channel, contact_key(channel, contact))


async def claim_optin(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, channel: str,
                      contact: str) -> bool:
    return await conn.fetchval(CLAIM_OPTIN, shop_id, channel, contact, OPTIN_EVERY) is not None
