-- A signup create in one round trip: catalog, customer, signup (api_service/signups/service.py calls it with named arguments).
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION signup_create(
    p_shop uuid, p_signup uuid, p_customer uuid, p_variant bigint, p_product bigint, p_inventory_item bigint,
    p_product_title text, p_variant_title text, p_sku text, p_vendor text, p_url text,
    p_email text, p_phone text, p_push_token text,
    p_name text, p_accepts_marketing boolean, p_locale text, p_country text, p_fill_existing boolean,
    p_channel text, p_contact text, p_quantity integer, p_source text, p_market bigint, p_optin_required boolean,
    OUT result_id uuid, OUT created boolean)
LANGUAGE plpgsql
AS $function$
DECLARE
    v record;
    c record;
    v_known boolean;
    v_product bigint := p_product;
    v_customer_created boolean := false;
    -- The contact the customer is found by: the first given (the API's schema
    -- guarantees the channel's one is).
    v_lookup text := CASE WHEN p_email IS NOT NULL THEN 'email' WHEN p_phone IS NOT NULL THEN 'phone'
                          ELSE 'push_token' END;
BEGIN
    -- Creates on a variant (shared) and transfers into it (exclusive) take
    -- turns, so a transfer never misses an open signup created while it merges.
    PERFORM pg_advisory_xact_lock_shared(variant_lock_key(p_shop => p_shop, p_variant => p_variant));
    SELECT source, product_id, inventory_item_id, product_title, variant_title, sku, vendor, url INTO v
    FROM variants WHERE shop_id = p_shop AND variant_id = p_variant;
    v_known := FOUND;
    IF v_product IS NULL THEN
        IF NOT v_known THEN
            RETURN;
        END IF;
        v_product := v.product_id;
    END IF;

    -- The catalog: filled from the request until Shopify describes the variant
    -- (then Shopify's product id wins). Compared first: the upsert locks the
    -- row until commit, and signups for one hot variant should not queue for nothing.
    IF v_known AND (v.source <> 'api' OR (
            v.product_id = v_product
            AND (p_inventory_item IS NULL OR v.inventory_item_id IS NOT DISTINCT FROM p_inventory_item)
            AND (p_product_title IS NULL OR v.product_title IS NOT DISTINCT FROM p_product_title)
            AND (p_variant_title IS NULL OR v.variant_title IS NOT DISTINCT FROM p_variant_title)
            AND (p_sku IS NULL OR v.sku IS NOT DISTINCT FROM p_sku)
            AND (p_vendor IS NULL OR v.vendor IS NOT DISTINCT FROM p_vendor)
            AND (p_url IS NULL OR v.url IS NOT DISTINCT FROM p_url))) THEN
        v_product := v.product_id;
    ELSE
        -- Given values replace, missing ones keep what is stored; rows whose
        -- source is 'shopify' are never touched; an unchanged row is not rewritten.
        INSERT INTO variants AS t (shop_id, variant_id, product_id, inventory_item_id, product_title,
                                   variant_title, sku, vendor, url)
        VALUES (p_shop, p_variant, v_product, p_inventory_item, p_product_title, p_variant_title, p_sku,
                p_vendor, p_url)
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
        SELECT product_id INTO v_product FROM variants WHERE shop_id = p_shop AND variant_id = p_variant;
    END IF;

    -- The customer, found by one contact (v_lookup): the insert either wins or
    -- meets the unique index (waiting for a concurrent insert to commit); the
    -- select then finds it. A customer erased between the two: insert again.
    FOR attempt IN 1..3 LOOP
        -- Only the lookup contact is inserted (the others are filled below):
        -- its unique index is then the only one the insert can meet.
        INSERT INTO customers (shop_id, customer_id, email, phone, push_token, name, accepts_marketing, locale,
                               country_code)
        VALUES (p_shop, p_customer, CASE WHEN v_lookup = 'email' THEN p_email END,
                CASE WHEN v_lookup = 'phone' THEN p_phone END, CASE WHEN v_lookup = 'push_token' THEN p_push_token END,
                p_name, p_accepts_marketing, p_locale, p_country)
        ON CONFLICT DO NOTHING
        RETURNING customer_id, email, phone, push_token, name, accepts_marketing, locale, country_code INTO c;
        v_customer_created := FOUND;
        IF v_customer_created THEN
            NULL;
        ELSIF v_lookup = 'email' THEN  -- one statement per unique index, each planned on its own
            SELECT * INTO c FROM customers WHERE shop_id = p_shop AND lower(email) = lower(p_email);
        ELSIF v_lookup = 'phone' THEN
            SELECT * INTO c FROM customers WHERE shop_id = p_shop AND phone = p_phone;
        ELSE
            SELECT * INTO c FROM customers WHERE shop_id = p_shop AND push_token = p_push_token;
        END IF;
        EXIT WHEN c.customer_id IS NOT NULL;
    END LOOP;
    IF c.customer_id IS NULL THEN
        RAISE EXCEPTION 'customer neither inserted nor found';
    END IF;

    -- A new customer gets every detail given; an existing one only those it
    -- lacks, and only with p_fill_existing (the storefront never changes an
    -- existing customer or their consent). A contact another customer holds
    -- is left out; losing a race for one (unique violation) keeps the details.
    IF (v_customer_created OR p_fill_existing) AND (
            (c.email IS NULL AND p_email IS NOT NULL) OR (c.phone IS NULL AND p_phone IS NOT NULL)
            OR (c.push_token IS NULL AND p_push_token IS NOT NULL) OR (c.name IS NULL AND p_name IS NOT NULL)
            OR (c.accepts_marketing IS NULL AND p_accepts_marketing IS NOT NULL)
            OR (c.locale IS NULL AND p_locale IS NOT NULL) OR (c.country_code IS NULL AND p_country IS NOT NULL)) THEN
        BEGIN
            PERFORM customer_fill(p_shop, c.customer_id, p_email, p_phone, p_push_token,
                                  p_name, p_accepts_marketing, p_locale, p_country);
        EXCEPTION WHEN unique_violation THEN
            PERFORM customer_fill(p_shop, c.customer_id, NULL, NULL, NULL,
                                  p_name, p_accepts_marketing, p_locale, p_country);
        END;
    END IF;

    -- The partial unique index signups_open is the arbiter: concurrent identical
    -- creates insert once, the others find that row. The open row met may be
    -- alerted or deleted before we read it: then insert again.
    FOR attempt IN 1..3 LOOP
        INSERT INTO signups (shop_id, signup_id, customer_id, variant_id, product_id, channel, contact,
                             quantity, source, shopify_market_id, optin_required)
        VALUES (p_shop, p_signup, c.customer_id, p_variant, v_product, p_channel, p_contact,
                p_quantity, p_source, p_market, p_optin_required)
        ON CONFLICT (shop_id, customer_id, variant_id, channel)
            WHERE last_notified_at IS NULL AND unsubscribed_at IS NULL DO NOTHING
        RETURNING signup_id INTO result_id;
        IF FOUND THEN
            created := true;
            RETURN;
        END IF;
        SELECT s.signup_id INTO result_id FROM signups s
        WHERE s.shop_id = p_shop AND s.customer_id = c.customer_id AND s.variant_id = p_variant
          AND s.channel = p_channel AND s.last_notified_at IS NULL AND s.unsubscribed_at IS NULL;
        IF FOUND THEN
            created := false;
            RETURN;
        END IF;
    END LOOP;
    RAISE EXCEPTION 'signup create kept racing with sends';
END
$function$;
