-- pgmask.noise(value float8, row_key text, key bytea, opts jsonb) → float8 (uniform)
-- pgmask.noise_laplace(value float8, row_key text, key bytea, opts jsonb) → float8
-- relative scale: value × (1 + opts.relative × factor); absolute: value + opts.absolute × factor.
-- The factor (mean absolute value 1) comes from h = HMAC-SHA256(key, 'noise' NUL opts.column NUL
-- row_key). row_key is the noise identity the masked view builds: the raw value's text, ':' and
-- the subject (src/transforms/noise.ts), so the same subject, column and raw value always get
-- the same noise, and averaging a subject's repeated rows gains nothing.
-- Rounding and clamping are done by the masked view in SQL.
-- Bit-identical to src/transforms/js/noise.ts: only float8 + − × ÷, in the same order (ln() is
-- not used: libm and V8 may differ in the last bit). NaN, ±Infinity, |value| ≥ 1e280 and, with
-- a relative scale, 0 < |value| < 1e-270 are returned unchanged (float8 range: PostgreSQL
-- raises an error on overflow and on underflow to 0). A NULL value or opts gives NULL; so does a NULL key or
-- row key, except for those unchanged values.
--
-- uniform: (2m+1)/2^51 − 2 with m = top 52 bits of bytes 0…6 (exact, on (−2, 2)).
-- laplace: ±((g+1)·ln 2 − ln(1+t)) with the sign from the top bit of byte 7, g = leading zero
-- bits of bytes 8…15, t = m/2^52; ln(1+t) = 2·atanh(s), s = t/(2+t), series to s^19. That
-- uses the digest and intermediate values many times, which a SQL function can only do
-- through a non-inlined call (~17 µs on PostgreSQL 18) — so it is PL/pgSQL (~3 µs), using
-- pg_catalog only, with its search_path pinned so a caller's path cannot redirect an operator.
-- pg_temp is named last: left out, PostgreSQL searches it FIRST for type names, and a caller's
-- CREATE DOMAIN pg_temp.float8 … CHECK (f(VALUE)) would receive every factor (verify: pg-temp).
--
-- A masked view does not call pgmask.noise: it calls the parts below with the parameters as
-- constants (src/transforms/noise.ts), so the label bytes are precomputed, no jsonb is read
-- per row and the value is converted to float8 once. pgmask.noise is the same arithmetic on
-- the jsonb options, for direct calls and the conformance vectors.

-- HMAC-SHA256(key, label || UTF-8(part)): label is a constant prefix of bytes ('noise' NUL column NUL)
CREATE OR REPLACE FUNCTION pgmask._labelled_hmac(label bytea, part text, key bytea)
  RETURNS bytea
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines a SQL function into the
  -- view only when its body is no more volatile than its declaration (as pgmask.pseudonymize)
  RETURN hmac(label || convert_to(part, 'UTF8'), key, 'sha256');

-- the uniform factor of a digest: (2m+1)/2^51 − 2, m = its top 52 bits of bytes 0…6
CREATE OR REPLACE FUNCTION pgmask._noise_uniform_factor(h bytea)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (2 * (('x' || encode(substr(h, 1, 7), 'hex'))::bit(56)::bigint >> 4) + 1)::float8 / float8 '2251799813685248' - 2;

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
  -- STABLE: see pgmask._labelled_hmac. The digest is written in both branches; only one runs.
  RETURN CASE WHEN opts IS NULL THEN NULL
              WHEN NOT abs(value) < float8 '1e280'
                OR (opts ->> 'relative' IS NOT NULL AND value <> 0 AND abs(value) < float8 '1e-270') THEN value
              WHEN opts ->> 'relative' IS NOT NULL
              THEN value * (1 + (opts ->> 'relative')::float8
                                * pgmask._noise_uniform_factor(pgmask._labelled_hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea, row_key, key)))
              ELSE value + (opts ->> 'absolute')::float8
                           * pgmask._noise_uniform_factor(pgmask._labelled_hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea, row_key, key)) END;

CREATE OR REPLACE FUNCTION pgmask.noise_laplace(value float8, row_key text, key bytea, opts jsonb)
  RETURNS float8
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE: see pgmask._labelled_hmac
  RETURN CASE WHEN opts IS NULL THEN NULL
              WHEN NOT abs(value) < float8 '1e280'
                OR (opts ->> 'relative' IS NOT NULL AND value <> 0 AND abs(value) < float8 '1e-270') THEN value
              WHEN opts ->> 'relative' IS NOT NULL
              THEN value * (1 + (opts ->> 'relative')::float8
                                * pgmask._noise_laplace_factor(pgmask._labelled_hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea, row_key, key)))
              ELSE value + (opts ->> 'absolute')::float8
                           * pgmask._noise_laplace_factor(pgmask._labelled_hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea, row_key, key)) END;
