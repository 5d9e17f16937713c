-- pgmask.shift_date_days(subject text, key bytea, opts jsonb) → int4
-- The subject's date offset in days: ±1…max_days, never 0; with keep_weekday, whole weeks
-- (±7…7·floor(max_days/7)). n = first 4 bytes of HMAC-SHA256(key, 'shift_date' NUL UTF-8(subject))
-- as an unsigned integer; k = n mod 2·steps; k < steps gives −(k+1) steps, else k−steps+1.
-- The masked view adds the offset to the value in SQL (date + int, timestamp + make_interval),
-- so date arithmetic is PostgreSQL's own under both runtimes. A NULL argument gives NULL.
-- The 'shift_date' label keeps the offset independent of the subject's pseudonym (HMAC(key, subject)).
--
-- Speed: the k → offset table is built by _shift_date_offsets, which the planner evaluates
-- once per query when opts is a constant (as in a view), and the digest is used once, so the
-- whole call inlines into the view as one expression with one HMAC per row.
CREATE OR REPLACE FUNCTION pgmask._shift_date_offsets(max_days int, keep_weekday boolean)
  RETURNS int[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ARRAY(SELECT s.unit * CASE WHEN k.k < s.steps THEN -(k.k + 1) ELSE k.k - s.steps + 1 END
                 FROM (SELECT CASE WHEN keep_weekday THEN 7 ELSE 1 END AS unit,
                              max_days / CASE WHEN keep_weekday THEN 7 ELSE 1 END AS steps) AS s,
                      generate_series(0, 2 * s.steps - 1) AS k(k)
                ORDER BY k.k);

CREATE OR REPLACE FUNCTION pgmask._shift_date_pick(n bigint, offsets int[])
  RETURNS int
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN offsets[1 + (n % array_length(offsets, 1))::int];

CREATE OR REPLACE FUNCTION pgmask.shift_date_days(subject text, key bytea, opts jsonb)
  RETURNS int
  LANGUAGE sql STABLE PARALLEL SAFE
  -- STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines a SQL function into the
  -- view only when its body is no more volatile than its declaration (as pgmask.pseudonymize)
  RETURN pgmask._shift_date_pick(
    ('x' || encode(substr(hmac('\x73686966745f6461746500'::bytea || convert_to(subject, 'UTF8'), key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint,
    pgmask._shift_date_offsets((opts ->> 'max_days')::int, coalesce((opts ->> 'keep_weekday')::boolean, false)));
