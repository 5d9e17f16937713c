-- pgmask.encrypt / decrypt: deterministic authenticated encryption of text, and
-- pgmask.encrypt_fpe / decrypt_fpe: format-preserving encryption (NIST SP 800-38G FF1).
-- src/transforms/js/encrypt.ts is the byte-identical twin (plv8 runtime).
--
-- Subkeys (domain separation): HMAC-SHA256(named key, label) with the labels
-- 'pgmask/encrypt/siv/v1', 'pgmask/encrypt/aes/v1' and 'pgmask/encrypt/ff1/v1', so no
-- encrypt subkey equals a key that pseudonymize, shift_date or noise use.
--
-- encrypt (a synthetic-IV construction, Rogaway–Shrimpton's SIV with HMAC as the PRF):
--   SIV   = first 16 bytes of HMAC-SHA256(siv subkey, UTF-8(value))
--   body  = AES-256-CBC(aes subkey, IV = SIV, PKCS#7 padding) of UTF-8(value)
--   token = 'v' || key version || '.' || base64url-without-padding(SIV || body)
-- Equal values give equal tokens (joins work); the SIV is a PRF of the value, so distinct
-- values get unrelated IVs, and it is the tag that decrypt recomputes and compares.
-- Why not RFC 5297 AES-SIV: its S2V needs AES-CMAC (doubling in GF(2^128)) and AES-CTR,
-- which pgcrypto does not offer, so PL/pgSQL would run them block by block; HMAC-SHA256 and
-- AES-CBC are single pgcrypto calls (hmac, encrypt_iv), the same in every PostgreSQL.

-- base64url without padding (encode(…, 'base64') wraps lines every 76 characters)
CREATE OR REPLACE FUNCTION pgmask._base64url(data bytea)
  RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pg_catalog.translate(pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(data, 'base64'), E'\n', ''), '='), '+/', '-_');

CREATE OR REPLACE FUNCTION pgmask._from_base64url(data text)
  RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pg_catalog.decode(pg_catalog.translate(data, '-_', '+/') || pg_catalog.repeat('=', (4 - pg_catalog.length(data) % 4) % 4), 'base64');

-- pgmask.encrypt(value text, key bytea, key_version int4) → text
CREATE OR REPLACE FUNCTION pgmask.encrypt(value text, key bytea, key_version int4)
  RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN (
    SELECT 'v' || key_version::text || '.'
        || pgmask._base64url(s.iv || encrypt_iv(s.m, hmac('pgmask/encrypt/aes/v1'::bytea, key, 'sha256'), s.iv, 'aes-cbc'))
    FROM (SELECT m.m, substr(hmac(m.m, hmac('pgmask/encrypt/siv/v1'::bytea, key, 'sha256'), 'sha256'), 1, 16) AS iv
          FROM (SELECT convert_to(value, 'UTF8') AS m) m) s
  );

-- The key version a token names, or NULL when it is not an encrypt token.
CREATE OR REPLACE FUNCTION pgmask.token_version(token text)
  RETURNS int4
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN (regexp_match(token, '^v([0-9]{1,9})\.[A-Za-z0-9_-]+$'))[1]::int4;

-- pgmask.decrypt(token text, key bytea) → text: the value, or NULL when the token is
-- malformed or its tag does not verify under this key.
CREATE OR REPLACE FUNCTION pgmask.decrypt(token text, key bytea)
  RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  body text := (regexp_match(token, '^v[0-9]{1,9}\.([A-Za-z0-9_-]+)$'))[1];
  raw bytea;
  message bytea;
BEGIN
  IF body IS NULL OR length(body) % 4 = 1 THEN
    RETURN NULL;
  END IF;
  raw := pgmask._from_base64url(body);
  IF length(raw) < 32 OR length(raw) % 16 <> 0 THEN
    RETURN NULL;
  END IF;
  BEGIN
    message := pgmask._aes_cbc_decrypt(substr(raw, 17), pgmask._hmac_label(key, 'pgmask/encrypt/aes/v1'), substr(raw, 1, 16));
  EXCEPTION WHEN OTHERS THEN
    RETURN NULL; -- bad padding: not a token of this key
  END;
  IF substr(pgmask._hmac_sha256(message, pgmask._hmac_label(key, 'pgmask/encrypt/siv/v1')), 1, 16) <> substr(raw, 1, 16) THEN
    RETURN NULL;
  END IF;
  RETURN convert_from(message, 'UTF8');
END
$$;

-- pgcrypto calls bound when this file is installed (search_path then has pgcrypto's
-- schema), so the PL/pgSQL bodies above and below, which pin search_path to pg_catalog,
-- still reach them.
CREATE OR REPLACE FUNCTION pgmask._hmac_sha256(data bytea, key bytea)
  RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN hmac(data, key, 'sha256');

CREATE OR REPLACE FUNCTION pgmask._hmac_label(key bytea, label text)
  RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN hmac(convert_to(label, 'UTF8'), key, 'sha256');

CREATE OR REPLACE FUNCTION pgmask._aes_cbc_decrypt(data bytea, key bytea, iv bytea)
  RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN decrypt_iv(data, key, iv, 'aes-cbc');

-- One raw AES block operation chain: CBC with a zero IV and no padding (FF1's PRF is the
-- CBC-MAC, i.e. the last block) and ECB without padding. pgcrypto picks AES-128/192/256
-- from the key length (16/24/32 bytes).
CREATE OR REPLACE FUNCTION pgmask._aes_cbc_mac(data bytea, key bytea)
  RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN substr(encrypt(data, key, 'aes-cbc/pad:none'), length(data) - 15, 16);

CREATE OR REPLACE FUNCTION pgmask._aes_ecb(data bytea, key bytea)
  RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN encrypt(data, key, 'aes-ecb/pad:none');

-- FF1 (NIST SP 800-38G §5.1, Algorithms 7 and 8) on a numeral string x (each element in
-- 0 … radix-1) with AES key `key` and tweak `tweak`. Exactly ten rounds; every other loop
-- runs over the numerals or the bytes of one round's number, so it is bounded by the input
-- length (capped at 1000 numerals). Numbers are numeric: exact at any length (div(), never
-- `/`, whose numeric quotient is rounded to about 16 significant digits).
CREATE OR REPLACE FUNCTION pgmask._ff1(key bytea, tweak bytea, radix int4, x int4[], decrypting boolean)
  RETURNS int4[]
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int4 := coalesce(cardinality(x), 0);
  u int4 := n / 2;
  v int4 := n - u;
  t int4 := length(tweak);
  b int4 := 0;
  d int4;
  pow_u numeric := 1;
  pow_v numeric := 1;
  probe numeric;
  p bytea;
  head bytea;
  a int4[];
  bb int4[];
  c int4[];
  r bytea;
  s bytea;
  num numeric;
  y numeric;
  modulus numeric;
  m int4;
  i int4;
  k int4;
BEGIN
  IF radix < 2 OR radix > 65535 THEN
    RAISE EXCEPTION 'ff1: radix % is outside 2 … 65535', radix;
  END IF;
  IF n < 2 OR n > 1000 THEN
    RAISE EXCEPTION 'ff1: a numeral string of length % is outside 2 … 1000', n;
  END IF;
  FOR k IN 1..n LOOP
    IF x[k] < 0 OR x[k] >= radix THEN
      RAISE EXCEPTION 'ff1: numeral % is not below radix %', x[k], radix;
    END IF;
  END LOOP;
  FOR k IN 1..u LOOP pow_u := pow_u * radix; END LOOP;
  FOR k IN 1..v LOOP pow_v := pow_v * radix; END LOOP;
  -- b = bytes needed for radix^v − 1 (= ⌈⌈v·log2 radix⌉ / 8⌉, computed exactly)
  probe := pow_v - 1;
  WHILE probe > 0 LOOP
    probe := div(probe, 256);
    b := b + 1;
  END LOOP;
  d := 4 * ((b + 3) / 4) + 4;
  -- P = [1]1 [2]1 [1]1 [radix]3 [10]1 [u mod 256]1 [n]4 [t]4
  p := '\x010201'::bytea || substr(int4send(radix), 2, 3) || '\x0a'::bytea || substr(int4send(u % 256), 4, 1) || int4send(n) || int4send(t);
  -- Q's fixed head: T || [0]^((−t−b−1) mod 16)
  head := tweak || decode(repeat('00', (((-t - b - 1) % 16) + 16) % 16), 'hex');
  a := x[1:u];
  bb := x[u + 1:n];
  FOR step IN 0..9 LOOP
    i := CASE WHEN decrypting THEN 9 - step ELSE step END;
    -- NUM_radix of the half that feeds the round function (B when encrypting, A when decrypting)
    num := 0;
    IF decrypting THEN
      FOR k IN 1..cardinality(a) LOOP num := num * radix + a[k]; END LOOP;
    ELSE
      FOR k IN 1..cardinality(bb) LOOP num := num * radix + bb[k]; END LOOP;
    END IF;
    s := ''::bytea;
    FOR k IN 1..b LOOP
      s := set_byte('\x00'::bytea, 0, mod(num, 256)::int4) || s;
      num := div(num, 256);
    END LOOP;
    r := pgmask._aes_cbc_mac(p || head || set_byte('\x00'::bytea, 0, i) || s, key);
    -- S = R || CIPH(R xor [1]16) || CIPH(R xor [2]16) … (first d bytes)
    s := r;
    k := 1;
    WHILE length(s) < d LOOP
      s := s || pgmask._aes_ecb(set_byte(r, 15, get_byte(r, 15) # k), key);
      k := k + 1;
    END LOOP;
    y := 0;
    FOR k IN 0..d - 1 LOOP y := y * 256 + get_byte(s, k); END LOOP;
    m := CASE WHEN i % 2 = 0 THEN u ELSE v END;
    modulus := CASE WHEN i % 2 = 0 THEN pow_u ELSE pow_v END;
    num := 0;
    IF decrypting THEN
      FOR k IN 1..cardinality(bb) LOOP num := num * radix + bb[k]; END LOOP;
      num := mod(num - y, modulus);
    ELSE
      FOR k IN 1..cardinality(a) LOOP num := num * radix + a[k]; END LOOP;
      num := mod(num + y, modulus);
    END IF;
    IF num < 0 THEN
      num := num + modulus;
    END IF;
    c := array_fill(0, ARRAY[m]);
    FOR k IN REVERSE m..1 LOOP
      c[k] := mod(num, radix)::int4;
      num := div(num, radix);
    END LOOP;
    IF decrypting THEN
      bb := a;
      a := c;
    ELSE
      a := bb;
      bb := c;
    END IF;
  END LOOP;
  RETURN a || bb;
END
$$;

-- pgmask.ff1_encrypt / ff1_decrypt(key bytea, tweak bytea, radix int4, numerals text) → text:
-- FF1 on a numeral string written with 0-9a-z (radix ≤ 36), the form of the NIST samples.
CREATE OR REPLACE FUNCTION pgmask._numerals(text text, radix int4)
  RETURNS int4[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN (
    SELECT coalesce(array_agg(CASE WHEN strpos(substr('0123456789abcdefghijklmnopqrstuvwxyz', 1, radix), ch) > 0
                                   THEN strpos('0123456789abcdefghijklmnopqrstuvwxyz', ch) - 1
                                   ELSE -1 END ORDER BY ord), '{}')
    FROM regexp_split_to_table(lower(text), '') WITH ORDINALITY AS c(ch, ord)
  );

CREATE OR REPLACE FUNCTION pgmask._numeral_text(x int4[])
  RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN (SELECT string_agg(substr('0123456789abcdefghijklmnopqrstuvwxyz', d + 1, 1), '' ORDER BY ord) FROM unnest(x) WITH ORDINALITY AS u(d, ord));

CREATE OR REPLACE FUNCTION pgmask.ff1_encrypt(key bytea, tweak bytea, radix int4, numerals text)
  RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pgmask._numeral_text(pgmask._ff1(key, tweak, radix, pgmask._numerals(numerals, radix), false));

CREATE OR REPLACE FUNCTION pgmask.ff1_decrypt(key bytea, tweak bytea, radix int4, numerals text)
  RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pgmask._numeral_text(pgmask._ff1(key, tweak, radix, pgmask._numerals(numerals, radix), true));

-- Format-preserving mode. The shape of a value: each ASCII digit becomes '9', each ASCII
-- capital 'A', each ASCII small letter 'a', every other character is itself. The digits
-- (radix 10) and the case-folded letters (radix 26) are enciphered separately with FF1
-- under the ff1 subkey and tweak class || 0x00 || UTF-8(shape) (class 'D' or 'L'), then put
-- back where they were, in their case. A class with a single character (FF1 needs two) is
-- shifted by (first 4 bytes of HMAC-SHA256(ff1 subkey, tweak), big-endian) mod radix.
-- Only the shape shows through; decrypt_fpe is the same walk with FF1's decryption.
CREATE OR REPLACE FUNCTION pgmask._fpe_class(k bytea, class text, shape text, x int4[], radix int4, decrypting boolean)
  RETURNS int4[]
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tweak bytea := convert_to(class, 'UTF8') || '\x00'::bytea || convert_to(shape, 'UTF8');
  shift int4;
BEGIN
  IF cardinality(x) = 0 THEN
    RETURN x;
  ELSIF cardinality(x) >= 2 THEN
    RETURN pgmask._ff1(k, tweak, radix, x, decrypting);
  END IF;
  shift := (('x' || encode(substr(pgmask._hmac_sha256(tweak, k), 1, 4), 'hex'))::bit(32)::int8 % radix)::int4;
  RETURN ARRAY[((CASE WHEN decrypting THEN x[1] - shift ELSE x[1] + shift END) % radix + radix) % radix];
END
$$;

CREATE OR REPLACE FUNCTION pgmask._fpe(value text, key bytea, decrypting boolean)
  RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k bytea := pgmask._hmac_label(key, 'pgmask/encrypt/ff1/v1');
  chars text[] := regexp_split_to_array(value, '');
  shape text := translate(value, '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
                          '9999999999AAAAAAAAAAAAAAAAAAAAAAAAAAaaaaaaaaaaaaaaaaaaaaaaaaaa');
  digits int4[] := '{}';
  letters int4[] := '{}';
  out text := '';
  di int4 := 0;
  li int4 := 0;
  ch text;
BEGIN
  FOREACH ch IN ARRAY chars LOOP
    IF ch ~ '^[0-9]$' THEN
      digits := digits || (ascii(ch) - 48);
    ELSIF ch ~ '^[A-Za-z]$' THEN
      letters := letters || (ascii(lower(ch)) - 97);
    END IF;
  END LOOP;
  digits := pgmask._fpe_class(k, 'D', shape, digits, 10, decrypting);
  letters := pgmask._fpe_class(k, 'L', shape, letters, 26, decrypting);
  FOREACH ch IN ARRAY chars LOOP
    IF ch ~ '^[0-9]$' THEN
      di := di + 1;
      out := out || chr(48 + digits[di]);
    ELSIF ch ~ '^[A-Z]$' THEN
      li := li + 1;
      out := out || chr(65 + letters[li]);
    ELSIF ch ~ '^[a-z]$' THEN
      li := li + 1;
      out := out || chr(97 + letters[li]);
    ELSE
      out := out || ch;
    END IF;
  END LOOP;
  RETURN out;
END
$$;

-- pgmask.encrypt_fpe(value text, key bytea) → text, and its inverse pgmask.decrypt_fpe
CREATE OR REPLACE FUNCTION pgmask.encrypt_fpe(value text, key bytea)
  RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pgmask._fpe(value, key, false);

CREATE OR REPLACE FUNCTION pgmask.decrypt_fpe(token text, key bytea)
  RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pgmask._fpe(token, key, true);
