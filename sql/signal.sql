-- pgmask.signal_noise(value float8[], identity text, key bytea, opts jsonb) → float8[]
-- Keyed noise scaled to the signal's own RMS: noise RMS = opts.ratio × signal RMS, where
-- ratio = 10^(−snr_db/20) is computed when the migration is generated. Bit-identical to
-- src/transforms/js/signal.ts (the construction is described there): exact integers, float8
-- + − × ÷ and sqrt, summed in index order. The order is the plan's, not an ORDER BY (four sorts
-- of every signal cost 70% of the time): each CTE is materialized from the one before in
-- unnest's order, joined only to one-row CTEs (a nested loop keeps the outer order), and
-- aggregated by a plain scan, so sum (float8pl) and string_agg see the samples in index order.
-- The conformance vectors check the bits against the JavaScript on every server.
-- NULL, NaN, ±Infinity and |x| ≥ 1e150 samples are returned unchanged and left out of the
-- sums; samples below 1e-150 get noise but add nothing to the energy (their square would
-- underflow, an error in PostgreSQL); a signal of energy below 1e-280 is returned unchanged.
-- The result is one-dimensional from 1 (the view puts it back into the column's shape).
-- A SQL-standard body: hmac, encrypt_iv (pgcrypto) and sha256 are bound when it is created,
-- so a caller's search_path cannot redirect them.
-- Every CTE is MATERIALIZED: inlined, the keystream would be recomputed for every sample.
CREATE OR REPLACE FUNCTION pgmask.signal_noise(value float8[], identity text, key bytea, opts jsonb)
  RETURNS float8[]
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  WITH x AS MATERIALIZED (
    SELECT u.v, u.i::int AS i, (u.v IS NOT NULL AND abs(u.v) < float8 '1e150') AS noisy FROM unnest(value) WITH ORDINALITY AS u(v, i)
  ), seed AS MATERIALIZED (
    SELECT hmac('\x7369676e616c5f6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea || convert_to(identity, 'UTF8') || '\x00'::bytea
      || sha256(coalesce((SELECT string_agg(float8send(x.v), ''::bytea) FROM x), ''::bytea)), key, 'sha256') AS h
  ), stream AS MATERIALIZED (
    SELECT encrypt_iv(decode(repeat('00', 16 * ((cardinality(value) + 1) / 2)), 'hex'), substr(seed.h, 1, 16), substr(seed.h, 17, 16), 'aes-cbc/pad:none') AS s FROM seed
  ), n AS MATERIALIZED (
    SELECT x.i, x.v, x.noisy,
      ((get_byte(stream.s, 8 * x.i - 8) * 256 + get_byte(stream.s, 8 * x.i - 7))
        + (get_byte(stream.s, 8 * x.i - 6) * 256 + get_byte(stream.s, 8 * x.i - 5))
        + (get_byte(stream.s, 8 * x.i - 4) * 256 + get_byte(stream.s, 8 * x.i - 3))
        + (get_byte(stream.s, 8 * x.i - 2) * 256 + get_byte(stream.s, 8 * x.i - 1)) - 131070)::float8 / float8 '65536' AS r
    FROM x, stream
  ), sums AS MATERIALIZED (
    SELECT sum(CASE WHEN n.noisy AND abs(n.v) >= float8 '1e-150' THEN n.v * n.v ELSE float8 '0' END) AS e,
           sum(CASE WHEN n.noisy THEN n.r * n.r ELSE float8 '0' END) AS ne
    FROM n
  ), scale AS MATERIALIZED (
    SELECT CASE WHEN sums.e >= float8 '1e-280' AND sums.ne > 0 THEN (opts ->> 'ratio')::float8 * sqrt(sums.e / sums.ne) END AS k FROM sums
  )
  SELECT coalesce(array_agg(CASE WHEN n.noisy AND scale.k IS NOT NULL THEN n.v + scale.k * n.r ELSE n.v END), '{}'::float8[]) FROM n, scale;
END;
