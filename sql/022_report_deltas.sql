-- Report rollups off the write path. 021's triggers upserted the rollup rows
-- inside every writing statement, so concurrent signups and concurrent alert
-- outcomes queued on the same few rows (the shop's and the variant's "all"
-- rows) until commit. Now a writing statement only appends its changes,
-- grouped, to a delta table: no row is shared, nothing waits. Folding moves a
-- shop's deltas into the rollups in one transaction; reports fold their shop
-- before they read (so they are exact), and the dispatcher folds every few
-- seconds so that the deltas stay few.
--
-- Deltas are grouped at the finest grain the rollups keep (variant, day in
-- the shop's timezone, channel, state or status); the fold adds the product
-- and shop levels. `gone_at` marks signups that left their group (deleted,
-- moved): the fold recomputes the latest signup time of such groups.

CREATE TABLE report_signup_deltas (
    shop_id uuid NOT NULL,  -- no foreign key: appends must not lock the shop row
    delta_id bigint GENERATED ALWAYS AS IDENTITY,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    channel text NOT NULL,
    day date NOT NULL,
    state text NOT NULL,
    signups integer NOT NULL,
    last_created_at timestamptz,
    gone_at timestamptz,
    PRIMARY KEY (shop_id, delta_id)
);

CREATE TABLE report_notification_deltas (
    shop_id uuid NOT NULL,
    delta_id bigint GENERATED ALWAYS AS IDENTITY,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    day date NOT NULL,
    channel text NOT NULL,
    status text NOT NULL,
    blocked_reason text NOT NULL,
    attempts integer NOT NULL,
    clicked integer NOT NULL,
    PRIMARY KEY (shop_id, delta_id)
);

-- A group whose latest signup may have left it (the fold's recompute input).
CREATE TYPE report_gone AS (shop_id uuid, variant_id bigint, product_id bigint, channel text,
                            created_at timestamptz);

-- Appends, as format() templates over a source of signed row versions (`%s`:
-- sign +1 for a version that now exists, -1 for one that no longer does, and
-- `gone` for a -1 version that left its group).
CREATE FUNCTION report_sql_signup_deltas() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
INSERT INTO report_signup_deltas
    (shop_id, variant_id, product_id, channel, day, state, signups, last_created_at, gone_at)
SELECT d.shop_id, d.variant_id, d.product_id, d.channel, (d.created_at AT TIME ZONE s.timezone)::date,
       report_signup_state(d.converted_at, d.last_notified_at, d.unsubscribed_at,
                           d.optin_required, d.optin_confirmed_at),
       sum(d.sign), max(d.created_at) FILTER (WHERE d.sign > 0), max(d.created_at) FILTER (WHERE d.gone)
FROM (%s) d JOIN shops s ON s.shop_id = d.shop_id
GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(d.sign) <> 0 OR bool_or(d.gone)
$t$ $q$;

CREATE FUNCTION report_sql_notification_deltas() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
INSERT INTO report_notification_deltas
    (shop_id, variant_id, product_id, day, channel, status, blocked_reason, attempts, clicked)
SELECT d.shop_id, d.variant_id, d.product_id, (d.created_at AT TIME ZONE s.timezone)::date, d.channel,
       d.status, COALESCE(d.blocked_reason, ''), sum(d.sign),
       COALESCE(sum(d.sign) FILTER (WHERE d.clicked_at IS NOT NULL), 0)
FROM (%s) d JOIN shops s ON s.shop_id = d.shop_id
GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(d.sign) <> 0 OR COALESCE(sum(d.sign) FILTER (WHERE d.clicked_at IS NOT NULL), 0) <> 0
$t$ $q$;

-- The trigger functions keep 021's names (the triggers stay attached), now
-- generated as static SQL (PL/pgSQL caches their plans).
DO $gen$
DECLARE
    inserted text := 'SELECT 1 AS sign, false AS gone, n.* FROM new_rows n';
    deleted text := 'SELECT -1 AS sign, true AS gone, o.* FROM old_rows o';
    -- An old version "left" when its (variant, product, channel, created_at)
    -- changed: then no new version shares its partition. A window, not a
    -- join of the transition tables (they have no statistics: a planner's
    -- nested loop over a 100,000-row transfer never finished).
    signups_updated text := 'SELECT u.*, u.sign < 0 AND count(*) OVER (PARTITION BY u.signup_id, u.variant_id,
                                    u.product_id, u.channel, u.created_at) = 1 AS gone
                             FROM (SELECT -1 AS sign, o.* FROM old_rows o UNION ALL SELECT 1, n.* FROM new_rows n) u';
    notifications_updated text := 'SELECT -1 AS sign, o.* FROM old_rows o UNION ALL SELECT 1, n.* FROM new_rows n';
    fn text := 'CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS %L';
BEGIN
    EXECUTE format(fn, 'report_signups_inserted',
                   format('BEGIN %s; RETURN NULL; END', format(report_sql_signup_deltas(), inserted)));
    EXECUTE format(fn, 'report_signups_updated',
                   format('BEGIN %s; RETURN NULL; END', format(report_sql_signup_deltas(), signups_updated)));
    EXECUTE format(fn, 'report_signups_deleted',
                   format('BEGIN %s; RETURN NULL; END', format(report_sql_signup_deltas(), deleted)));
    EXECUTE format(fn, 'report_notifications_inserted',
                   format('BEGIN %s; RETURN NULL; END', format(report_sql_notification_deltas(), inserted)));
    EXECUTE format(fn, 'report_notifications_updated',
                   format('BEGIN %s; RETURN NULL; END',
                          format(report_sql_notification_deltas(), notifications_updated)));
    EXECUTE format(fn, 'report_notifications_deleted',
                   format('BEGIN %s; RETURN NULL; END', format(report_sql_notification_deltas(), deleted)));
END
$gen$;

-- Latest signup times of the groups whose latest signup may have left (021's
-- recompute, with every join an equality): a row's own channel and 'all' are
-- two join rows, not `channel IN (…)`, so that a big delete's thousands of
-- groups are matched by hash or key, never by scanning the rollups per group.
CREATE OR REPLACE FUNCTION report_sql_signups_recompute() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
WITH g AS (
    SELECT o.shop_id, o.variant_id, o.product_id, o.channel, (o.created_at AT TIME ZONE sh.timezone)::date AS day,
           sh.timezone, max(o.created_at) AS gone
    FROM (%1$s) o JOIN shops sh ON sh.shop_id = o.shop_id
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
$t$ $q$;

-- Folds one shop's deltas into its rollups. Concurrent folds of a shop take
-- turns (a transaction-level advisory lock); with `wait` false a fold that
-- would wait returns false instead (the dispatcher's background folding).
-- Each delta is deleted by exactly one fold (DELETE … RETURNING), and the
-- rollup rows are upserted in key order, so folds never deadlock.
DO $gen$
DECLARE
    body text := $body$
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
        %s;
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
$body$;
BEGIN
    EXECUTE format('CREATE FUNCTION report_rollups_fold(p_shop uuid, p_wait boolean DEFAULT true)
                    RETURNS boolean LANGUAGE plpgsql AS %L',
                   format(body, format(report_sql_signups_recompute(), 'SELECT * FROM unnest(v_gone)')));
END
$gen$;

-- Recomputes one shop's rollups from its rows: the pending deltas are
-- dropped, every row becomes one delta, and the fold does the rest. SHARE
-- locks on signups and notifications keep writes out meanwhile.
CREATE OR REPLACE FUNCTION report_rollups_rebuild(p_shop uuid) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    LOCK TABLE signups, notifications IN SHARE MODE;
    PERFORM pg_advisory_xact_lock(hashtextextended('report_fold/' || p_shop::text, 0));
    DELETE FROM report_signup_deltas WHERE shop_id = p_shop;
    DELETE FROM report_notification_deltas WHERE shop_id = p_shop;
    DELETE FROM report_signups_daily WHERE shop_id = p_shop;
    DELETE FROM report_variant_demand WHERE shop_id = p_shop;
    DELETE FROM report_variant_demand_monthly WHERE shop_id = p_shop;
    DELETE FROM report_notifications_daily WHERE shop_id = p_shop;
    EXECUTE format(report_sql_signup_deltas(),
                   'SELECT 1 AS sign, false AS gone, s.* FROM signups s WHERE s.shop_id = $1') USING p_shop;
    EXECUTE format(report_sql_notification_deltas(),
                   'SELECT 1 AS sign, n.* FROM notifications n WHERE n.shop_id = $1') USING p_shop;
    PERFORM report_rollups_fold(p_shop);
END
$fn$;

-- Shops deleted with deltas pending leave nothing behind.
CREATE FUNCTION report_deltas_forget_shop() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM report_signup_deltas WHERE shop_id = OLD.shop_id;
    DELETE FROM report_notification_deltas WHERE shop_id = OLD.shop_id;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER report_deltas_forget_shop AFTER DELETE ON shops
    FOR EACH ROW EXECUTE FUNCTION report_deltas_forget_shop();
