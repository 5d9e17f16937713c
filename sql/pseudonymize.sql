-- pgmask.pseudonymize(value text, key bytea, opts jsonb) → text
-- prefix || lowercase hex of the first `length` (default 10) bytes of HMAC-SHA256(key, UTF-8(value)).
-- Not declared STRICT so the planner can inline it into the view (a STRICT SQL function
-- containing COALESCE is never inlined); it returns NULL for a NULL value all the same.
-- The body is a SQL-standard RETURN: names are bound when it is created, so a
-- search_path set by the caller can not redirect hmac() or ||.
CREATE OR REPLACE FUNCTION pgmask.pseudonymize(value text, key bytea, opts jsonb)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN coalesce(opts ->> 'prefix', '')
      || encode(substr(hmac(convert_to(value, 'UTF8'), key, 'sha256'), 1, coalesce((opts ->> 'length')::int, 10)), 'hex');
