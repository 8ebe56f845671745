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
