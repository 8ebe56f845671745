-- Rollups behind the reports, so that a report reads rollup rows, not every
-- signup and attempt (1M signups and 3M notifications in one shop answer in
-- milliseconds): signups and notifications per day, and demand per variant
-- all-time and per month. They are maintained by statement-level triggers
-- with transition tables: one grouped upsert per table and statement, in key
-- order (concurrent writers lock rows alike), so bulk writes stay set-based.
-- Days and months are the shop's timezone's when the row was written;
-- report_rollups_rebuild(shop_id) recomputes a shop's rollups (e.g. after a
-- timezone change).
--
-- In the daily rollups variant_id 0 and product_id 0 mean "all": each change
-- is added to the variant's row, its product's row (variant_id 0) and the
-- shop's row (both 0), so that every filter combination reads one narrow
-- index range. In the demand rollups channel 'all' holds every channel. Rows
-- are never deleted when they reach zero (a delete racing an upsert is not
-- worth it); readers ignore zero rows. Rollup rows cascade with their shop.

-- What a signup counts as in reports. Converted and notified take precedence
-- over unsubscribed: a signup alerted and then unsubscribed was still alerted.
-- "pending" is the contract's "waiting" (never alerted, not unsubscribed,
-- confirmed where opt-in is required).
CREATE FUNCTION report_signup_state(converted_at timestamptz, last_notified_at timestamptz,
                                    unsubscribed_at timestamptz, optin_required boolean,
                                    optin_confirmed_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN converted_at IS NOT NULL THEN 'converted'
        WHEN last_notified_at IS NOT NULL THEN 'notified'
        WHEN unsubscribed_at IS NOT NULL THEN 'unsubscribed'
        WHEN optin_required AND optin_confirmed_at IS NULL THEN 'unconfirmed'
        ELSE 'pending'
    END
$$;

-- A CSV cell a spreadsheet would run as a formula gets a leading quote.
CREATE FUNCTION report_csv_cell(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN left(value, 1) IN ('=', '+', '-', '@', E'\t', E'\r') THEN '''' || value ELSE value END
$$;

CREATE TABLE report_signups_daily (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    day date NOT NULL,
    channel text NOT NULL,
    state text NOT NULL,
    signups integer NOT NULL DEFAULT 0,
    -- variant rows only: the latest created_at of the (variant, day, channel) group
    -- is the max over its state rows
    last_created_at timestamptz,
    PRIMARY KEY (shop_id, variant_id, product_id, day, channel, state)
);
-- products_in_demand with a date range reads the variant rows of its partial months by day.
CREATE INDEX report_signups_daily_by_day ON report_signups_daily (shop_id, day) WHERE variant_id <> 0;

-- All-time demand per variant, per channel and over every channel ('all').
CREATE TABLE report_variant_demand (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    channel text NOT NULL,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    total integer NOT NULL DEFAULT 0,
    pending integer NOT NULL DEFAULT 0,
    last_requested_at timestamptz,
    PRIMARY KEY (shop_id, channel, variant_id, product_id)
);
-- One index per sort order of products_in_demand, so a page is an index range.
CREATE INDEX report_variant_demand_pending
    ON report_variant_demand (shop_id, channel, pending DESC, variant_id, product_id);
CREATE INDEX report_variant_demand_total
    ON report_variant_demand (shop_id, channel, total DESC, variant_id, product_id);
CREATE INDEX report_variant_demand_recent
    ON report_variant_demand (shop_id, channel, last_requested_at DESC, variant_id, product_id);
CREATE INDEX report_variant_demand_product ON report_variant_demand (shop_id, product_id, channel);

-- The same per calendar month (shop timezone): products_in_demand over a date
-- range reads whole months here and only the partial months at its edges
-- from report_signups_daily.
CREATE TABLE report_variant_demand_monthly (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    channel text NOT NULL,
    month date NOT NULL,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    total integer NOT NULL DEFAULT 0,
    pending integer NOT NULL DEFAULT 0,
    last_requested_at timestamptz,
    PRIMARY KEY (shop_id, channel, month, variant_id, product_id)
);

CREATE TABLE report_notifications_daily (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    day date NOT NULL,
    channel text NOT NULL,
    status text NOT NULL,
    blocked_reason text NOT NULL,  -- '' when not blocked
    attempts integer NOT NULL DEFAULT 0,
    clicked integer NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, variant_id, product_id, day, channel, status, blocked_reason)
);

-- The upserts, as format() templates over a source of signed rows (`%s`:
-- sign +1 for a row version that now exists, -1 for one that no longer does).
-- Rows are upserted in key order so that concurrent statements lock alike.
CREATE FUNCTION report_sql_signups_daily() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
INSERT INTO report_signups_daily AS r
    (shop_id, variant_id, product_id, day, channel, state, signups, last_created_at)
SELECT shop_id, COALESCE(variant_id, 0), COALESCE(product_id, 0), day, channel, state, sum(sign),
       CASE WHEN GROUPING(variant_id) = 0 THEN max(created_at) FILTER (WHERE sign > 0) END
FROM (
    SELECT d.sign, d.shop_id, d.variant_id, d.product_id, d.channel, d.created_at,
           (d.created_at AT TIME ZONE s.timezone)::date AS day,
           report_signup_state(d.converted_at, d.last_notified_at, d.unsubscribed_at,
                               d.optin_required, d.optin_confirmed_at) AS state
    FROM (%s) d JOIN shops s ON s.shop_id = d.shop_id
) x
GROUP BY GROUPING SETS ((shop_id, day, channel, state, variant_id, product_id),
                        (shop_id, day, channel, state, product_id),
                        (shop_id, day, channel, state))
HAVING sum(sign) <> 0
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (shop_id, variant_id, product_id, day, channel, state) DO UPDATE
SET signups = r.signups + EXCLUDED.signups,
    last_created_at = GREATEST(r.last_created_at, EXCLUDED.last_created_at)
$t$ $q$;

CREATE FUNCTION report_sql_variant_demand() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
INSERT INTO report_variant_demand AS r
    (shop_id, channel, variant_id, product_id, total, pending, last_requested_at)
SELECT shop_id, COALESCE(channel, 'all'), variant_id, product_id, sum(sign),
       COALESCE(sum(sign) FILTER (WHERE pending), 0), max(created_at) FILTER (WHERE sign > 0)
FROM (
    SELECT d.sign, d.shop_id, d.variant_id, d.product_id, d.channel, d.created_at,
           report_signup_state(d.converted_at, d.last_notified_at, d.unsubscribed_at,
                               d.optin_required, d.optin_confirmed_at) = 'pending' AS pending
    FROM (%s) d JOIN shops s ON s.shop_id = d.shop_id
) x
GROUP BY GROUPING SETS ((shop_id, variant_id, product_id, channel), (shop_id, variant_id, product_id))
HAVING sum(sign) <> 0 OR COALESCE(sum(sign) FILTER (WHERE pending), 0) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (shop_id, channel, variant_id, product_id) DO UPDATE
SET total = r.total + EXCLUDED.total, pending = r.pending + EXCLUDED.pending,
    last_requested_at = GREATEST(r.last_requested_at, EXCLUDED.last_requested_at)
$t$ $q$;

CREATE FUNCTION report_sql_variant_demand_monthly() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
INSERT INTO report_variant_demand_monthly AS r
    (shop_id, channel, month, variant_id, product_id, total, pending, last_requested_at)
SELECT shop_id, COALESCE(channel, 'all'), month, variant_id, product_id, sum(sign),
       COALESCE(sum(sign) FILTER (WHERE pending), 0), max(created_at) FILTER (WHERE sign > 0)
FROM (
    SELECT d.sign, d.shop_id, d.variant_id, d.product_id, d.channel, d.created_at,
           date_trunc('month', d.created_at AT TIME ZONE s.timezone)::date AS month,
           report_signup_state(d.converted_at, d.last_notified_at, d.unsubscribed_at,
                               d.optin_required, d.optin_confirmed_at) = 'pending' AS pending
    FROM (%s) d JOIN shops s ON s.shop_id = d.shop_id
) x
GROUP BY GROUPING SETS ((shop_id, month, variant_id, product_id, channel), (shop_id, month, variant_id, product_id))
HAVING sum(sign) <> 0 OR COALESCE(sum(sign) FILTER (WHERE pending), 0) <> 0
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (shop_id, channel, month, variant_id, product_id) DO UPDATE
SET total = r.total + EXCLUDED.total, pending = r.pending + EXCLUDED.pending,
    last_requested_at = GREATEST(r.last_requested_at, EXCLUDED.last_requested_at)
$t$ $q$;

CREATE FUNCTION report_sql_notifications_daily() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
INSERT INTO report_notifications_daily AS r
    (shop_id, variant_id, product_id, day, channel, status, blocked_reason, attempts, clicked)
SELECT shop_id, COALESCE(variant_id, 0), COALESCE(product_id, 0), day, channel, status, reason,
       sum(sign), sum(sign * clicked)
FROM (
    SELECT d.sign, d.shop_id, d.variant_id, d.product_id, d.channel, d.status,
           COALESCE(d.blocked_reason, '') AS reason, (d.clicked_at IS NOT NULL)::int AS clicked,
           (d.created_at AT TIME ZONE s.timezone)::date AS day
    FROM (%s) d JOIN shops s ON s.shop_id = d.shop_id
) x
GROUP BY GROUPING SETS ((shop_id, day, channel, status, reason, variant_id, product_id),
                        (shop_id, day, channel, status, reason, product_id),
                        (shop_id, day, channel, status, reason))
HAVING sum(sign) <> 0 OR sum(sign * clicked) <> 0
ORDER BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT (shop_id, variant_id, product_id, day, channel, status, blocked_reason) DO UPDATE
SET attempts = r.attempts + EXCLUDED.attempts, clicked = r.clicked + EXCLUDED.clicked
$t$ $q$;

-- Latest signup times of the groups rows left (deleted, or moved to another
-- variant, product, channel or creation time), recomputed from signups
-- (signups_variant index: one short range per group) where the row that
-- left may have been the latest.
CREATE FUNCTION report_sql_signups_recompute() RETURNS text LANGUAGE sql IMMUTABLE AS $q$ SELECT $t$
WITH g AS (
    SELECT o.shop_id, o.variant_id, o.product_id, o.channel, (o.created_at AT TIME ZONE sh.timezone)::date AS day,
           sh.timezone, max(o.created_at) AS gone
    FROM (%1$s) o JOIN shops sh ON sh.shop_id = o.shop_id
    GROUP BY 1, 2, 3, 4, 5, 6
), monthly AS (
    UPDATE report_variant_demand_monthly r SET last_requested_at = (
        SELECT max(s.created_at) FROM signups s
        WHERE s.shop_id = r.shop_id AND s.variant_id = r.variant_id AND s.product_id = r.product_id
          AND (r.channel = 'all' OR s.channel = r.channel)
          AND s.created_at >= (r.month::timestamp AT TIME ZONE m.timezone)
          AND s.created_at < ((r.month + interval '1 month')::timestamp AT TIME ZONE m.timezone))
    FROM (SELECT shop_id, variant_id, product_id, channel, date_trunc('month', day)::date AS month, timezone,
                 max(gone) AS gone
          FROM g GROUP BY 1, 2, 3, 4, 5, 6) m
    WHERE r.shop_id = m.shop_id AND r.variant_id = m.variant_id AND r.product_id = m.product_id
      AND r.channel IN (m.channel, 'all') AND r.month = m.month AND r.last_requested_at <= m.gone
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
FROM (SELECT shop_id, variant_id, product_id, channel, max(gone) AS gone FROM g GROUP BY 1, 2, 3, 4) v
WHERE r.shop_id = v.shop_id AND r.variant_id = v.variant_id AND r.product_id = v.product_id
  AND r.channel IN (v.channel, 'all') AND r.last_requested_at <= v.gone
$t$ $q$;

-- The trigger functions, generated from the templates above with static SQL
-- (PL/pgSQL caches their plans; EXECUTE would plan every statement anew):
-- one function per table and operation, each over its transition tables.
DO $gen$
DECLARE
    inserted text := 'SELECT 1 AS sign, n.* FROM new_rows n';
    deleted text := 'SELECT -1 AS sign, o.* FROM old_rows o';
    updated text := 'SELECT -1 AS sign, o.* FROM old_rows o UNION ALL SELECT 1, n.* FROM new_rows n';
    -- Row versions that left their (variant, product, channel, day) group.
    moved text := 'SELECT o.* FROM old_rows o JOIN new_rows n ON n.shop_id = o.shop_id AND n.signup_id = o.signup_id
                   WHERE (o.variant_id, o.product_id, o.channel, o.created_at)
                         IS DISTINCT FROM (n.variant_id, n.product_id, n.channel, n.created_at)';
    fn text := 'CREATE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS %L';
BEGIN
    EXECUTE format(fn, 'report_signups_inserted', format('BEGIN %s; %s; %s; RETURN NULL; END',
        format(report_sql_signups_daily(), inserted), format(report_sql_variant_demand(), inserted),
        format(report_sql_variant_demand_monthly(), inserted)));
    EXECUTE format(fn, 'report_signups_updated', format('BEGIN %s; %s; %s; %s; RETURN NULL; END',
        format(report_sql_signups_daily(), updated), format(report_sql_variant_demand(), updated),
        format(report_sql_variant_demand_monthly(), updated), format(report_sql_signups_recompute(), moved)));
    EXECUTE format(fn, 'report_signups_deleted', format('BEGIN %s; %s; %s; %s; RETURN NULL; END',
        format(report_sql_signups_daily(), deleted), format(report_sql_variant_demand(), deleted),
        format(report_sql_variant_demand_monthly(), deleted),
        format(report_sql_signups_recompute(), 'SELECT o.* FROM old_rows o')));
    EXECUTE format(fn, 'report_notifications_inserted', format('BEGIN %s; RETURN NULL; END',
        format(report_sql_notifications_daily(), inserted)));
    EXECUTE format(fn, 'report_notifications_updated', format('BEGIN %s; RETURN NULL; END',
        format(report_sql_notifications_daily(), updated)));
    EXECUTE format(fn, 'report_notifications_deleted', format('BEGIN %s; RETURN NULL; END',
        format(report_sql_notifications_daily(), deleted)));
END
$gen$;

CREATE TRIGGER report_signups_insert AFTER INSERT ON signups
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_signups_inserted();
CREATE TRIGGER report_signups_update AFTER UPDATE ON signups
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_signups_updated();
CREATE TRIGGER report_signups_delete AFTER DELETE ON signups
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_signups_deleted();

CREATE TRIGGER report_notifications_insert AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_notifications_inserted();
CREATE TRIGGER report_notifications_update AFTER UPDATE ON notifications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_notifications_updated();
CREATE TRIGGER report_notifications_delete AFTER DELETE ON notifications
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_notifications_deleted();

-- Recomputes one shop's rollups from its rows. Takes SHARE locks on signups
-- and notifications so that no write slips between the delete and the insert.
CREATE FUNCTION report_rollups_rebuild(p_shop uuid) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    LOCK TABLE signups, notifications IN SHARE MODE;
    DELETE FROM report_signups_daily WHERE shop_id = p_shop;
    DELETE FROM report_variant_demand WHERE shop_id = p_shop;
    DELETE FROM report_variant_demand_monthly WHERE shop_id = p_shop;
    DELETE FROM report_notifications_daily WHERE shop_id = p_shop;
    EXECUTE format(report_sql_signups_daily(),
                   format('SELECT 1 AS sign, s.* FROM signups s WHERE s.shop_id = %L', p_shop));
    EXECUTE format(report_sql_variant_demand(),
                   format('SELECT 1 AS sign, s.* FROM signups s WHERE s.shop_id = %L', p_shop));
    EXECUTE format(report_sql_variant_demand_monthly(),
                   format('SELECT 1 AS sign, s.* FROM signups s WHERE s.shop_id = %L', p_shop));
    EXECUTE format(report_sql_notifications_daily(),
                   format('SELECT 1 AS sign, n.* FROM notifications n WHERE n.shop_id = %L', p_shop));
END
$fn$;

-- Rows written before this migration.
SELECT report_rollups_rebuild(shop_id) FROM shops;
