-- Trigger: new signups become report deltas (folded later, off the write path).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION report_signups_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$BEGIN 
INSERT INTO report_signup_deltas
    (shop_id, variant_id, product_id, channel, day, state, signups, last_created_at, gone_at)
SELECT d.shop_id, d.variant_id, d.product_id, d.channel, (d.created_at AT TIME ZONE s.timezone)::date,
       report_signup_state(d.converted_at, d.last_notified_at, d.unsubscribed_at,
                           d.optin_required, d.optin_confirmed_at),
       sum(d.sign), max(d.created_at) FILTER (WHERE d.sign > 0), max(d.created_at) FILTER (WHERE d.gone)
FROM (SELECT 1 AS sign, false AS gone, n.* FROM new_rows n) d JOIN shops s ON s.shop_id = d.shop_id
GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(d.sign) <> 0 OR bool_or(d.gone)
; RETURN NULL; END$function$;
