-- Core schema. Every tenant table is keyed by shop_id first (primary key,
-- unique constraints, foreign keys and indexes), so that it can be
-- distributed by shop on Citus without a rewrite. shops and api_keys are
-- small and looked up by domain / key prefix: they become reference tables.

CREATE TABLE shops (
    shop_id uuid PRIMARY KEY,
    domain text NOT NULL UNIQUE,
    name text NOT NULL,
    plan text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'lite', 'pro', 'unlimited')),
    currency text NOT NULL DEFAULT 'USD',
    timezone text NOT NULL DEFAULT 'UTC',
    webhook_secret text NOT NULL,
    storefront_domains text[] NOT NULL DEFAULT '{}',
    shopify_token text,
    uninstalled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    key_id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    prefix text NOT NULL UNIQUE,
    key_hash bytea NOT NULL,
    read_only boolean NOT NULL DEFAULT false,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_shop ON api_keys (shop_id);

CREATE TABLE customers (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    customer_id uuid NOT NULL,
    email text,
    phone text,
    push_token text,
    name text,
    accepts_marketing boolean,
    locale text,
    country_code text,
    shopify_customer_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, customer_id)
);
CREATE UNIQUE INDEX customers_email ON customers (shop_id, lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX customers_phone ON customers (shop_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX customers_push ON customers (shop_id, push_token) WHERE push_token IS NOT NULL;

CREATE TABLE variants (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    inventory_item_id bigint,
    product_title text,
    variant_title text,
    sku text,
    vendor text,
    url text,
    handle text,
    inventory_quantity integer,
    product_status text,
    published_at timestamptz,
    -- 'api' until a Shopify webhook describes the variant; then Shopify wins.
    source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'shopify')),
    shopify_updated_at timestamptz,
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, variant_id)
);
CREATE INDEX variants_product ON variants (shop_id, product_id);
CREATE INDEX variants_inventory_item ON variants (shop_id, inventory_item_id);

CREATE TABLE signups (
    shop_id uuid NOT NULL,
    signup_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    contact text NOT NULL,
    quantity integer NOT NULL DEFAULT 1,
    source text NOT NULL DEFAULT 'api',
    shopify_market_id bigint,
    optin_required boolean NOT NULL DEFAULT false,
    optin_confirmed_at timestamptz,
    notifications_sent integer NOT NULL DEFAULT 0,
    last_notified_at timestamptz,
    last_blocked_at timestamptz,
    unsubscribed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    status text GENERATED ALWAYS AS (
        CASE
            WHEN unsubscribed_at IS NOT NULL THEN 'unsubscribed'
            WHEN last_notified_at IS NOT NULL THEN 'notified'
            WHEN last_blocked_at IS NOT NULL THEN 'blocked'
            ELSE 'pending'
        END
    ) STORED,
    PRIMARY KEY (shop_id, signup_id),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, customer_id) ON DELETE CASCADE
);
-- One open signup per customer, variant and channel: concurrent creates meet here.
CREATE UNIQUE INDEX signups_open ON signups (shop_id, customer_id, variant_id, channel)
    WHERE last_notified_at IS NULL AND unsubscribed_at IS NULL;
-- Lists are newest first; each filter has an index that ends in that order.
CREATE INDEX signups_recent ON signups (shop_id, created_at DESC, signup_id DESC);
CREATE INDEX signups_status ON signups (shop_id, status, created_at DESC, signup_id DESC);
CREATE INDEX signups_channel ON signups (shop_id, channel, created_at DESC, signup_id DESC);
CREATE INDEX signups_variant ON signups (shop_id, variant_id, created_at DESC, signup_id DESC);
CREATE INDEX signups_product ON signups (shop_id, product_id, created_at DESC, signup_id DESC);
CREATE INDEX signups_customer ON signups (shop_id, customer_id, created_at DESC);

CREATE TABLE jobs (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    job_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('notify', 'bulk_notify', 'restock', 'reminder')),
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    payload jsonb NOT NULL DEFAULT '{}',
    sent integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    blocked integer NOT NULL DEFAULT 0,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (shop_id, job_id)
);
CREATE INDEX jobs_unfinished ON jobs (shop_id, created_at) WHERE status IN ('queued', 'running');

CREATE TABLE notifications (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    notification_id uuid NOT NULL,
    -- No foreign key to signups: deleting a signup keeps its notifications.
    signup_id uuid NOT NULL,
    customer_id uuid,
    job_id uuid,
    channel text NOT NULL,
    contact text,
    status text NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'blocked')),
    blocked_reason text CHECK (blocked_reason IN (
        'plan_limit', 'channel_disabled', 'optin_unconfirmed', 'unsubscribed',
        'country_not_allowed', 'sold_out', 'not_published')),
    error text,
    trigger text NOT NULL CHECK (trigger IN ('restock', 'manual', 'reminder')),
    batch integer NOT NULL DEFAULT 1,
    attempt integer NOT NULL DEFAULT 1,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    variant_title text,
    provider text,
    provider_message_id text,
    -- What makes a send happen once: (restock, signup) or (notify call, signup).
    send_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    clicked_at timestamptz,
    PRIMARY KEY (shop_id, notification_id)
);
CREATE UNIQUE INDEX notifications_send_once ON notifications (shop_id, send_key, attempt)
    WHERE send_key IS NOT NULL;
CREATE INDEX notifications_recent ON notifications (shop_id, created_at DESC, notification_id DESC);
CREATE INDEX notifications_channel ON notifications (shop_id, channel, created_at DESC, notification_id DESC);
CREATE INDEX notifications_status ON notifications (shop_id, status, created_at DESC, notification_id DESC);
CREATE INDEX notifications_blocked_reason ON notifications (shop_id, blocked_reason, created_at DESC, notification_id DESC)
    WHERE blocked_reason IS NOT NULL;
CREATE INDEX notifications_trigger ON notifications (shop_id, trigger, created_at DESC, notification_id DESC);
CREATE INDEX notifications_signup ON notifications (shop_id, signup_id, created_at DESC, notification_id DESC);
CREATE INDEX notifications_variant ON notifications (shop_id, variant_id, created_at DESC, notification_id DESC);
CREATE INDEX notifications_product ON notifications (shop_id, product_id, created_at DESC, notification_id DESC);
CREATE INDEX notifications_job ON notifications (shop_id, job_id, created_at DESC, notification_id DESC);

CREATE TABLE settings (
    shop_id uuid PRIMARY KEY REFERENCES shops (shop_id) ON DELETE CASCADE,
    -- Only what the shop changed; the defaults live in code (shared_models.settings).
    overrides jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_keys (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status_code integer,          -- null while the first request is in flight
    response_body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, key)
);
