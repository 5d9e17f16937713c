-- The masking view a careful DBA writes by hand for the table of issue 12 (people: id, mrn,
-- birth_date, zip, sex, weight numeric(5,1)) with the rules of bench/dba-policy.ts, doing the
-- same work pgmask does: HMAC-SHA256 pseudonyms (the integer id through a keyed 6-round
-- Feistel permutation, which keeps it a bigint and unique, as pgmask's does), the birth date
-- shifted by an HMAC of the subject (±1…365 days, never 0), ZIP3 with the same validation
-- regular expression and restricted list, and noise keyed by subject, column and raw value
-- (one HMAC per row; the issue's expression, numeric arithmetic, round(…, 1)). Written from
-- the rules, not from pgmask's output; the key is read once per query (a cross join with a
-- one-row subquery).

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE SCHEMA hand_private;
REVOKE ALL ON SCHEMA hand_private FROM PUBLIC;
CREATE TABLE hand_private.mask_key (key bytea NOT NULL);
INSERT INTO hand_private.mask_key SELECT gen_random_bytes(32);

-- a keyed permutation of bigint: 6 Feistel rounds on 32-bit halves, F = first 4 bytes of HMAC(key, round || half)
CREATE FUNCTION hand_private.permute_bigint(v bigint, key bytea) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  l bigint := (v >> 32) & 4294967295;
  r bigint := v & 4294967295;
  t bigint;
BEGIN
  FOR i IN 0..5 LOOP
    t := l # (('x' || encode(substr(hmac(int8send(((i * 64 + 32)::bigint << 32) | r), key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint);
    l := r;
    r := t;
  END LOOP;
  RETURN (l << 32) | r;
END $$;

CREATE SCHEMA hand_masked;

CREATE VIEW hand_masked.people AS
SELECT hand_private.permute_bigint(p.id, k.key) AS id,
       'MRN-' || encode(substr(hmac(convert_to(p.mrn, 'UTF8'), k.key, 'sha256'), 1, 10), 'hex') AS mrn,
       p.birth_date + s.offsets[1 + (('x' || encode(substr(hmac(convert_to('shift_date:' || p.id::text, 'UTF8'), k.key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint % 730)::int] AS birth_date,
       CASE WHEN p.zip ~ '^ *[0-9]{5}(-?[0-9]{4}| [0-9]{4})? *$' THEN
         CASE WHEN left(ltrim(p.zip), 3) IN ('036', '059', '063', '102', '203', '556', '692', '790', '821',
                                             '823', '830', '831', '878', '879', '884', '890', '893')
              THEN '00000' ELSE left(ltrim(p.zip), 3) || '00' END
       END AS zip,
       p.sex,
       round(p.weight * (1 + 0.05 * (('x' || encode(substr(hmac(convert_to('weight:' || p.weight::text || ':' || p.id::text, 'UTF8'), k.key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint / 2147483648.0 - 1)), 1)::numeric(5,1) AS weight
  FROM public.people p
 CROSS JOIN (SELECT key FROM hand_private.mask_key) k
 CROSS JOIN (SELECT array_remove(array_agg(d ORDER BY d), 0) AS offsets FROM generate_series(-365, 365) d) s;
