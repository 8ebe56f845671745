-- A signup's state as the reports count it: the report-state precedence of
-- shared_models/signup_states.py (which owns it; tests/test_signup_states.py holds this copy to it).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION report_signup_state(converted_at timestamp with time zone, last_notified_at timestamp with time zone, unsubscribed_at timestamp with time zone, optin_required boolean, optin_confirmed_at timestamp with time zone)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE
        WHEN converted_at IS NOT NULL THEN 'converted'
        WHEN last_notified_at IS NOT NULL THEN 'notified'
        WHEN unsubscribed_at IS NOT NULL THEN 'unsubscribed'
        WHEN optin_required AND optin_confirmed_at IS NULL THEN 'unconfirmed'
        ELSE 'pending'
    END
$function$;
