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

-- JSON documents (the `json` rule, src/transforms/json.ts). A path is a jsonb array of
-- segments: a string is an object key, a number an array index, null every element of an array
-- ([*]). pgmask._json_locate lists, in document order, where a path leads in a document: each
-- value it reaches (fits), and each node where the document does not have the shape the path
-- expects (a key asked of a string, an element asked of an object: not fits). A key that is
-- absent leads nowhere. src/transforms/json-path.ts holds the same walk in TypeScript.
CREATE OR REPLACE FUNCTION pgmask._json_locate(doc jsonb, path jsonb)
  RETURNS TABLE (loc jsonb, v jsonb, fits boolean)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
  WITH RECURSIVE walk(node, loc, depth, ord, fits) AS (
    SELECT doc, '[]'::jsonb, 0, ARRAY[]::int[], true
    UNION ALL
    SELECT c.node, w.loc || c.seg, w.depth + 1, w.ord || c.idx, c.fits
    FROM walk w
    CROSS JOIN LATERAL (
      SELECT w.node -> (path ->> w.depth) AS node, jsonb_build_array(path -> w.depth) AS seg, 0 AS idx, true AS fits
        WHERE jsonb_typeof(path -> w.depth) = 'string' AND jsonb_typeof(w.node) = 'object' AND w.node ? (path ->> w.depth)
      UNION ALL
      SELECT w.node -> (path -> w.depth)::int, jsonb_build_array(path -> w.depth), 0, true
        WHERE jsonb_typeof(path -> w.depth) = 'number' AND jsonb_typeof(w.node) = 'array' AND (path -> w.depth)::int < jsonb_array_length(w.node)
      UNION ALL
      SELECT e.value, jsonb_build_array(e.ordinality - 1), (e.ordinality - 1)::int, true
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(path -> w.depth) = 'null' AND jsonb_typeof(w.node) = 'array' THEN w.node ELSE '[]'::jsonb END) WITH ORDINALITY AS e
      UNION ALL
      -- the document is not the shape the path expects here: this node is reported, the walk stops
      SELECT NULL, '[]'::jsonb, 0, false
        WHERE NOT (jsonb_typeof(path -> w.depth) = 'string' AND jsonb_typeof(w.node) = 'object')
          AND NOT (jsonb_typeof(path -> w.depth) IN ('number', 'null') AND jsonb_typeof(w.node) = 'array')
    ) AS c
    WHERE w.fits AND w.depth < jsonb_array_length(path)
  )
  SELECT walk.loc, walk.node, walk.fits FROM walk
   WHERE NOT walk.fits OR walk.depth = jsonb_array_length(path)
   ORDER BY walk.ord, walk.fits;
$body$;

-- the values a path reaches, in document order (what a path rule masks)
CREATE OR REPLACE FUNCTION pgmask._json_leaves(doc jsonb, path jsonb)
  RETURNS SETOF jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
  SELECT l.v FROM pgmask._json_locate(doc, path) AS l WHERE l.fits;
$body$;

-- node with v put at loc[depth:], creating objects for keys and arrays (padded with nulls) for indexes
CREATE OR REPLACE FUNCTION pgmask._json_put(node jsonb, loc jsonb, depth int, v jsonb)
  RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
  seg jsonb;
  idx int;
BEGIN
  IF depth >= jsonb_array_length(loc) THEN
    RETURN v;
  END IF;
  seg := loc -> depth;
  IF jsonb_typeof(seg) = 'string' THEN
    IF node IS NULL OR jsonb_typeof(node) <> 'object' THEN
      node := '{}'::jsonb;
    END IF;
    RETURN node || jsonb_build_object(seg #>> '{}', pgmask._json_put(node -> (seg #>> '{}'), loc, depth + 1, v));
  END IF;
  idx := seg::int;
  IF node IS NULL OR jsonb_typeof(node) <> 'array' THEN
    node := '[]'::jsonb;
  END IF;
  WHILE jsonb_array_length(node) < idx LOOP
    node := node || jsonb_build_array(NULL::jsonb);
  END LOOP;
  IF jsonb_array_length(node) = idx THEN
    RETURN node || jsonb_build_array(pgmask._json_put(NULL, loc, depth + 1, v));
  END IF;
  RETURN jsonb_set(node, ARRAY[idx::text], pgmask._json_put(node -> idx, loc, depth + 1, v));
END
$body$;

-- pgmask._json_assemble(doc, paths, masked, keep_unlisted): the masked document. paths is a
-- jsonb array of paths; masked[k] holds, for each value path k reaches (in _json_leaves order),
-- [masked value], or [] when the value is not of a type the path's rule takes. Without
-- keep_unlisted the result holds only the listed paths (an object or array document starts
-- empty; any other document gives NULL); with it, the document is kept and listed values
-- replaced. A value of the wrong type, and a node where the document is not the shape a path
-- expects, never pass: absent without keep_unlisted, JSON null with it.
CREATE OR REPLACE FUNCTION pgmask._json_assemble(doc jsonb, paths jsonb, masked jsonb, keep_unlisted boolean)
  RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
  result jsonb;
  k int;
  j int;
  m jsonb;
  l record;
BEGIN
  IF keep_unlisted THEN
    result := doc;
  ELSIF jsonb_typeof(doc) = 'object' THEN
    result := '{}'::jsonb;
  ELSIF jsonb_typeof(doc) = 'array' THEN
    result := '[]'::jsonb;
  ELSE
    RETURN NULL;
  END IF;
  FOR k IN 0 .. jsonb_array_length(paths) - 1 LOOP
    j := 0;
    FOR l IN SELECT x.loc, x.fits FROM pgmask._json_locate(doc, paths -> k) AS x LOOP
      IF l.fits THEN
        m := masked -> k -> j;
        j := j + 1;
      ELSE
        m := '[]'::jsonb;
      END IF;
      IF jsonb_array_length(m) = 1 THEN
        result := pgmask._json_put(result, l.loc, 0, m -> 0);
      ELSIF keep_unlisted THEN
        result := pgmask._json_put(result, l.loc, 0, 'null'::jsonb);
      END IF;
    END LOOP;
  END LOOP;
  RETURN result;
END
$body$;

-- a JSON string that is a date (YYYY-MM-DD) or a timestamp with an offset (ISO 8601), or NULL:
-- anything else (a partial date, a time zone name, an impossible day) is not the type a date
-- rule takes, and the rule does not see it
CREATE OR REPLACE FUNCTION pgmask._json_date(s text)
  RETURNS date
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
  IF s IS NULL OR s !~ '^\d{4}-\d{2}-\d{2}$' THEN
    RETURN NULL;
  END IF;
  RETURN make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int);
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$body$;

CREATE OR REPLACE FUNCTION pgmask._json_timestamptz(s text)
  RETURNS timestamptz
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
  m text[] := regexp_match(s, '^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d{1,6})?))?(Z|[+-]\d{2}:\d{2})$');
  off interval;
BEGIN
  IF m IS NULL THEN
    RETURN NULL;
  END IF;
  off := CASE WHEN m[7] = 'Z' THEN interval '0' ELSE (substr(m[7], 1, 1) || (substr(m[7], 2, 2)::int * 60 + substr(m[7], 5, 2)::int)::text || ' minutes')::interval END;
  RETURN make_timestamptz(m[1]::int, m[2]::int, m[3]::int, m[4]::int, m[5]::int, coalesce(m[6], '0')::float8, 'UTC') - off;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$body$;

-- a timestamptz as JSON text, in UTC with Z (to_jsonb would follow the session's TimeZone)
CREATE OR REPLACE FUNCTION pgmask._json_instant(t timestamptz)
  RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $body$
  SELECT CASE WHEN isfinite(t) THEN to_jsonb(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || rtrim(rtrim(to_char(t AT TIME ZONE 'UTC', '.US'), '0'), '.') || 'Z') END;
$body$;
