-- What a request was authorised with, as one text: the API key (its id, flags,
-- revocation), the whole shop row and the shop's settings. The API caches a
-- key's shop and settings per process (api_service/auth.py) with this value;
-- a coalesced create compares it inside its own transaction
-- (signup_create_many), so a key revoked, a shop or its settings changed, by
-- any means, is never acted on from a stale cache. p_key NULL: the shop alone
-- (the storefront's calls carry no key).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION principal_fingerprint(p_shop uuid, p_key uuid) RETURNS text
LANGUAGE sql STABLE
AS $function$
    SELECT md5(ROW(k.key_id, k.read_only, k.revoked_at, s, st.overrides)::text)
    FROM shops s
    LEFT JOIN api_keys k ON k.key_id = p_key AND k.shop_id = s.shop_id
    LEFT JOIN settings st ON st.shop_id = s.shop_id
    WHERE s.shop_id = p_shop
$function$;
