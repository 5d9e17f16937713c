-- pgmask.bucket(value numeric, opts jsonb) → numeric
-- The lower bound of the value's bin: origin + floor((value − origin)/width)·width, computed
-- exactly with div()/mod() (a numeric division would round first); the result's scale is
-- max(scale(width), scale(origin)). opts.min (a number or numeric text), when given, is the
-- smallest result: the view passes the column type's minimum so the cast back cannot fail.
-- NaN and ±Infinity are returned unchanged; a NULL argument gives NULL.
CREATE OR REPLACE FUNCTION pgmask._bucket_floor(d numeric, width numeric, origin numeric)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (div(d, width) - CASE WHEN mod(d, width) < 0 THEN 1 ELSE 0 END) * width + origin;

CREATE OR REPLACE FUNCTION pgmask.bucket(value numeric, opts jsonb)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN opts IS NULL OR value IS NULL THEN NULL
              WHEN value = 'NaN' OR abs(value) = 'Infinity' THEN value
              ELSE greatest(pgmask._bucket_floor(value - coalesce((opts ->> 'origin')::numeric, 0),
                                                 (opts ->> 'width')::numeric,
                                                 coalesce((opts ->> 'origin')::numeric, 0)),
                            (opts ->> 'min')::numeric) END;

-- pgmask.bucket_label(value numeric, opts jsonb) → text
-- The label of the first of opts.ranges ({gte, gt, lt, lte, label}, bounds optional) that
-- holds the value, else opts.default, else NULL; NULL for NULL. NaN and Infinity sort above
-- every number (as in numeric), -Infinity below: they are compared as ±1e400, beyond any
-- float8 bound. One jsonpath query (exact numeric comparisons) keeps the call inlinable.
CREATE OR REPLACE FUNCTION pgmask.bucket_label(value numeric, opts jsonb)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN value IS NOT NULL THEN coalesce(
           jsonb_path_query_first(
             opts -> 'ranges',
             '$[*] ? ((!(exists(@.gte)) || $v >= @.gte) && (!(exists(@.gt)) || $v > @.gt) && (!(exists(@.lt)) || $v < @.lt) && (!(exists(@.lte)) || $v <= @.lte))',
             ('{"v":' || CASE WHEN value = 'NaN' OR value = 'Infinity' THEN '1e400' WHEN value = '-Infinity' THEN '-1e400' ELSE value::text END || '}')::jsonb
           ) ->> 'label',
           opts ->> 'default') END;
