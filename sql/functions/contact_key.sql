-- The key a contact is suppressed under: email lower-cased, phone (E.164) and push token as they are.
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION contact_key(p_channel text, p_contact text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN p_channel = 'email' THEN lower(p_contact) ELSE p_contact END
$function$;
