-- Key versions and the reveal audit log (issue 15: reversible tokens, rotation,
-- honest brokers). A database masked by pgmask 0.1 has one row per key name: it
-- becomes version 1 of that key.

-- Versions: `pgmask keys rotate` adds one; views name the version they were planned
-- with, so they switch on the next migrate, and older versions stay for reveal.
-- (DEFAULT 1 keeps an INSERT written for 0.1, without a version, working)
ALTER TABLE pgmask_private.keys ADD COLUMN version int4 NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE pgmask_private.keys DROP CONSTRAINT keys_pkey;
ALTER TABLE pgmask_private.keys ADD CONSTRAINT keys_pkey PRIMARY KEY (name, version);
COMMENT ON COLUMN pgmask_private.keys.version IS 'key version: views use the newest at their last migrate; older ones reveal older tokens';

-- Every call of pgmask.reveal adds a row, written by the function (SECURITY DEFINER,
-- owned by pgmask_owner). Brokers are granted SELECT by the policy migration and nothing
-- else: no UPDATE, DELETE or TRUNCATE, and they do not own the table.
CREATE TABLE pgmask.reveal_log (
  id bigserial PRIMARY KEY,
  revealed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  session_user_name text NOT NULL,
  role_name text NOT NULL,
  key_name text NOT NULL,
  key_versions int4[] NOT NULL,
  token_count int4 NOT NULL,
  revealed_count int4 NOT NULL,
  application_name text
);
REVOKE ALL ON pgmask.reveal_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE pgmask.reveal_log_id_seq FROM PUBLIC;
GRANT INSERT ON pgmask.reveal_log TO pgmask_owner;
GRANT USAGE ON SEQUENCE pgmask.reveal_log_id_seq TO pgmask_owner;
COMMENT ON TABLE pgmask.reveal_log IS 'pgmask.reveal calls: who (session user and role), when, which key and versions, how many tokens, application name';
