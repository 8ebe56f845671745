-- `backinstock shops connect`: when the shop's webhook subscriptions were last
-- put right. Reconciliation runs for connected shops only (a token alone may be
-- one set for order tags before the shop was ever connected), and remembers
-- when it last looked.
ALTER TABLE shops ADD COLUMN shopify_connected_at timestamptz;
ALTER TABLE shops ADD COLUMN reconciled_at timestamptz;

-- A restock's first batch is checked too (still in stock, still published)
-- before it goes out: a job may wait in the queue while the item sells out
-- again. Jobs start with batch 1 unchecked.
ALTER TABLE jobs ALTER COLUMN batch_checked SET DEFAULT 0;

-- tagging.customer_tags: each customer who signs up is tagged on Shopify once
-- (found there by email or phone), pushed by the dispatcher's tag cron like
-- order tags. shopify_tagged_at is set once done (or given up: tag_status).
ALTER TABLE customers ADD COLUMN shopify_tagged_at timestamptz;
ALTER TABLE customers ADD COLUMN tag_status text CHECK (tag_status IN ('failed', 'not_found', 'skipped'));
ALTER TABLE customers ADD COLUMN tag_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN tag_next_at timestamptz;
ALTER TABLE customers ADD COLUMN tag_error text;
CREATE INDEX customers_tag_due ON customers (shop_id, tag_next_at NULLS FIRST)
    WHERE shopify_tagged_at IS NULL AND tag_status IS NULL;
