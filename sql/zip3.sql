-- pgmask.zip3(value text, opts jsonb) → text
-- A US ZIP code (5 digits or ZIP+4 as 12345-6789, 123456789 or '12345 6789', spaces around
-- allowed) becomes its first three digits || '00', or '00000' when that ZIP3 is in
-- opts.restricted (default: the 2000 Census list of src/transforms/data/zip3-restricted.ts,
-- version census-2000). Anything else becomes NULL. Only ASCII digits and spaces count.
-- Like the plv8 runtime's STRICT functions, a NULL argument gives NULL.
--
-- pgmask._zip3(value text, restricted text[]) is the specialized form a masked view calls with
-- the list as a constant text[]: PostgreSQL inlines it, and `= ANY` of a constant array of 9
-- or more elements is a hash lookup, built once per query (a jsonb list would be searched per row).
CREATE OR REPLACE FUNCTION pgmask._zip3(value text, restricted text[])
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN value ~ '^ *[0-9]{5}(-?[0-9]{4}| [0-9]{4})? *$' THEN
           CASE WHEN left(ltrim(value, ' '), 3) = ANY (restricted) THEN '00000'
                ELSE left(ltrim(value, ' '), 3) || '00' END
         END;

-- a JSON array of strings as text[] (NULL for anything else); called with a constant, it is folded at plan time
CREATE OR REPLACE FUNCTION pgmask._jsonb_text_array(j jsonb)
  RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN jsonb_typeof(j) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(j)) END;

CREATE OR REPLACE FUNCTION pgmask.zip3(value text, opts jsonb)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN opts IS NOT NULL THEN
           pgmask._zip3(value, coalesce(pgmask._jsonb_text_array(opts -> 'restricted'),
                                        '{036,059,063,102,203,556,692,790,821,823,830,831,878,879,884,890,893}'::text[]))
         END;
