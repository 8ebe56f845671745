-- `backinstock shops connect`: when the shop's webhook subscriptions were last
-- put right. Reconciliation runs for connected shops only (a token alone may be
-- one set for order tags before the shop was ever connected), and remembers
-- when it last looked.
ALTER TABLE shops ADD COLUMN shopify_connected_at timestamptz;
ALTER TABLE shops ADD COLUMN reconciled_at timestamptz;
