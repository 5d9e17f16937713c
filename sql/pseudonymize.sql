-- pgmask.pseudonymize(value text, key bytea, opts jsonb) → text
-- prefix || lowercase hex of the first `length` (default 10) bytes of HMAC-SHA256(key, UTF-8(value)).
-- Not declared STRICT so the planner can inline it into the view (a STRICT SQL function
-- containing COALESCE is never inlined); it returns NULL for a NULL value all the same.
-- The body is a SQL-standard RETURN: names are bound when it is created, so a
-- search_path set by the caller can not redirect hmac() or ||.
CREATE OR REPLACE FUNCTION pgmask.pseudonymize(value text, key bytea, opts jsonb)
  RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines an SQL function into the
  -- view only when the body is no more volatile than the declaration (docs/performance in README)
  RETURN coalesce(opts ->> 'prefix', '')
      || encode(substr(hmac(convert_to(value, 'UTF8'), key, 'sha256'), 1, coalesce((opts ->> 'length')::int, 10)), 'hex');

-- Integer pseudonyms: a keyed permutation of the type's whole range (int2, int4, int8), so
-- the pseudonym has the same type, never collides and still joins. The value's two's
-- complement bit pattern (16, 32 or 64 bits) goes through a balanced 6-round Feistel
-- network whose halves have half_bits = 8, 16 or 32 bits. Because the domain is exactly
-- 2^(2·half_bits) values, the network is a permutation of the range itself: no
-- cycle-walking is needed (the walk bound is 0), so there is no loop to run away.
-- Round i: (L, R) → (R, L xor F_i(R)), F_i(R) = first 4 bytes (big-endian) of
-- HMAC-SHA256(key, int8send(((i·64 + half_bits) << 32) | R)), masked to half_bits.
-- The 8-byte message always has NUL bytes, so it can never equal the UTF-8 of a text
-- value (PostgreSQL text has no NUL): the domains of text and integer pseudonyms are apart.
-- src/transforms/js/pseudonymize.ts is the byte-identical twin.

-- F_i(R) before masking; tweak = (i·64 + half_bits) << 32.
CREATE OR REPLACE FUNCTION pgmask._feistel_f(key bytea, tweak int8, half int8)
  RETURNS int8
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ('x' || encode(substr(hmac(int8send(tweak | half), key, 'sha256'), 1, 4), 'hex'))::bit(32)::int8;

-- The permutation on the low 2·half_bits bits of state (a bit pattern, not a number).
-- PL/pgSQL, not a SQL-standard RETURN body like the rest: each round needs both halves
-- twice, and every pure-SQL form re-evaluates or runs the SQL-function executor per round
-- (measured on 100,000 int4 values: LATERAL chain 217 µs, nested SQL functions 46 µs,
-- this 16.5 µs per value, of which 13 µs are the six HMACs). It stays immune to a caller's
-- search_path: the path is pinned to pg_catalog for the call (so #, &, << are the built-in
-- operators) and the only other name, pgmask._feistel_f, is schema-qualified and itself a
-- RETURN body whose hmac() was bound at creation. The loop runs exactly six times.
-- `opts` is unused: it is passed so that the STRICT pseudonymize_int* wrappers reference
-- every parameter, which PostgreSQL requires before it inlines a STRICT SQL function.
CREATE OR REPLACE FUNCTION pgmask._feistel_permute(state int8, key bytea, half_bits int, opts jsonb)
  RETURNS int8
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  m int8 := (1::int8 << half_bits) - 1;
  l int8 := (state >> half_bits) & m;
  r int8 := state & m;
  t int8;
BEGIN
  FOR i IN 0..5 LOOP
    t := l # (pgmask._feistel_f(key, (i * 64 + half_bits)::int8 << 32, r) & m);
    l := r;
    r := t;
  END LOOP;
  RETURN (l << half_bits) | r;
END
$$;

-- pgmask.pseudonymize_int2/int4/int8(value, key bytea, opts jsonb) → same type.
-- STRICT like their plv8 twins (opts is unused; a NULL opts gives NULL in both runtimes);
-- the bodies are strict expressions using every parameter, so they are inlined into views.
-- (x # 2^(n-1)) - 2^(n-1) turns an n-bit pattern back into a signed n-bit integer.
CREATE OR REPLACE FUNCTION pgmask.pseudonymize_int2(value int2, key bytea, opts jsonb)
  RETURNS int2
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ((pgmask._feistel_permute(value::int8 & 65535, key, 8, opts) # 32768) - 32768)::int2;

CREATE OR REPLACE FUNCTION pgmask.pseudonymize_int4(value int4, key bytea, opts jsonb)
  RETURNS int4
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ((pgmask._feistel_permute(value::int8 & 4294967295, key, 16, opts) # 2147483648) - 2147483648)::int4;

CREATE OR REPLACE FUNCTION pgmask.pseudonymize_int8(value int8, key bytea, opts jsonb)
  RETURNS int8
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pgmask._feistel_permute(value, key, 32, opts);

-- pgmask.pseudonymize_uuid(value uuid, key bytea, opts jsonb) → uuid: the first 16 bytes of
-- HMAC-SHA256(key, 0x00 || the 16 uuid bytes) with the version-4 and RFC 4122 variant bits
-- set, so it looks like any random uuid. The 17-byte message keeps it apart from the
-- integer (8 bytes, NUL inside) and text (no NUL) domains.
CREATE OR REPLACE FUNCTION pgmask.pseudonymize_uuid(value uuid, key bytea, opts jsonb)
  RETURNS uuid
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN (
    SELECT encode(set_byte(set_byte(substr(d.h, 1, 16), 6, (get_byte(d.h, 6) & 15) | 64), 8, (get_byte(d.h, 8) & 63) | 128), 'hex')::uuid
    FROM (SELECT hmac('\x00'::bytea || uuid_send(value), key, 'sha256') AS h) d
  );
