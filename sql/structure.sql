-- Structural helpers that masked views call under every runtime (installed with the sql
-- runtime and after the PLV8 functions): they move values around and never read a key, so
-- one SQL implementation serves both runtimes and their output is the same by construction.
-- Each pins search_path (pg_temp last: a caller's pg_temp type or operator cannot capture a call).

-- pgmask._array_shape(flat, shape): the elements of the one-dimensional array `flat`, in
-- order, placed into the dimensions and lower bounds of `shape` (an array rule builds flat
-- with ARRAY(SELECT … FROM unnest(shape) …), which forgets both). A one-dimensional array
-- starting at 1 and an empty array are returned as they are.
CREATE OR REPLACE FUNCTION pgmask._array_shape(flat anyarray, shape anycompatiblearray)
  RETURNS anyarray
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
  result ALIAS FOR $0;
  n int := array_ndims(shape);
  lo int[];
  hi int[];
BEGIN
  IF flat IS NULL OR shape IS NULL THEN
    RETURN NULL;
  END IF;
  IF n IS NULL OR (n = 1 AND array_lower(shape, 1) = 1) THEN
    RETURN flat;
  END IF;
  IF cardinality(flat) <> cardinality(shape) THEN
    RAISE EXCEPTION 'pgmask._array_shape: % elements for a shape of %', cardinality(flat), cardinality(shape);
  END IF;
  SELECT array_agg(array_lower(shape, d) ORDER BY d), array_agg(array_upper(shape, d) ORDER BY d) INTO lo, hi FROM generate_series(1, n) AS d;
  -- a slice assigned to a NULL array creates it with the slice's bounds, filled in storage order
  result := NULL;
  CASE n
    WHEN 1 THEN result[lo[1]:hi[1]] := flat;
    WHEN 2 THEN result[lo[1]:hi[1]][lo[2]:hi[2]] := flat;
    WHEN 3 THEN result[lo[1]:hi[1]][lo[2]:hi[2]][lo[3]:hi[3]] := flat;
    WHEN 4 THEN result[lo[1]:hi[1]][lo[2]:hi[2]][lo[3]:hi[3]][lo[4]:hi[4]] := flat;
    WHEN 5 THEN result[lo[1]:hi[1]][lo[2]:hi[2]][lo[3]:hi[3]][lo[4]:hi[4]][lo[5]:hi[5]] := flat;
    ELSE result[lo[1]:hi[1]][lo[2]:hi[2]][lo[3]:hi[3]][lo[4]:hi[4]][lo[5]:hi[5]][lo[6]:hi[6]] := flat;
  END CASE;
  RETURN result;
END
$body$;
