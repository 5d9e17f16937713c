-- pgmask.zip3(value text, opts jsonb) → text
-- A US ZIP code (5 digits or ZIP+4 as 12345-6789, 123456789 or '12345 6789', spaces around
-- allowed) becomes its first three digits || '00', or '00000' when that ZIP3 is in
-- opts.restricted (default: the 2000 Census list of src/transforms/data/zip3-restricted.ts,
-- version census-2000). Anything else becomes NULL. Only ASCII digits and spaces count.
-- Like the plv8 runtime's STRICT functions, a NULL argument gives NULL.
CREATE OR REPLACE FUNCTION pgmask.zip3(value text, opts jsonb)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN opts IS NOT NULL AND value ~ '^ *[0-9]{5}(-?[0-9]{4}| [0-9]{4})? *$' THEN
           CASE WHEN coalesce(opts -> 'restricted', '["036","059","063","102","203","556","692","790","821","823","830","831","878","879","884","890","893"]'::jsonb) ? left(ltrim(value, ' '), 3)
                THEN '00000'
                ELSE left(ltrim(value, ' '), 3) || '00' END
         END;
