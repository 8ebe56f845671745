-- signup_create's step that fills an existing customer's missing details (never a storefront call's).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION customer_fill(p_shop uuid, p_customer uuid, p_email text, p_phone text, p_push_token text, p_name text, p_accepts_marketing boolean, p_locale text, p_country text)
 RETURNS void
 LANGUAGE sql
AS $function$
UPDATE customers c SET
    email = CASE WHEN c.email IS NULL AND NOT EXISTS (
                SELECT 1 FROM customers o WHERE o.shop_id = p_shop AND lower(o.email) = lower(p_email))
            THEN p_email ELSE c.email END,
    phone = CASE WHEN c.phone IS NULL AND NOT EXISTS (
                SELECT 1 FROM customers o WHERE o.shop_id = p_shop AND o.phone = p_phone)
            THEN p_phone ELSE c.phone END,
    push_token = CASE WHEN c.push_token IS NULL AND NOT EXISTS (
                SELECT 1 FROM customers o WHERE o.shop_id = p_shop AND o.push_token = p_push_token)
            THEN p_push_token ELSE c.push_token END,
    name = COALESCE(c.name, p_name),
    accepts_marketing = COALESCE(c.accepts_marketing, p_accepts_marketing),
    locale = COALESCE(c.locale, p_locale),
    country_code = COALESCE(c.country_code, p_country),
    updated_at = now()
WHERE c.shop_id = p_shop AND c.customer_id = p_customer
$function$;
