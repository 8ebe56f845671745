-- Creates are coalesced: concurrent ones run as one statement,
-- sql/functions/signup_create_many.sql, which replaces the one-at-a-time
-- signup_create (its file is gone; this drops the function it left behind).
DROP FUNCTION IF EXISTS signup_create(uuid, uuid, uuid, bigint, bigint, bigint, text, text, text, text, text,
    text, text, text, text, boolean, text, text, boolean, text, text, integer, text, bigint, boolean);
