"""The opt-in confirmation: sent once at signup when compliance.optin_required.
Not an alert: no notification row, not counted against the plan. It is still a
message: none goes over a channel the shop's plan or settings turn off, nor by
SMS to a country it does not allow (the signup then stays unconfirmed).

A suppressed contact (it opted out of everything; a storefront signup for it
asks it again) gets at most one confirmation a week, by email or push only:
never an SMS to a number that opted out (carrier rules)."""
from __future__ import annotations

import logging
import uuid

from dispatcher import rules
from dispatcher.channels.base import ProviderError
from dispatcher.messages import confirm_url, render_confirmation
from dispatcher.runtime import Runtime
from shared_models import suppression
from shared_models.rows.sending import OptinClaimRow
from shared_models.settings import sending_settings

log = logging.getLogger("backinstock.dispatcher")

# Marked before sending: a crash may lose a confirmation, never send two.
# Row: shared_models.rows.sending.OptinClaimRow.
CLAIM = """
UPDATE signups s SET optin_sent_at = now()
FROM shops sh
WHERE s.shop_id = $1 AND s.signup_id = $2 AND sh.shop_id = s.shop_id AND sh.uninstalled_at IS NULL
  AND s.optin_required AND s.optin_confirmed_at IS NULL AND s.optin_sent_at IS NULL
  AND s.unsubscribed_at IS NULL
RETURNING s.channel, s.contact, s.variant_id, sh.name AS shop_name, sh.plan,
          (SELECT st.overrides FROM settings st WHERE st.shop_id = sh.shop_id) AS overrides
"""
VARIANT = "SELECT product_title, variant_title FROM variants WHERE shop_id = $1 AND variant_id = $2"


async def send_optin(rt: Runtime, shop_id: uuid.UUID, signup_id: uuid.UUID) -> bool:
    pool, config = rt.conns.pool, rt.conns.config
    row: OptinClaimRow | None = await pool.fetchrow(CLAIM, shop_id, signup_id, record_class=OptinClaimRow)
    if row is None:
        return False
    if await suppression.find(pool, shop_id, row.channel, row.contact) is not None and (
            row.channel == "sms" or not await suppression.claim_optin(pool, shop_id, row.channel, row.contact)):
        log.info("opt-in confirmation for signup %s not sent: its %s contact is suppressed "
                 "(no SMS; email and push at most weekly)", signup_id, row.channel)
        return False
    settings = sending_settings(row.overrides, row.plan)
    if rules.channel_disabled(row, settings) or rules.country_not_allowed(row, settings):
        log.info("opt-in confirmation for signup %s not sent: %s is off or not allowed for it",
                 signup_id, row.channel)
        return False
    variant = await pool.fetchrow(VARIANT, shop_id, row.variant_id)
    message = render_confirmation(
        channel=row.channel, to=row.contact, shop_name=row.shop_name,
        product_title=variant and variant["product_title"],
        variant_title=variant and variant["variant_title"],
        confirm_url=confirm_url(config.public_url, shop_id, signup_id, config.secret_key))
    provider = rt.providers[row.channel]
    try:
        await rt.throttle.acquire(provider.name)
        await provider.send(message)
    except ProviderError as exc:
        log.warning("opt-in confirmation for signup %s not delivered: %s", signup_id, exc.message)
        return False
    return True
