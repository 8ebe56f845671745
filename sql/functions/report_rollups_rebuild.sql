-- Rebuilds a shop's rollups from its rows (tests compare it with the incremental fold).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION report_rollups_rebuild(p_shop uuid)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    LOCK TABLE signups, notifications IN SHARE MODE;
    PERFORM pg_advisory_xact_lock(hashtextextended('report_fold/' || p_shop::text, 0));
    DELETE FROM report_signup_deltas WHERE shop_id = p_shop;
    DELETE FROM report_notification_deltas WHERE shop_id = p_shop;
    DELETE FROM report_signups_daily WHERE shop_id = p_shop;
    DELETE FROM report_variant_demand WHERE shop_id = p_shop;
    DELETE FROM report_variant_demand_monthly WHERE shop_id = p_shop;
    DELETE FROM report_notifications_daily WHERE shop_id = p_shop;
    -- Every row of the shop as one signed delta each, then folded.
    INSERT INTO report_signup_deltas
        (shop_id, variant_id, product_id, channel, day, state, signups, last_created_at, gone_at)
    SELECT d.shop_id, d.variant_id, d.product_id, d.channel, (d.created_at AT TIME ZONE s.timezone)::date,
           report_signup_state(d.converted_at, d.last_notified_at, d.unsubscribed_at,
                               d.optin_required, d.optin_confirmed_at),
           sum(d.sign), max(d.created_at) FILTER (WHERE d.sign > 0), max(d.created_at) FILTER (WHERE d.gone)
    FROM (SELECT 1 AS sign, false AS gone, s.* FROM signups s WHERE s.shop_id = p_shop) d JOIN shops s ON s.shop_id = d.shop_id
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(d.sign) <> 0 OR bool_or(d.gone);
    INSERT INTO report_notification_deltas
        (shop_id, variant_id, product_id, day, channel, status, blocked_reason, attempts, clicked)
    SELECT d.shop_id, d.variant_id, d.product_id, (d.created_at AT TIME ZONE s.timezone)::date, d.channel,
           d.status, COALESCE(d.blocked_reason, ''), sum(d.sign),
           COALESCE(sum(d.sign) FILTER (WHERE d.clicked_at IS NOT NULL), 0)
    FROM (SELECT 1 AS sign, n.* FROM notifications n WHERE n.shop_id = p_shop) d JOIN shops s ON s.shop_id = d.shop_id
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(d.sign) <> 0 OR COALESCE(sum(d.sign) FILTER (WHERE d.clicked_at IS NOT NULL), 0) <> 0;
    PERFORM report_rollups_fold(p_shop);
END
$function$;
