-- Consent that sticks (issue 13 §1).
--
-- suppressions: per shop, a (channel, contact) that opted out of every alert:
-- the /u page's "all", RFC 8058 one-click, a provider opt-out (Twilio 21610),
-- a hard bounce or a dead push token. `contact` is the key contact_key() makes:
-- email lower-cased, phone as stored (E.164), push token as is. Only the
-- contact lifts it, by confirming an opt-in (/optin POST); no API call does.
-- optin_sent_at: the last opt-in confirmation sent to it (at most one a week).
CREATE TABLE suppressions (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    contact text NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    optin_sent_at timestamptz,
    PRIMARY KEY (shop_id, channel, contact)
);

CREATE FUNCTION contact_key(p_channel text, p_contact text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_channel = 'email' THEN lower(p_contact) ELSE p_contact END
$$;

-- unsubscribe_links: what a deleted signup's unsubscribe link still needs
-- (its channel and contact), kept until 60 days after the signup's last
-- activity (active_at, never earlier than its last alert; dispatcher/retention.py
-- prunes, and data_retention_days removes them with the signups),
-- so that a link in an alert keeps working after the merchant deletes the
-- signup or a transfer merges it away. Written by a trigger: every delete
-- path (API, bulk, merge, retention) goes through it. customers/redact
-- removes the erased person's rows: their links may stop working.
CREATE TABLE unsubscribe_links (
    shop_id uuid NOT NULL REFERENCES shops (shop_id) ON DELETE CASCADE,
    signup_id uuid NOT NULL,
    customer_id uuid,
    channel text NOT NULL,
    contact text NOT NULL,
    variant_id bigint,
    active_at timestamptz NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, signup_id)
);
CREATE INDEX unsubscribe_links_active ON unsubscribe_links (active_at);

CREATE FUNCTION signups_keep_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unsubscribe_links (shop_id, signup_id, customer_id, channel, contact, variant_id, active_at)
    SELECT o.shop_id, o.signup_id, o.customer_id, o.channel, o.contact, o.variant_id, a.active_at
    FROM old_rows o
    CROSS JOIN LATERAL (SELECT GREATEST(o.created_at, o.updated_at, o.last_notified_at, o.last_blocked_at,
                                        o.unsubscribed_at, o.optin_confirmed_at) AS active_at) a
    WHERE a.active_at > now() - interval '60 days'
      AND EXISTS (SELECT 1 FROM shops s WHERE s.shop_id = o.shop_id)  -- not when the shop goes (shop/redact)
    ON CONFLICT (shop_id, signup_id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER signups_keep_link AFTER DELETE ON signups
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION signups_keep_link();
