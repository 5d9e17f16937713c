-- pgmask.reveal: an honest broker turns encrypt tokens back into values (issue 15).
--
-- SECURITY DEFINER so that it can read pgmask_private.keys for its caller, with the
-- path pinned (pg_catalog first, pg_temp last: nothing a caller creates can stand in for
-- a name used here). EXECUTE belongs to nobody but its owner here; the policy migration
-- makes pgmask_owner the owner and grants EXECUTE to the policy's `brokers:` roles only.
-- Every call adds one row to pgmask.reveal_log, written here, so a broker cannot reveal
-- without leaving it: who (session user and the role set by SET ROLE), when, the key,
-- the versions used, how many tokens and how many revealed, and application_name.
--
-- An encrypt token (`v<version>.…`) is decrypted with that version of the key and its tag
-- checked (NULL if it does not verify). Any other text is taken as a format-preserving
-- token, which names no version: fpe_version, or the newest version of the key.
-- pgmask.decrypt, decrypt_fpe and token_version are the runtime's (sql or plv8).
CREATE FUNCTION pgmask.reveal(tokens text[], key_name text, fpe_version int4 DEFAULT NULL)
  RETURNS text[]
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  newest int4;
  revealed text[] := '{}';
  versions int4[] := '{}';
  hits int4 := 0;
  token text;
  named_version int4;
  use_version int4;
  key_bytes bytea;
  plain text;
BEGIN
  IF tokens IS NULL OR key_name IS NULL THEN
    RAISE EXCEPTION 'pgmask.reveal needs tokens and a key name' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT max(k.version) INTO newest FROM pgmask_private.keys AS k WHERE k.name = key_name;
  IF newest IS NULL THEN
    RAISE EXCEPTION 'pgmask.reveal: this database has no key named %', quote_literal(key_name)
      USING ERRCODE = 'undefined_object', HINT = 'pgmask keys list shows the keys';
  END IF;
  FOREACH token IN ARRAY tokens LOOP
    plain := NULL;
    IF token IS NOT NULL THEN
      named_version := pgmask.token_version(token);
      use_version := coalesce(named_version, fpe_version, newest);
      key_bytes := NULL;
      SELECT k.key INTO key_bytes FROM pgmask_private.keys AS k WHERE k.name = key_name AND k.version = use_version;
      IF key_bytes IS NOT NULL THEN
        plain := CASE WHEN named_version IS NOT NULL THEN pgmask.decrypt(token, key_bytes) ELSE pgmask.decrypt_fpe(token, key_bytes) END;
      END IF;
      IF plain IS NOT NULL THEN
        hits := hits + 1;
        IF NOT use_version = ANY (versions) THEN
          versions := versions || use_version;
        END IF;
      END IF;
    END IF;
    revealed := revealed || plain;
  END LOOP;
  INSERT INTO pgmask.reveal_log (session_user_name, role_name, key_name, key_versions, token_count, revealed_count, application_name)
  VALUES (session_user, CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role') END,
          key_name, versions, cardinality(tokens), hits, nullif(current_setting('application_name'), ''));
  RETURN revealed;
END
$$;
REVOKE ALL ON FUNCTION pgmask.reveal(text[], text, int4) FROM PUBLIC;

-- One token: the same call (and one log row) for a broker's ad-hoc SELECT.
CREATE FUNCTION pgmask.reveal(token text, key_name text)
  RETURNS text
  LANGUAGE sql VOLATILE
  RETURN (pgmask.reveal(ARRAY[token], key_name))[1];
REVOKE ALL ON FUNCTION pgmask.reveal(text, text) FROM PUBLIC;

COMMENT ON FUNCTION pgmask.reveal(text[], text, int4) IS 'pgmask: reveal encrypt tokens (brokers only); every call is logged in pgmask.reveal_log';
COMMENT ON FUNCTION pgmask.reveal(text, text) IS 'pgmask: reveal one encrypt token (brokers only); logged in pgmask.reveal_log';
