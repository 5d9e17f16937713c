-- pgmask.partial(value text, opts jsonb) → text
-- Keeps the first opts.first and last opts.last characters (code points; default 0) and
-- replaces each other one by opts.mask (one character, default '*'); a value no longer than
-- first + last is masked whole. Presets: 'email' keeps the first character of the local part
-- and the domain (from the last @; no @ masks all); 'phone' masks every ASCII digit but the
-- last four (four or fewer: all) and keeps separators. A NULL argument gives NULL.
CREATE OR REPLACE FUNCTION pgmask._partial_keep(value text, first int, last int, mask text)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN char_length(value) <= first + last THEN repeat(mask, char_length(value))
              ELSE left(value, first) || repeat(mask, char_length(value) - first - last) || right(value, last) END;

CREATE OR REPLACE FUNCTION pgmask._partial_email(value text, mask text)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN strpos(reverse(value), '@') = 0 THEN repeat(mask, char_length(value))
              ELSE pgmask._partial_keep(left(value, char_length(value) - strpos(reverse(value), '@')), 1, 0, mask)
                   || right(value, strpos(reverse(value), '@')) END;

-- the tail from the fourth-last digit on is the leftmost match of "digit, then exactly three more digits to the end"
CREATE OR REPLACE FUNCTION pgmask._partial_phone(value text, mask text)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN char_length(value) - char_length(translate(value, '0123456789', '')) <= 4
              THEN translate(value, '0123456789', repeat(mask, 10))
              ELSE translate(left(value, char_length(value) - char_length(substring(value FROM '[0-9][^0-9]*[0-9][^0-9]*[0-9][^0-9]*[0-9][^0-9]*$'))),
                             '0123456789', repeat(mask, 10))
                   || substring(value FROM '[0-9][^0-9]*[0-9][^0-9]*[0-9][^0-9]*[0-9][^0-9]*$') END;

CREATE OR REPLACE FUNCTION pgmask.partial(value text, opts jsonb)
  RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN opts IS NOT NULL THEN CASE opts ->> 'preset'
           WHEN 'email' THEN pgmask._partial_email(value, coalesce(opts ->> 'mask', '*'))
           WHEN 'phone' THEN pgmask._partial_phone(value, coalesce(opts ->> 'mask', '*'))
           ELSE pgmask._partial_keep(value, coalesce((opts ->> 'first')::int, 0), coalesce((opts ->> 'last')::int, 0), coalesce(opts ->> 'mask', '*')) END END;
