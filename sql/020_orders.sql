-- Orders from Shopify (orders/create, orders/cancelled) and the lines of them
-- attributed to an alert. Keyed by shop_id first, like every tenant table.

CREATE TABLE orders (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    order_id bigint NOT NULL,
    name text,
    email text,
    shopify_customer_id bigint,
    landing_site text,
    note_attributes jsonb,
    currency text,
    ordered_at timestamptz,           -- the payload's created_at; null until orders/create arrived
    cancelled_at timestamptz,         -- set by orders/cancelled (which may arrive first)
    attributed_lines integer NOT NULL DEFAULT 0,
    -- tagging.order_tag as it applied when the order was attributed; null: not tagged
    tag text,
    -- Shopify tagsAdd: pending (to push), done, failed (given up), skipped (no token/cancelled)
    tag_status text CHECK (tag_status IN ('pending', 'done', 'failed', 'skipped')),
    tag_attempts integer NOT NULL DEFAULT 0,
    tag_error text,
    tag_next_at timestamptz,
    tagged_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id)
);
-- The tag pusher's queue: small, scanned by every worker's cron.
CREATE INDEX orders_tag_pending ON orders (shop_id, tag_next_at) WHERE tag_status = 'pending';

CREATE TABLE order_attributions (
    shop_id uuid NOT NULL,
    order_id bigint NOT NULL,
    line_id bigint NOT NULL,           -- the line item's id (its 1-based position when absent)
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    quantity integer NOT NULL,
    revenue numeric(14, 2) NOT NULL,   -- the line's total after discounts, shop currency
    notification_id uuid NOT NULL,     -- the alert credited (the latest within 7 days)
    signup_id uuid NOT NULL,
    channel text NOT NULL,
    confidence text NOT NULL CHECK (confidence IN ('high', 'medium')),
    ordered_at timestamptz NOT NULL,
    attributed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id, line_id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, order_id) ON DELETE CASCADE
);
-- Reports read attributions by order time, optionally by variant or product.
CREATE INDEX order_attributions_time ON order_attributions (shop_id, ordered_at);
CREATE INDEX order_attributions_variant ON order_attributions (shop_id, variant_id, ordered_at);
CREATE INDEX order_attributions_product ON order_attributions (shop_id, product_id, ordered_at);
CREATE INDEX order_attributions_signup ON order_attributions (shop_id, signup_id);

-- converted_at: the earliest live order attributed to the signup (reports'
-- "converted"); purchase_order_id: the order that set purchased_at, so that
-- cancelling it can clear it.
ALTER TABLE signups
    ADD COLUMN converted_at timestamptz,
    ADD COLUMN purchase_order_id bigint;
-- orders/cancelled clears the purchases its order set.
CREATE INDEX signups_purchase_order ON signups (shop_id, purchase_order_id) WHERE purchase_order_id IS NOT NULL;

-- Attribution looks for a variant's latest sent alert before the order.
CREATE INDEX notifications_variant_sent ON notifications (shop_id, variant_id, sent_at DESC)
    WHERE status = 'sent';
-- A buyer's signups on the ordered variants (purchased_at for reminders).
CREATE INDEX customers_shopify_id ON customers (shop_id, shopify_customer_id)
    WHERE shopify_customer_id IS NOT NULL;
