-- The template functions 021 and 022 built the report triggers from: the
-- functions they produced are now written out in full in sql/functions/
-- (re-applied by every migrate), so nothing calls the templates any more.
DROP FUNCTION IF EXISTS report_sql_signups_daily();
DROP FUNCTION IF EXISTS report_sql_variant_demand();
DROP FUNCTION IF EXISTS report_sql_variant_demand_monthly();
DROP FUNCTION IF EXISTS report_sql_notifications_daily();
DROP FUNCTION IF EXISTS report_sql_signups_recompute();
DROP FUNCTION IF EXISTS report_sql_signup_deltas();
DROP FUNCTION IF EXISTS report_sql_notification_deltas();
