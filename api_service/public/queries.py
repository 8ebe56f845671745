"""SQL of the public pages. Every statement is scoped by the token's shop_id."""
from __future__ import annotations

# $3: record the click (GET) or only look (HEAD). The first click wins.
CLICK = """
WITH first_click AS (
    UPDATE notifications SET clicked_at = now()
    WHERE shop_id = $1 AND notification_id = $2 AND clicked_at IS NULL AND $3::boolean
    RETURNING notification_id
)
SELECT n.notification_id, n.channel, n.variant_id, v.url, v.handle,
       s.domain, s.storefront_domains
FROM notifications n
JOIN shops s ON s.shop_id = n.shop_id
LEFT JOIN variants v ON v.shop_id = n.shop_id AND v.variant_id = n.variant_id
WHERE n.shop_id = $1 AND n.notification_id = $2
"""

SIGNUP = """
SELECT sg.signup_id, sg.customer_id, sg.channel, sg.contact, sg.unsubscribed_at,
       sg.optin_required, sg.optin_confirmed_at,
       s.name AS shop_name, v.product_title, v.variant_title
FROM signups sg
JOIN shops s ON s.shop_id = sg.shop_id
LEFT JOIN variants v ON v.shop_id = sg.shop_id AND v.variant_id = sg.variant_id
WHERE sg.shop_id = $1 AND sg.signup_id = $2
"""

# Idempotent: an unsubscribed signup keeps its first timestamp.
UNSUBSCRIBE_SIGNUP = """
UPDATE signups SET unsubscribed_at = now(), updated_at = now()
WHERE shop_id = $1 AND signup_id = $2 AND unsubscribed_at IS NULL
"""


# An unsubscribed signup is not brought back by a late confirmation.
CONFIRM_OPTIN = """
UPDATE signups SET optin_confirmed_at = now(), updated_at = now()
WHERE shop_id = $1 AND signup_id = $2 AND optin_confirmed_at IS NULL AND unsubscribed_at IS NULL
RETURNING variant_id
"""

SHOP_NAME = "SELECT name FROM shops WHERE shop_id = $1"
