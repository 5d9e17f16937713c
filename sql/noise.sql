-- pgmask.noise(value float8, row_key text, key bytea, opts jsonb) → float8 (uniform)
-- pgmask.noise_laplace(value float8, row_key text, key bytea, opts jsonb) → float8
-- value + scale × factor; scale = |value| × opts.relative, or opts.absolute; the factor (mean
-- absolute value 1) comes from h = HMAC-SHA256(key, 'noise' NUL opts.column NUL row_key), so a
-- row always shows the same noise. Rounding and clamping are done by the masked view in SQL.
-- Bit-identical to src/transforms/js/noise.ts: only float8 + − × ÷, in the same order (ln() is
-- not used: libm and V8 may differ in the last bit). NaN, ±Infinity, |value| ≥ 1e280 and,
-- with a relative scale, 0 < |value| < 1e-270 are returned unchanged (float8 range).
-- A NULL value or opts gives NULL; so does a NULL key or row key, except for those
-- unchanged values.
--
-- uniform: (2m+1)/2^51 − 2 with m = top 52 bits of bytes 0…6 (exact, on (−2, 2)); the digest
-- is used once, so the whole call inlines into the view (one HMAC per row).
-- laplace: ±((g+1)·ln 2 − ln(1+t)) with the sign from the top bit of byte 7, g = leading zero
-- bits of bytes 8…15, t = m/2^52; ln(1+t) = 2·atanh(s), s = t/(2+t), series to s^19. That
-- uses the digest and intermediate values many times, which a SQL function can only do
-- through a non-inlined call (~17 µs on PostgreSQL 18) — so it is PL/pgSQL (~3 µs), using
-- pg_catalog only, with its search_path pinned so a caller's path cannot redirect an operator.
-- pg_temp is named last: left out, PostgreSQL searches it FIRST for type names, and a caller's
-- CREATE DOMAIN pg_temp.float8 … CHECK (f(VALUE)) would receive every factor (verify: pg-temp).
CREATE OR REPLACE FUNCTION pgmask._noise_laplace_factor(h bytea)
  RETURNS float8
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
  g int := position(B'1' IN ('x' || encode(substr(h, 9, 8), 'hex'))::bit(64));
  t float8 := ((('x' || encode(substr(h, 1, 7), 'hex'))::bit(56)::bigint >> 4))::float8 / float8 '4503599627370496';
  s float8;
  z float8;
  factor float8;
BEGIN
  IF g = 0 THEN
    g := 64;
  ELSE
    g := g - 1;
  END IF;
  s := t / (2 + t);
  z := s * s;
  factor := (g + 1)::float8 * float8 '0.6931471805599453'
    - 2 * s * (((((((((((1::float8 / 19) * z + 1::float8 / 17) * z + 1::float8 / 15) * z + 1::float8 / 13) * z
                 + 1::float8 / 11) * z + 1::float8 / 9) * z + 1::float8 / 7) * z + 1::float8 / 5) * z + 1::float8 / 3) * z + 1));
  IF get_byte(h, 7) >= 128 THEN
    RETURN -factor;
  END IF;
  RETURN factor;
END
$body$;

CREATE OR REPLACE FUNCTION pgmask.noise(value float8, row_key text, key bytea, opts jsonb)
  RETURNS float8
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines a SQL function into the
  -- view only when its body is no more volatile than its declaration (as pgmask.pseudonymize)
  RETURN CASE WHEN opts IS NULL THEN NULL
              WHEN NOT abs(value) < float8 '1e280'
                OR (opts ->> 'relative' IS NOT NULL AND value <> 0 AND abs(value) < float8 '1e-270') THEN value
              ELSE value + coalesce(abs(value) * (opts ->> 'relative')::float8, (opts ->> 'absolute')::float8)
                         * ((2 * (('x' || encode(substr(hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea || convert_to(row_key, 'UTF8'), key, 'sha256'), 1, 7), 'hex'))::bit(56)::bigint >> 4) + 1)::float8
                            / float8 '2251799813685248' - 2) END;

CREATE OR REPLACE FUNCTION pgmask.noise_laplace(value float8, row_key text, key bytea, opts jsonb)
  RETURNS float8
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE: see pgmask.noise
  RETURN CASE WHEN opts IS NULL THEN NULL
              WHEN NOT abs(value) < float8 '1e280'
                OR (opts ->> 'relative' IS NOT NULL AND value <> 0 AND abs(value) < float8 '1e-270') THEN value
              ELSE value + coalesce(abs(value) * (opts ->> 'relative')::float8, (opts ->> 'absolute')::float8)
                         * pgmask._noise_laplace_factor(hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea || convert_to(row_key, 'UTF8'), key, 'sha256')) END;
