-- What the dispatcher needs: job targets with leases, restocks, webhook
-- events, inventory levels, the monthly allowance and merchant-alert marks.

ALTER TABLE signups
    ADD COLUMN first_notified_at timestamptz,
    ADD COLUMN reminder_stage integer NOT NULL DEFAULT 0,
    ADD COLUMN purchased_at timestamptz,
    ADD COLUMN optin_sent_at timestamptz;

ALTER TABLE jobs
    ADD COLUMN trigger text NOT NULL DEFAULT 'manual' CHECK (trigger IN ('restock', 'manual', 'reminder')),
    ADD COLUMN allow_resend boolean NOT NULL DEFAULT false,
    ADD COLUMN variant_id bigint,
    ADD COLUMN current_batch integer NOT NULL DEFAULT 1,
    ADD COLUMN batch_checked integer NOT NULL DEFAULT 1,
    ADD COLUMN total_batches integer NOT NULL DEFAULT 1,
    ADD COLUMN batch_interval_minutes integer NOT NULL DEFAULT 0,
    ADD COLUMN next_run_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN heartbeat_at timestamptz,
    ADD COLUMN request_id text;
DROP INDEX jobs_unfinished;
CREATE INDEX jobs_unfinished ON jobs (shop_id, next_run_at) WHERE status IN ('queued', 'running');

-- One row per signup a job will try; the lease says which worker holds it.
CREATE TABLE job_targets (
    shop_id uuid NOT NULL,
    job_id uuid NOT NULL,
    signup_id uuid NOT NULL,
    batch integer NOT NULL DEFAULT 1,
    position integer NOT NULL,
    state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'cancelled')),
    lease_until timestamptz,
    PRIMARY KEY (shop_id, job_id, signup_id),
    FOREIGN KEY (shop_id, job_id) REFERENCES jobs (shop_id, job_id) ON DELETE CASCADE
);
CREATE INDEX job_targets_next ON job_targets (shop_id, job_id, batch, position) WHERE state = 'queued';
-- A signup is in at most one unfinished send at a time (notify answers 409).
CREATE UNIQUE INDEX job_targets_in_flight ON job_targets (shop_id, signup_id) WHERE state = 'queued';

ALTER TABLE notifications ADD COLUMN plan_counted boolean NOT NULL DEFAULT false;

CREATE TABLE inventory_levels (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    inventory_item_id bigint NOT NULL,
    location_id bigint NOT NULL,
    available integer NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (shop_id, inventory_item_id, location_id)
);

CREATE TABLE restocks (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    restock_id uuid NOT NULL,
    variant_id bigint NOT NULL,
    quantity integer NOT NULL,
    status text NOT NULL CHECK (status IN ('started', 'waiting_publish', 'manual', 'ignored')),
    job_id uuid,
    detected_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    PRIMARY KEY (shop_id, restock_id)
);
CREATE INDEX restocks_variant ON restocks (shop_id, variant_id, detected_at DESC);
CREATE INDEX restocks_waiting ON restocks (shop_id, variant_id) WHERE status = 'waiting_publish';

CREATE TABLE webhook_events (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    webhook_id text NOT NULL,
    topic text NOT NULL,
    payload jsonb NOT NULL,
    triggered_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    outcome text,
    PRIMARY KEY (shop_id, webhook_id)
);
CREATE INDEX webhook_events_unprocessed ON webhook_events (shop_id, received_at) WHERE processed_at IS NULL;

-- The month's allowance, taken atomically (row lock) by every worker.
CREATE TABLE plan_usage (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    month date NOT NULL,
    used integer NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, month)
);

-- Merchant emails sent once per key (high demand per variant, usage per month).
CREATE TABLE merchant_alerts (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    kind text NOT NULL,
    key text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, kind, key)
);

-- Reminders look for alerted signups by when they were first alerted.
CREATE INDEX signups_reminder_due ON signups (shop_id, first_notified_at)
    WHERE first_notified_at IS NOT NULL AND unsubscribed_at IS NULL AND purchased_at IS NULL;

-- Opt-in confirmations not yet sent (the sweep re-enqueues them).
CREATE INDEX signups_optin_unsent ON signups (shop_id, created_at)
    WHERE optin_required AND optin_sent_at IS NULL AND optin_confirmed_at IS NULL;
