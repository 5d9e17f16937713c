-- pgmask.shift_date_days(subject text, key bytea, opts jsonb) → int4
-- The subject's date offset in days: ±1…max_days, never 0; with keep_weekday, whole weeks
-- (±7…7·floor(max_days/7)). n = first 4 bytes of HMAC-SHA256(key, 'shift_date' NUL UTF-8(subject))
-- as an unsigned integer; k = n mod 2·steps; k < steps gives −(k+1) steps, else k−steps+1.
-- The masked view adds the offset to the value in SQL (date + int, timestamp + make_interval),
-- so date arithmetic is PostgreSQL's own under both runtimes. A NULL subject gives NULL.
-- The 'shift_date' label keeps the offset independent of the subject's pseudonym (HMAC(key, subject)).
CREATE OR REPLACE FUNCTION pgmask._shift_date_pick(n bigint, unit int, max_days int)
  RETURNS int
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN unit * CASE WHEN n % (2 * (max_days / unit)) < max_days / unit
                     THEN -(n % (2 * (max_days / unit)) + 1)
                     ELSE n % (2 * (max_days / unit)) - max_days / unit + 1 END;

CREATE OR REPLACE FUNCTION pgmask.shift_date_days(subject text, key bytea, opts jsonb)
  RETURNS int
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines an SQL function into the
  -- view only when the body is no more volatile than the declaration (docs/performance in README)
  RETURN pgmask._shift_date_pick(
    ('x' || encode(substr(hmac('\x73686966745f6461746500'::bytea || convert_to(subject, 'UTF8'), key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint,
    CASE WHEN (opts ->> 'keep_weekday')::boolean THEN 7 ELSE 1 END,
    (opts ->> 'max_days')::int);
