-- pgmask.noise(value float8, row_key text, key bytea, opts jsonb) → float8
-- value + scale × factor, rounded to opts.decimals (half up) and clamped to [opts.min, opts.max];
-- scale = |value| × opts.relative, or opts.absolute; the factor (mean absolute value 1) comes
-- from HMAC-SHA256(key, 'noise' NUL column NUL row_key), so a row always shows the same noise.
-- Bit-identical to src/transforms/js/noise.ts: only float8 + − × ÷ and floor, in the same order
-- (ln() is not used: libm and V8 may differ in the last bit). NaN, ±Infinity, |value| ≥ 1e300
-- and, with a relative scale, 0 < |value| < 1e-270 are returned unchanged (float8 range).
-- Like the plv8 runtime's STRICT functions, any NULL argument gives NULL.

-- uniform: (2m+1)/2^51 − 2 with m = top 52 bits of bytes 0…6 (exact, on (−2, 2)).
-- laplace: ±((g+1)·ln 2 − ln(1+t)) with the sign from the top bit of byte 7, g = leading zero
-- bits of bytes 8…15, t = m/2^52; ln(1+t) = 2·atanh(s), s = t/(2+t), series to s^19.
CREATE OR REPLACE FUNCTION pgmask._noise_factor(h bytea, distribution text)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT CASE WHEN distribution = 'laplace'
           THEN bits.sgn * ((bits.g + 1)::float8 * float8 '0.6931471805599453'
                - 2 * ss.s * (((((((((((1::float8 / 19) * zz.z + 1::float8 / 17) * zz.z + 1::float8 / 15) * zz.z + 1::float8 / 13) * zz.z
                  + 1::float8 / 11) * zz.z + 1::float8 / 9) * zz.z + 1::float8 / 7) * zz.z + 1::float8 / 5) * zz.z + 1::float8 / 3) * zz.z + 1)))
           ELSE (2 * bits.m + 1)::float8 / float8 '2251799813685248' - 2 END
    FROM (SELECT ('x' || encode(substr(h, 1, 7), 'hex'))::bit(56)::bigint >> 4 AS m,
                 CASE WHEN get_byte(h, 7) >= 128 THEN float8 '-1' ELSE float8 '1' END AS sgn,
                 coalesce(nullif(position(B'1' IN ('x' || encode(substr(h, 9, 8), 'hex'))::bit(64)), 0) - 1, 64) AS g) AS bits
    CROSS JOIN LATERAL (SELECT bits.m::float8 / float8 '4503599627370496' AS t) AS tt
    CROSS JOIN LATERAL (SELECT tt.t / (2 + tt.t) AS s) AS ss
    CROSS JOIN LATERAL (SELECT ss.s * ss.s AS z) AS zz;
END;

-- floor(r·10^d + 0.5)/10^d; d < 0 rounds to tens, hundreds…; |r| ≥ 1e15 (and NULL d) left as is.
CREATE OR REPLACE FUNCTION pgmask._noise_round(r float8, decimals int)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN decimals IS NULL OR NOT abs(r) < float8 '1e15' THEN r
              WHEN decimals >= 0 THEN floor(r * ('1e' || decimals)::float8 + float8 '0.5') / ('1e' || decimals)::float8
              ELSE floor(r / ('1e' || -decimals)::float8 + float8 '0.5') * ('1e' || -decimals)::float8 END;

CREATE OR REPLACE FUNCTION pgmask._noise_clamp(r float8, lo float8, hi float8)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN r < lo THEN lo WHEN r > hi THEN hi ELSE r END;

CREATE OR REPLACE FUNCTION pgmask.noise(value float8, row_key text, key bytea, opts jsonb)
  RETURNS float8
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines an SQL function into the
  -- view only when the body is no more volatile than the declaration (docs/performance in README)
  RETURN CASE WHEN row_key IS NULL OR key IS NULL OR opts IS NULL THEN NULL
              WHEN NOT abs(value) < float8 '1e300'
                OR (opts ->> 'relative' IS NOT NULL AND value <> 0 AND abs(value) < float8 '1e-270')
              THEN value
              ELSE pgmask._noise_clamp(
                     pgmask._noise_round(
                       value + CASE WHEN opts ->> 'relative' IS NOT NULL THEN abs(value) * (opts ->> 'relative')::float8
                                    ELSE (opts ->> 'absolute')::float8 END
                             * pgmask._noise_factor(
                                 hmac('\x6e6f69736500'::bytea || convert_to(opts ->> 'column', 'UTF8') || '\x00'::bytea || convert_to(row_key, 'UTF8'), key, 'sha256'),
                                 opts ->> 'distribution'),
                       (opts ->> 'decimals')::int),
                     (opts ->> 'min')::float8,
                     (opts ->> 'max')::float8) END;
