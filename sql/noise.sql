-- pgmask.noise(value float8, row_key text, key bytea, opts jsonb) → float8
-- value + scale × factor, rounded to opts.decimals (half up) and clamped to [opts.min, opts.max];
-- scale = |value| × opts.relative, or opts.absolute; the factor (mean absolute value 1) comes
-- from h = HMAC-SHA256(key, 'noise' NUL column NUL row_key), so a row always shows the same noise.
-- Bit-identical to src/transforms/js/noise.ts: only float8 + − × ÷ and floor, in the same order
-- (ln() is not used: libm and V8 may differ in the last bit). NaN, ±Infinity, |value| ≥ 1e300
-- and, with a relative scale, 0 < |value| < 1e-270 are returned unchanged (float8 range).
-- A NULL argument gives NULL.
--
-- Why PL/pgSQL for the arithmetic: it uses the digest and the intermediate values several
-- times. A SQL function whose argument is used more than once is not inlined when that
-- argument holds the key subquery, and a non-inlined SQL function costs ~17 µs per call
-- (PostgreSQL 18) against ~3 µs for PL/pgSQL. The HMAC stays in the SQL-standard outer
-- function (names bound at creation); the PL/pgSQL part only uses pg_catalog, and its
-- search_path is pinned so a caller's path cannot redirect an operator and see the digest.
--
-- uniform: (2m+1)/2^51 − 2 with m = top 52 bits of bytes 0…6 (exact, on (−2, 2)).
-- laplace: ±((g+1)·ln 2 − ln(1+t)) with the sign from the top bit of byte 7, g = leading zero
-- bits of bytes 8…15, t = m/2^52; ln(1+t) = 2·atanh(s), s = t/(2+t), series to s^19.
CREATE OR REPLACE FUNCTION pgmask._noise_from_digest(value float8, h bytea, opts jsonb)
  RETURNS float8
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog
AS $body$
DECLARE
  relative float8 := (opts ->> 'relative')::float8;
  decimals int := (opts ->> 'decimals')::int;
  m bigint;
  g int;
  t float8;
  s float8;
  z float8;
  factor float8;
  p float8;
  r float8;
BEGIN
  IF NOT abs(value) < float8 '1e300' OR (relative IS NOT NULL AND value <> 0 AND abs(value) < float8 '1e-270') THEN
    RETURN value;
  END IF;
  m := ('x' || encode(substr(h, 1, 7), 'hex'))::bit(56)::bigint >> 4;
  IF opts ->> 'distribution' = 'laplace' THEN
    g := position(B'1' IN ('x' || encode(substr(h, 9, 8), 'hex'))::bit(64));
    g := CASE WHEN g = 0 THEN 64 ELSE g - 1 END;
    t := m::float8 / float8 '4503599627370496';
    s := t / (2 + t);
    z := s * s;
    factor := (g + 1)::float8 * float8 '0.6931471805599453'
      - 2 * s * (((((((((((1::float8 / 19) * z + 1::float8 / 17) * z + 1::float8 / 15) * z + 1::float8 / 13) * z
                   + 1::float8 / 11) * z + 1::float8 / 9) * z + 1::float8 / 7) * z + 1::float8 / 5) * z + 1::float8 / 3) * z + 1));
    IF get_byte(h, 7) >= 128 THEN
      factor := -factor;
    END IF;
  ELSE
    factor := (2 * m + 1)::float8 / float8 '2251799813685248' - 2;
  END IF;
  r := value + coalesce(abs(value) * relative, (opts ->> 'absolute')::float8) * factor;
  IF decimals IS NOT NULL AND abs(r) < float8 '1e15' THEN
    IF decimals >= 0 THEN
      p := ('1e' || decimals::text)::float8;
      r := floor(r * p + float8 '0.5') / p;
    ELSE
      p := ('1e' || (-decimals)::text)::float8;
      r := floor(r / p + float8 '0.5') * p;
    END IF;
  END IF;
  IF r < (opts ->> 'min')::float8 THEN
    r := (opts ->> 'min')::float8;
  END IF;
  IF r > (opts ->> 'max')::float8 THEN
    r := (opts ->> 'max')::float8;
  END IF;
  RETURN r;
END
$body$;

CREATE OR REPLACE FUNCTION pgmask.noise(value float8, row_key text, key bytea, opts jsonb)
  RETURNS float8
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines a SQL function into the
  -- view only when its body is no more volatile than its declaration (as pgmask.pseudonymize)
  RETURN pgmask._noise_from_digest(
    value,
    hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea || convert_to(row_key, 'UTF8'), key, 'sha256'),
    opts);
