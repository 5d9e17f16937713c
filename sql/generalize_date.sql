-- pgmask.generalize_date(value date|timestamp, opts jsonb) → same type
-- The first day of the value's year, quarter or month (opts.to); a timestamp is truncated to
-- midnight; infinity stays. A date is not truncated with date_trunc: date_trunc(text, date)
-- would pick the timestamptz overload (session TimeZone), and a cast to timestamp fails for
-- dates after 294276 AD. timestamptz columns are converted to a fixed zone's wall clock by
-- the view (see src/transforms/time-zone.ts).
CREATE OR REPLACE FUNCTION pgmask.generalize_date(value date, opts jsonb)
  RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN NOT isfinite(value) THEN value
              ELSE make_date(extract(year FROM value)::int,
                             CASE opts ->> 'to' WHEN 'year' THEN 1
                                                WHEN 'quarter' THEN (extract(quarter FROM value)::int - 1) * 3 + 1
                                                WHEN 'month' THEN extract(month FROM value)::int END,
                             1) END;

CREATE OR REPLACE FUNCTION pgmask.generalize_date(value timestamp, opts jsonb)
  RETURNS timestamp
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN date_trunc(opts ->> 'to', value);
