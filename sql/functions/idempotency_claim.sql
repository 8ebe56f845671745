-- An Idempotency-Key claimed for one request (api_service/idempotency.py, and
-- each keyed member of a coalesced create in signup_create_many): the one owner
-- of the claim's rules. Outcomes:
--   claimed   this request owns the key: it stores its answer (or releases the key) after
--   stored    answered before: status_code and response_body are the answer to replay
--   mismatch  the key was used with a different request (a 422)
--   busy      the first request with the key is still being handled (a 409)
-- A key older than 24 hours is dropped and claimed again.
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION idempotency_claim(p_shop uuid, p_key text, p_hash bytea,
    OUT outcome text, OUT status_code integer, OUT response_body bytea)
LANGUAGE plpgsql
AS $function$
DECLARE
    k record;
BEGIN
    FOR attempt IN 1..2 LOOP
        INSERT INTO idempotency_keys (shop_id, key, request_hash) VALUES (p_shop, p_key, p_hash)
        ON CONFLICT (shop_id, key) DO NOTHING;
        IF FOUND THEN
            outcome := 'claimed';
            RETURN;
        END IF;
        SELECT i.request_hash, i.status_code, i.response_body, i.created_at < now() - interval '24 hours' AS expired
        INTO k FROM idempotency_keys i WHERE i.shop_id = p_shop AND i.key = p_key;
        IF NOT FOUND THEN
            CONTINUE;  -- released between the two statements: claim again
        END IF;
        IF k.expired THEN
            DELETE FROM idempotency_keys i
            WHERE i.shop_id = p_shop AND i.key = p_key AND i.created_at < now() - interval '24 hours';
            CONTINUE;
        END IF;
        IF k.request_hash <> p_hash THEN
            outcome := 'mismatch';
        ELSIF k.status_code IS NULL THEN
            outcome := 'busy';
        ELSE
            outcome := 'stored';
            status_code := k.status_code;
            response_body := k.response_body;
        END IF;
        RETURN;
    END LOOP;
    outcome := 'busy';
END
$function$;
