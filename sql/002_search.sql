-- Partial, case-insensitive contact search (email / phone filters).
-- pg_trgm is a contrib extension: standard PostgreSQL packages ship it, the
-- embedded dev server (pgserver) does not. Without it the filters still work,
-- served by the shop's customer rows instead of a trigram index.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE EXTENSION IF NOT EXISTS btree_gin;
        CREATE INDEX customers_email_trgm ON customers USING gin (shop_id, lower(email) gin_trgm_ops);
        CREATE INDEX customers_phone_trgm ON customers USING gin (shop_id, phone gin_trgm_ops);
    END IF;
END
$$;
