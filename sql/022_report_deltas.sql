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
    signup_cols text := 'shop_id, variant_id, product_id, channel, created_at, converted_at, last_notified_at,
                         unsubscribed_at, optin_required, optin_confirmed_at';
    inserted text := 'SELECT 1 AS sign, false AS gone, n.* FROM new_rows n';
    deleted text := 'SELECT -1 AS sign, true AS gone, o.* FROM old_rows o';
    -- An old version "left" when its (variant, product, channel, created_at) changed.
    signups_updated text := format(
        'SELECT -1 AS sign, (o.variant_id, o.product_id, o.channel, o.created_at)
                IS DISTINCT FROM (n.variant_id, n.product_id, n.channel, n.created_at) AS gone, %1$s
         FROM old_rows o JOIN new_rows n ON n.shop_id = o.shop_id AND n.signup_id = o.signup_id
         UNION ALL SELECT 1, false, %2$s FROM new_rows n',
        regexp_replace(signup_cols, '(\w+)', 'o.\1', 'g'), regexp_replace(signup_cols, '(\w+)', 'n.\1', 'g'));
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
