-- Trigger: a notification's change is its old row out and its new row in, as deltas.
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION report_notifications_updated()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$BEGIN 
INSERT INTO report_notification_deltas
    (shop_id, variant_id, product_id, day, channel, status, blocked_reason, attempts, clicked)
SELECT d.shop_id, d.variant_id, d.product_id, (d.created_at AT TIME ZONE s.timezone)::date, d.channel,
       d.status, COALESCE(d.blocked_reason, ''), sum(d.sign),
       COALESCE(sum(d.sign) FILTER (WHERE d.clicked_at IS NOT NULL), 0)
FROM (SELECT -1 AS sign, o.* FROM old_rows o UNION ALL SELECT 1, n.* FROM new_rows n) d JOIN shops s ON s.shop_id = d.shop_id
GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(d.sign) <> 0 OR COALESCE(sum(d.sign) FILTER (WHERE d.clicked_at IS NOT NULL), 0) <> 0
; RETURN NULL; END$function$;
