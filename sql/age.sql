-- pgmask.age: HIPAA Safe Harbor aggregation of ages over 89.
-- pgmask.age(value numeric) → numeric: above 89 becomes 90 (NaN and Infinity too, as they
--   sort above every number); other values are returned as they came.
-- pgmask.age(value date, as_of date) → date and (value timestamp, as_of date) → timestamp:
--   someone 90 or older on as_of (born on or before as_of − 90 years) gets the birth date
--   as_of − 90 years, so every such person shows exactly 90; younger people keep theirs.
--   Timestamps are compared by calendar day and a moved one is midnight.
-- Like the plv8 runtime's STRICT functions, any NULL argument gives NULL.
CREATE OR REPLACE FUNCTION pgmask.age(value numeric)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN value > 89 THEN 90 ELSE value END;

CREATE OR REPLACE FUNCTION pgmask.age(value date, as_of date)
  RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN value <= (as_of - interval '90 years')::date THEN (as_of - interval '90 years')::date
              WHEN as_of IS NOT NULL THEN value END;

CREATE OR REPLACE FUNCTION pgmask.age(value timestamp, as_of date)
  RETURNS timestamp
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN value::date <= (as_of - interval '90 years')::date THEN as_of - interval '90 years'
              WHEN as_of IS NOT NULL THEN value END;
