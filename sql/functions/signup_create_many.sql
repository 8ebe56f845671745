-- A group of signup creates of one shop in one statement, one round trip and
-- one commit (api_service/signups/groups.py coalesces concurrent creates and
-- calls this with named arguments). Member g is element g of every array.
-- Each member gets its own outcome (r_outcome), as if it had run alone:
--   created / existing   r_signup is the signup (201 / 200)
--   stale                its cached key, shop or settings changed: nothing done, the API looks them up again
--   stored, mismatch, busy   its Idempotency-Key was answered before / used by another request / in flight
--                        (idempotency_claim.sql); nothing else done
--   suppressed           a merchant's create for a contact on the suppression list (r_suppressed_at: since when)
--   unknown_variant      no product id given and the catalog doesn't know the variant
-- Every lookup driven by the arrays is a LATERAL probe of an index, fenced
-- by its LIMIT 1 (at most one row by a unique key): a generic plan guesses
-- 1,000 members, and a lookup flattened into the join hash-joined the whole
-- table (8 ms a create on a 50,000-signup shop).
-- Set-based where it counts (one insert of the group's customers, one of its
-- signups: the report trigger runs once per group); row by row only where a
-- member must see an earlier one's write (catalog rows that change, customers
-- that get details). Rows are written in key order, so concurrent groups take
-- row and index locks in one order and never deadlock each other.
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION signup_create_many(
    p_shop uuid, p_key uuid[], p_fingerprint text[], p_idem_key text[], p_idem_hash bytea[],
    p_signup uuid[], p_customer uuid[], p_variant bigint[], p_product bigint[], p_inventory_item bigint[],
    p_product_title text[], p_variant_title text[], p_sku text[], p_vendor text[], p_url text[],
    p_email text[], p_phone text[], p_push_token text[], p_name text[], p_accepts_marketing boolean[],
    p_locale text[], p_country text[], p_storefront boolean[], p_channel text[], p_contact text[],
    p_quantity integer[], p_source text[], p_market bigint[], p_optin_required boolean[])
RETURNS TABLE (r_ord integer, r_outcome text, r_signup uuid, r_suppressed_at timestamptz,
               r_status integer, r_body bytea)
LANGUAGE plpgsql
-- Its statements' plans don't depend on the arrays' contents (each probes
-- indexes by key): planned once per connection, not on every call, which
-- cost a single create more than its writes.
SET plan_cache_mode = force_generic_plan
-- Tiny statements whose estimates (1,000 rows from each array) can pass
-- jit_above_cost: compiling them took 80 ms a call where running them takes 0.1.
SET jit = off
AS $function$
DECLARE
    n integer := cardinality(p_signup);
    v_outcome text[];  -- NULL while the member is still being created
    v_suppressed timestamptz[];
    v_optin boolean[] := p_optin_required;
    v_status integer[] := array_fill(NULL::integer, ARRAY[n]);
    v_body bytea[] := array_fill(NULL::bytea, ARRAY[n]);
    v_product bigint[];
    v_upsert boolean[];
    v_customer uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    v_signup uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    v_inserted uuid[];
    v_claim record;
    m record;
    i integer;
BEGIN
    -- 1. Each member's principal as it is now, against what the API cached.
    WITH keys AS (
        SELECT u.key_id, principal_fingerprint(p_shop => p_shop, p_key => u.key_id) AS now_is
        FROM (SELECT DISTINCT key_id FROM unnest(p_key) AS k(key_id)) u)
    SELECT array_agg(CASE WHEN p_fingerprint[g] IS NOT NULL AND p_fingerprint[g] IS DISTINCT FROM k.now_is
                          THEN 'stale' END ORDER BY g)
    INTO v_outcome
    FROM generate_subscripts(p_signup, 1) g JOIN keys k ON k.key_id IS NOT DISTINCT FROM p_key[g];

    -- 2. Idempotency-Keys, claimed in key order.
    FOR m IN SELECT g FROM generate_subscripts(p_signup, 1) g
             WHERE p_idem_key[g] IS NOT NULL AND v_outcome[g] IS NULL ORDER BY p_idem_key[g], g LOOP
        SELECT * INTO v_claim FROM idempotency_claim(p_shop => p_shop, p_key => p_idem_key[m.g],
                                                     p_hash => p_idem_hash[m.g]);
        IF v_claim.outcome <> 'claimed' THEN
            v_outcome[m.g] := v_claim.outcome;
            v_status[m.g] := v_claim.status_code;
            v_body[m.g] := v_claim.response_body;
        END IF;
    END LOOP;

    -- 3. The suppression list: a merchant's create is refused; the storefront's
    -- signup needs the contact's opt-in, which alone lifts it.
    SELECT array_agg(x.created_at ORDER BY g) INTO v_suppressed
    FROM generate_subscripts(p_signup, 1) g
    LEFT JOIN LATERAL (SELECT s.created_at FROM suppressions s
                       WHERE v_outcome[g] IS NULL AND s.shop_id = p_shop AND s.channel = p_channel[g]
                         AND s.contact = contact_key(p_channel[g], p_contact[g]) LIMIT 1) x ON true;
    FOR i IN 1..n LOOP
        IF v_outcome[i] IS NULL AND v_suppressed[i] IS NOT NULL THEN
            IF p_storefront[i] THEN
                v_optin[i] := true;
            ELSE
                v_outcome[i] := 'suppressed';
            END IF;
        END IF;
    END LOOP;

    -- 4. Creates on a variant (shared) and transfers into it (exclusive) take
    -- turns, so a transfer never misses an open signup created while it merges.
    PERFORM pg_advisory_xact_lock_shared(l.lock_key)
    FROM (SELECT DISTINCT variant_lock_key(p_shop => p_shop, p_variant => p_variant[g]) AS lock_key
          FROM generate_subscripts(p_signup, 1) g WHERE v_outcome[g] IS NULL ORDER BY 1) l;

    -- 5. The catalog: filled from the request until Shopify describes the
    -- variant (then Shopify's product id wins). Compared first: an upsert locks
    -- the row until commit, and creates on one hot variant should not queue for nothing.
    SELECT array_agg(CASE WHEN c.same THEN c.product_id ELSE COALESCE(p_product[g], c.product_id) END ORDER BY g),
           array_agg(v_outcome[g] IS NULL AND (p_product[g] IS NOT NULL OR c.known) AND NOT c.same ORDER BY g),
           array_agg(CASE WHEN v_outcome[g] IS NULL AND p_product[g] IS NULL AND NOT c.known
                          THEN 'unknown_variant' ELSE v_outcome[g] END ORDER BY g)
    INTO v_product, v_upsert, v_outcome
    FROM generate_subscripts(p_signup, 1) g
    CROSS JOIN LATERAL (
        SELECT v.variant_id IS NOT NULL AS known, v.product_id,
               COALESCE(v.variant_id IS NOT NULL AND (v.source <> 'api' OR (
                   v.product_id = COALESCE(p_product[g], v.product_id)
                   AND (p_inventory_item[g] IS NULL OR v.inventory_item_id IS NOT DISTINCT FROM p_inventory_item[g])
                   AND (p_product_title[g] IS NULL OR v.product_title IS NOT DISTINCT FROM p_product_title[g])
                   AND (p_variant_title[g] IS NULL OR v.variant_title IS NOT DISTINCT FROM p_variant_title[g])
                   AND (p_sku[g] IS NULL OR v.sku IS NOT DISTINCT FROM p_sku[g])
                   AND (p_vendor[g] IS NULL OR v.vendor IS NOT DISTINCT FROM p_vendor[g])
                   AND (p_url[g] IS NULL OR v.url IS NOT DISTINCT FROM p_url[g]))), false) AS same
        FROM (SELECT 1) one
        LEFT JOIN variants v ON v_outcome[g] IS NULL AND v.shop_id = p_shop AND v.variant_id = p_variant[g]
        LIMIT 1) c;
    -- Given values replace, missing ones keep what is stored; rows whose
    -- source is 'shopify' are never touched; an unchanged row is not rewritten.
    FOR m IN SELECT g FROM generate_subscripts(p_signup, 1) g WHERE v_upsert[g] ORDER BY p_variant[g], g LOOP
        INSERT INTO variants AS t (shop_id, variant_id, product_id, inventory_item_id, product_title,
                                   variant_title, sku, vendor, url)
        VALUES (p_shop, p_variant[m.g], v_product[m.g], p_inventory_item[m.g], p_product_title[m.g],
                p_variant_title[m.g], p_sku[m.g], p_vendor[m.g], p_url[m.g])
        ON CONFLICT (shop_id, variant_id) DO UPDATE SET
            product_id = EXCLUDED.product_id,
            inventory_item_id = COALESCE(EXCLUDED.inventory_item_id, t.inventory_item_id),
            product_title = COALESCE(EXCLUDED.product_title, t.product_title),
            variant_title = COALESCE(EXCLUDED.variant_title, t.variant_title),
            sku = COALESCE(EXCLUDED.sku, t.sku),
            vendor = COALESCE(EXCLUDED.vendor, t.vendor),
            url = COALESCE(EXCLUDED.url, t.url),
            updated_at = now()
        WHERE t.source = 'api'
          AND (t.product_id, t.inventory_item_id, t.product_title, t.variant_title, t.sku, t.vendor, t.url)
              IS DISTINCT FROM
              (EXCLUDED.product_id, COALESCE(EXCLUDED.inventory_item_id, t.inventory_item_id),
               COALESCE(EXCLUDED.product_title, t.product_title), COALESCE(EXCLUDED.variant_title, t.variant_title),
               COALESCE(EXCLUDED.sku, t.sku), COALESCE(EXCLUDED.vendor, t.vendor), COALESCE(EXCLUDED.url, t.url));
    END LOOP;
    IF true = ANY (v_upsert) THEN
        SELECT array_agg(COALESCE(v.product_id, v_product[g]) ORDER BY g) INTO v_product
        FROM generate_subscripts(p_signup, 1) g
        LEFT JOIN LATERAL (SELECT t.product_id FROM variants t
                           WHERE v_upsert[g] AND t.shop_id = p_shop AND t.variant_id = p_variant[g] LIMIT 1) v ON true;
    END IF;

    -- 6. Customers, each found by one contact (the first given: email, phone,
    -- push token). One insert for the group, of that contact only (its unique
    -- index is then the only one an insert can meet), waits for a concurrent
    -- insert of it to commit; the lookup then finds the row. A member whose
    -- customer was erased between the two goes round again.
    FOR attempt IN 1..3 LOOP
        INSERT INTO customers (shop_id, customer_id, email, phone, push_token, name, accepts_marketing, locale,
                               country_code)
        SELECT p_shop, p_customer[t.g], CASE WHEN t.kind = 1 THEN p_email[t.g] END,
               CASE WHEN t.kind = 2 THEN p_phone[t.g] END, CASE WHEN t.kind = 3 THEN p_push_token[t.g] END,
               p_name[t.g], p_accepts_marketing[t.g], p_locale[t.g], p_country[t.g]
        FROM (SELECT DISTINCT ON (kind, contact) g, kind, contact
              FROM (SELECT g, CASE WHEN p_email[g] IS NOT NULL THEN 1 WHEN p_phone[g] IS NOT NULL THEN 2 ELSE 3 END AS kind,
                           COALESCE(lower(p_email[g]), p_phone[g], p_push_token[g]) AS contact
                    FROM generate_subscripts(p_signup, 1) g
                    WHERE v_outcome[g] IS NULL AND v_customer[g] IS NULL) w
              ORDER BY kind, contact, g) t
        ORDER BY t.kind, t.contact
        ON CONFLICT DO NOTHING;
        SELECT array_agg(COALESCE(v_customer[g], f.customer_id) ORDER BY g) INTO v_customer
        FROM generate_subscripts(p_signup, 1) g
        LEFT JOIN LATERAL (
            SELECT c.customer_id FROM customers c
            WHERE v_outcome[g] IS NULL AND v_customer[g] IS NULL AND p_email[g] IS NOT NULL
              AND c.shop_id = p_shop AND lower(c.email) = lower(p_email[g])
            UNION ALL
            SELECT c.customer_id FROM customers c
            WHERE v_outcome[g] IS NULL AND v_customer[g] IS NULL AND p_email[g] IS NULL AND p_phone[g] IS NOT NULL
              AND c.shop_id = p_shop AND c.phone = p_phone[g]
            UNION ALL
            SELECT c.customer_id FROM customers c
            WHERE v_outcome[g] IS NULL AND v_customer[g] IS NULL AND p_email[g] IS NULL AND p_phone[g] IS NULL
              AND c.shop_id = p_shop AND c.push_token = p_push_token[g]
            LIMIT 1) f ON true;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM generate_subscripts(p_signup, 1) g
                              WHERE v_outcome[g] IS NULL AND v_customer[g] IS NULL);
        IF attempt = 3 THEN
            RAISE EXCEPTION 'customer neither inserted nor found';
        END IF;
    END LOOP;

    -- A new customer gets every detail given; an existing one only those it
    -- lacks, and never from the storefront (which changes no existing customer
    -- or their consent). A contact another customer holds is left out; losing
    -- a race for one (unique violation) keeps the other details.
    FOR m IN
        SELECT g, c.customer_id FROM generate_subscripts(p_signup, 1) g
        CROSS JOIN LATERAL (SELECT * FROM customers k
                            WHERE v_outcome[g] IS NULL AND (v_customer[g] = p_customer[g] OR NOT p_storefront[g])
                              AND k.shop_id = p_shop AND k.customer_id = v_customer[g] LIMIT 1) c
        WHERE ((c.email IS NULL AND p_email[g] IS NOT NULL) OR (c.phone IS NULL AND p_phone[g] IS NOT NULL)
               OR (c.push_token IS NULL AND p_push_token[g] IS NOT NULL) OR (c.name IS NULL AND p_name[g] IS NOT NULL)
               OR (c.accepts_marketing IS NULL AND p_accepts_marketing[g] IS NOT NULL)
               OR (c.locale IS NULL AND p_locale[g] IS NOT NULL) OR (c.country_code IS NULL AND p_country[g] IS NOT NULL))
        ORDER BY c.customer_id, g
    LOOP
        BEGIN
            PERFORM customer_fill(p_shop => p_shop, p_customer => m.customer_id, p_email => p_email[m.g],
                                  p_phone => p_phone[m.g], p_push_token => p_push_token[m.g], p_name => p_name[m.g],
                                  p_accepts_marketing => p_accepts_marketing[m.g], p_locale => p_locale[m.g],
                                  p_country => p_country[m.g]);
        EXCEPTION WHEN unique_violation THEN
            PERFORM customer_fill(p_shop => p_shop, p_customer => m.customer_id, p_email => NULL, p_phone => NULL,
                                  p_push_token => NULL, p_name => p_name[m.g],
                                  p_accepts_marketing => p_accepts_marketing[m.g], p_locale => p_locale[m.g],
                                  p_country => p_country[m.g]);
        END;
    END LOOP;

    -- 7. Signups: the partial unique index signups_open is the arbiter, so
    -- identical creates (in the group or concurrent) insert once and the others
    -- take that row. The open row met may be alerted or deleted before it is
    -- read: then the member goes round again.
    FOR attempt IN 1..3 LOOP
        WITH ins AS (
            INSERT INTO signups (shop_id, signup_id, customer_id, variant_id, product_id, channel, contact,
                                 quantity, source, shopify_market_id, optin_required)
            SELECT p_shop, p_signup[g], v_customer[g], p_variant[g], v_product[g], p_channel[g], p_contact[g],
                   p_quantity[g], p_source[g], p_market[g], v_optin[g]
            FROM generate_subscripts(p_signup, 1) g
            WHERE v_outcome[g] IS NULL
            ORDER BY v_customer[g], p_variant[g], p_channel[g], g
            ON CONFLICT (shop_id, customer_id, variant_id, channel)
                WHERE last_notified_at IS NULL AND unsubscribed_at IS NULL DO NOTHING
            RETURNING signup_id)
        SELECT COALESCE(array_agg(signup_id), '{}') INTO v_inserted FROM ins;
        SELECT array_agg(CASE WHEN v_outcome[g] IS NOT NULL THEN v_outcome[g]
                              WHEN p_signup[g] = ANY (v_inserted) THEN 'created'
                              WHEN o.signup_id IS NOT NULL THEN 'existing' END ORDER BY g),
               array_agg(CASE WHEN v_outcome[g] IS NULL AND p_signup[g] = ANY (v_inserted) THEN p_signup[g]
                              WHEN v_outcome[g] IS NULL THEN o.signup_id ELSE v_signup[g] END ORDER BY g)
        INTO v_outcome, v_signup
        FROM generate_subscripts(p_signup, 1) g
        LEFT JOIN LATERAL (
            SELECT s.signup_id FROM signups s
            WHERE v_outcome[g] IS NULL AND NOT p_signup[g] = ANY (v_inserted)
              AND s.shop_id = p_shop AND s.customer_id = v_customer[g] AND s.variant_id = p_variant[g]
              AND s.channel = p_channel[g] AND s.last_notified_at IS NULL AND s.unsubscribed_at IS NULL
            LIMIT 1) o ON true;
        EXIT WHEN array_position(v_outcome, NULL) IS NULL;
        IF attempt = 3 THEN
            RAISE EXCEPTION 'signup create kept racing with sends';
        END IF;
    END LOOP;

    RETURN QUERY
    SELECT g, v_outcome[g], v_signup[g], v_suppressed[g], v_status[g], v_body[g]
    FROM generate_subscripts(p_signup, 1) g ORDER BY g;
END
$function$;
