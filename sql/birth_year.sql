-- pgmask.birth_year(value int8, as_of date) → int8: HIPAA Safe Harbor birth years.
-- A birth year that allows an age of 90 or more on as_of (value <= year(as_of) - 90) becomes
-- year(as_of) - 90, so everyone 90 or older shares one top-coded year; later years are kept.
-- Years are astronomical (1 BC is year 0), as in the JavaScript runtime.
-- Like the plv8 runtime's STRICT functions, any NULL argument gives NULL.
CREATE OR REPLACE FUNCTION pgmask.birth_year(value int8, as_of date)
  RETURNS int8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN value IS NOT NULL AND as_of IS NOT NULL THEN
           greatest(value, (date_part('year', as_of) + CASE WHEN date_part('year', as_of) < 0 THEN 1 ELSE 0 END)::int8 - 90)
         END;
