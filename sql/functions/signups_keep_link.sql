-- Trigger: a deleted signup's channel and contact are kept so that its unsubscribe link keeps working (60 days).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION signups_keep_link()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO unsubscribe_links (shop_id, signup_id, customer_id, channel, contact, variant_id, active_at)
    SELECT o.shop_id, o.signup_id, o.customer_id, o.channel, o.contact, o.variant_id, a.active_at
    FROM old_rows o
    CROSS JOIN LATERAL (SELECT GREATEST(o.created_at, o.updated_at, o.last_notified_at, o.last_blocked_at,
                                        o.unsubscribed_at, o.optin_confirmed_at) AS active_at) a
    WHERE a.active_at > now() - interval '60 days'
      AND EXISTS (SELECT 1 FROM shops s WHERE s.shop_id = o.shop_id)  -- not when the shop goes (shop/redact)
    ON CONFLICT (shop_id, signup_id) DO NOTHING;
    RETURN NULL;
END
$function$;
