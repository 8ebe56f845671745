-- Trigger: a deleted shop's pending report deltas go with it.
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION report_deltas_forget_shop()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    DELETE FROM report_signup_deltas WHERE shop_id = OLD.shop_id;
    DELETE FROM report_notification_deltas WHERE shop_id = OLD.shop_id;
    RETURN NULL;
END
$function$;
