-- Erasure that is complete and webhooks that can't be turned into weapons (issue 13 §2, §3).

-- The shop's numeric Shopify id: shop/redact must name it. Set by
-- `shops create|set-shopify-id`, else learnt from the first app/uninstalled
-- whose domain matches (Shopify always sends that before shop/redact).
ALTER TABLE shops ADD COLUMN shopify_shop_id bigint;

-- X-Shopify-Event-Id: Shopify's key for duplicates (one event, several
-- webhook ids when it is redelivered), deduplicated besides the webhook id.
ALTER TABLE webhook_events ADD COLUMN event_id text;
CREATE UNIQUE INDEX webhook_events_event ON webhook_events (shop_id, event_id) WHERE event_id IS NOT NULL;

-- customers/redact finds signups by their contact (an SMS signup to the
-- erased phone held under another customer) and orders by their buyer.
CREATE INDEX signups_contact ON signups (shop_id, lower(contact));
CREATE INDEX orders_email ON orders (shop_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX orders_buyer ON orders (shop_id, shopify_customer_id) WHERE shopify_customer_id IS NOT NULL;

-- customers/data_request: the JSON export of what we hold on the customer,
-- kept for the merchant (GET /back_in_stock/data_requests) for 30 days, and
-- removed with the customer by customers/redact.
CREATE TABLE data_requests (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    request_id uuid NOT NULL,
    webhook_id text NOT NULL,
    shopify_request_id bigint,        -- the payload's data_request.id
    export jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, request_id)
);
CREATE UNIQUE INDEX data_requests_webhook ON data_requests (shop_id, webhook_id);
CREATE INDEX data_requests_recent ON data_requests (shop_id, created_at DESC, request_id DESC);

-- Payloads already processed keep, from now on, only the identifiers and
-- times that name no one (dispatcher/webhooks/process.py minimises each
-- payload as it is processed).
UPDATE webhook_events SET payload = COALESCE(
    (SELECT jsonb_object_agg(key, value) FROM jsonb_each(payload)
     WHERE key IN ('id', 'shop_id', 'shop_domain', 'domain', 'inventory_item_id', 'location_id', 'available',
                   'updated_at', 'created_at', 'cancelled_at')
       AND jsonb_typeof(value) IN ('string', 'number', 'boolean')), '{}'::jsonb)
WHERE processed_at IS NOT NULL AND jsonb_typeof(payload) = 'object';
