-- pgmask.bucket(value numeric, opts jsonb) → numeric
-- The lower bound of the value's bin: origin + floor((value − origin)/width)·width, computed
-- exactly with div()/mod() (a numeric division would round first); the result's scale is
-- max(scale(width), scale(origin)). NaN and ±Infinity are returned unchanged; a NULL argument gives NULL.
CREATE OR REPLACE FUNCTION pgmask._bucket_floor(d numeric, width numeric, origin numeric)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (div(d, width) - CASE WHEN mod(d, width) < 0 THEN 1 ELSE 0 END) * width + origin;

CREATE OR REPLACE FUNCTION pgmask.bucket(value numeric, opts jsonb)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN opts IS NULL THEN NULL
              WHEN value = 'NaN' OR abs(value) = 'Infinity' THEN value
              ELSE pgmask._bucket_floor(value - coalesce((opts ->> 'origin')::numeric, 0),
                                        (opts ->> 'width')::numeric,
                                        coalesce((opts ->> 'origin')::numeric, 0)) END;

-- pgmask.bucket_label(value numeric, opts jsonb) → text
-- The label of the first of opts.ranges ({gte, gt, lt, lte, label}, bounds optional) that
-- holds the value, else opts.default, else NULL; NULL for NULL. NaN sorts above every number.
CREATE OR REPLACE FUNCTION pgmask.bucket_label(value numeric, opts jsonb)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN value IS NOT NULL THEN coalesce(
           (SELECT e.r ->> 'label'
              FROM jsonb_array_elements(opts -> 'ranges') WITH ORDINALITY AS e(r, i)
             WHERE (e.r -> 'gte' IS NULL OR value >= (e.r ->> 'gte')::numeric)
               AND (e.r -> 'gt' IS NULL OR value > (e.r ->> 'gt')::numeric)
               AND (e.r -> 'lt' IS NULL OR value < (e.r ->> 'lt')::numeric)
               AND (e.r -> 'lte' IS NULL OR value <= (e.r ->> 'lte')::numeric)
             ORDER BY e.i
             LIMIT 1),
           opts ->> 'default') END;
