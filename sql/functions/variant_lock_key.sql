-- The advisory lock key of a variant's waitlist: creates take it shared
-- (signup_create), transfers into the variant exclusive (api_service/signups/
-- queries.py), so a transfer never misses a signup created while it merges.
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION variant_lock_key(p_shop uuid, p_variant bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended(p_shop::text || '/' || p_variant::text, 0)
$$;
