-- Folds a shop's pending report deltas into the rollups (reports call it before reading; dispatchers every DISPATCH_FOLD_SECONDS).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION report_rollups_fold(p_shop uuid, p_wait boolean DEFAULT true)
 RETURNS boolean
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_gone report_gone[];
BEGIN
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('report_fold/' || p_shop::text, 0));
    ELSIF NOT pg_try_advisory_xact_lock(hashtextextended('report_fold/' || p_shop::text, 0)) THEN
        RETURN false;
    END IF;

    WITH d AS (DELETE FROM report_signup_deltas WHERE shop_id = p_shop RETURNING *),
    daily AS (
        INSERT INTO report_signups_daily AS r
            (shop_id, variant_id, product_id, day, channel, state, signups, last_created_at)
        SELECT shop_id, COALESCE(variant_id, 0), COALESCE(product_id, 0), day, channel, state, sum(signups),
               CASE WHEN GROUPING(variant_id) = 0 THEN max(last_created_at) END
        FROM d
        GROUP BY GROUPING SETS ((shop_id, day, channel, state, variant_id, product_id),
                                (shop_id, day, channel, state, product_id),
                                (shop_id, day, channel, state))
        HAVING sum(signups) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (shop_id, variant_id, product_id, day, channel, state) DO UPDATE
        SET signups = r.signups + EXCLUDED.signups,
            last_created_at = GREATEST(r.last_created_at, EXCLUDED.last_created_at)
    ),
    demand AS (
        INSERT INTO report_variant_demand AS r
            (shop_id, channel, variant_id, product_id, total, pending, last_requested_at)
        SELECT shop_id, COALESCE(channel, 'all'), variant_id, product_id, sum(signups),
               COALESCE(sum(signups) FILTER (WHERE state = 'pending'), 0), max(last_created_at)
        FROM d
        GROUP BY GROUPING SETS ((shop_id, variant_id, product_id, channel), (shop_id, variant_id, product_id))
        HAVING sum(signups) <> 0 OR COALESCE(sum(signups) FILTER (WHERE state = 'pending'), 0) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (shop_id, channel, variant_id, product_id) DO UPDATE
        SET total = r.total + EXCLUDED.total, pending = r.pending + EXCLUDED.pending,
            last_requested_at = GREATEST(r.last_requested_at, EXCLUDED.last_requested_at)
    ),
    monthly AS (
        INSERT INTO report_variant_demand_monthly AS r
            (shop_id, channel, month, variant_id, product_id, total, pending, last_requested_at)
        SELECT shop_id, COALESCE(channel, 'all'), date_trunc('month', day)::date, variant_id, product_id,
               sum(signups), COALESCE(sum(signups) FILTER (WHERE state = 'pending'), 0), max(last_created_at)
        FROM d
        GROUP BY GROUPING SETS ((shop_id, date_trunc('month', day)::date, variant_id, product_id, channel),
                                (shop_id, date_trunc('month', day)::date, variant_id, product_id))
        HAVING sum(signups) <> 0 OR COALESCE(sum(signups) FILTER (WHERE state = 'pending'), 0) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (shop_id, channel, month, variant_id, product_id) DO UPDATE
        SET total = r.total + EXCLUDED.total, pending = r.pending + EXCLUDED.pending,
            last_requested_at = GREATEST(r.last_requested_at, EXCLUDED.last_requested_at)
    )
    SELECT array_agg(ROW(shop_id, variant_id, product_id, channel, gone_at)::report_gone)
    INTO v_gone FROM d WHERE gone_at IS NOT NULL;

    IF v_gone IS NOT NULL THEN
        
WITH g AS (
    SELECT o.shop_id, o.variant_id, o.product_id, o.channel, (o.created_at AT TIME ZONE sh.timezone)::date AS day,
           sh.timezone, max(o.created_at) AS gone
    FROM (SELECT * FROM unnest(v_gone)) o JOIN shops sh ON sh.shop_id = o.shop_id
    GROUP BY 1, 2, 3, 4, 5, 6
), by_channel AS (
    SELECT g.shop_id, g.variant_id, g.product_id, c.channel, g.day, g.timezone, g.gone
    FROM g CROSS JOIN LATERAL (VALUES (g.channel), ('all')) AS c(channel)
), monthly AS (
    UPDATE report_variant_demand_monthly r SET last_requested_at = (
        SELECT max(s.created_at) FROM signups s
        WHERE s.shop_id = r.shop_id AND s.variant_id = r.variant_id AND s.product_id = r.product_id
          AND (r.channel = 'all' OR s.channel = r.channel)
          AND s.created_at >= (r.month::timestamp AT TIME ZONE m.timezone)
          AND s.created_at < ((r.month + interval '1 month')::timestamp AT TIME ZONE m.timezone))
    FROM (SELECT shop_id, variant_id, product_id, channel, date_trunc('month', day)::date AS month, timezone,
                 max(gone) AS gone
          FROM by_channel GROUP BY 1, 2, 3, 4, 5, 6) m
    WHERE r.shop_id = m.shop_id AND r.channel = m.channel AND r.month = m.month AND r.variant_id = m.variant_id
      AND r.product_id = m.product_id AND r.last_requested_at <= m.gone
), daily AS (
    UPDATE report_signups_daily r SET last_created_at = (
        SELECT max(s.created_at) FROM signups s
        WHERE s.shop_id = r.shop_id AND s.variant_id = r.variant_id AND s.product_id = r.product_id
          AND s.channel = r.channel
          AND s.created_at >= (r.day::timestamp AT TIME ZONE g.timezone)
          AND s.created_at < ((r.day + 1)::timestamp AT TIME ZONE g.timezone)
          AND report_signup_state(s.converted_at, s.last_notified_at, s.unsubscribed_at,
                                  s.optin_required, s.optin_confirmed_at) = r.state)
    FROM g
    WHERE r.shop_id = g.shop_id AND r.variant_id = g.variant_id AND r.product_id = g.product_id
      AND r.channel = g.channel AND r.day = g.day AND r.last_created_at <= g.gone
)
UPDATE report_variant_demand r SET last_requested_at = (
    SELECT max(s.created_at) FROM signups s
    WHERE s.shop_id = r.shop_id AND s.variant_id = r.variant_id AND s.product_id = r.product_id
      AND (r.channel = 'all' OR s.channel = r.channel))
FROM (SELECT shop_id, variant_id, product_id, channel, max(gone) AS gone FROM by_channel GROUP BY 1, 2, 3, 4) v
WHERE r.shop_id = v.shop_id AND r.channel = v.channel AND r.variant_id = v.variant_id
  AND r.product_id = v.product_id AND r.last_requested_at <= v.gone
;
    END IF;

    WITH d AS (DELETE FROM report_notification_deltas WHERE shop_id = p_shop RETURNING *)
    INSERT INTO report_notifications_daily AS r
        (shop_id, variant_id, product_id, day, channel, status, blocked_reason, attempts, clicked)
    SELECT shop_id, COALESCE(variant_id, 0), COALESCE(product_id, 0), day, channel, status, blocked_reason,
           sum(attempts), COALESCE(sum(clicked), 0)
    FROM d
    GROUP BY GROUPING SETS ((shop_id, day, channel, status, blocked_reason, variant_id, product_id),
                            (shop_id, day, channel, status, blocked_reason, product_id),
                            (shop_id, day, channel, status, blocked_reason))
    HAVING sum(attempts) <> 0 OR COALESCE(sum(clicked), 0) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (shop_id, variant_id, product_id, day, channel, status, blocked_reason) DO UPDATE
    SET attempts = r.attempts + EXCLUDED.attempts, clicked = r.clicked + EXCLUDED.clicked;
    RETURN true;
END
$function$;
