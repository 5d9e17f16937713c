-- pgmask's own schema. Applied once by `pgmask migrate`, recorded with its
-- sha256 in pgmask.schema_migrations; never edit this file after a release
-- (append a new numbered file instead): an applied migration whose text
-- changed is refused.

-- Transforms live in pgmask; views call them with the querying role's EXECUTE
-- rights, so every role needs USAGE (the functions read no secret themselves).
CREATE SCHEMA IF NOT EXISTS pgmask;
GRANT USAGE ON SCHEMA pgmask TO PUBLIC;

-- A plain CREATE, not IF NOT EXISTS: a pgmask_private made by someone else
-- would be owned by them, and its owner could read every key.
CREATE SCHEMA pgmask_private;
REVOKE ALL ON SCHEMA pgmask_private FROM PUBLIC;
COMMENT ON SCHEMA pgmask_private IS 'pgmask keys: readable only by pgmask_owner (the owner of the masked views)';

-- Roles are cluster-wide: two databases of one cluster may run this at the same
-- time, and the loser of that race gets unique_violation, not duplicate_object.
-- The existence check first, because CREATE ROLE checks CREATEROLE before it
-- checks whether the role exists.
DO $pgmask$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgmask_owner') THEN
    CREATE ROLE pgmask_owner NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$pgmask$;

CREATE TABLE pgmask_private.keys (
  name text PRIMARY KEY,
  key bytea NOT NULL CHECK (pg_catalog.length(key) >= 32),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- explicit even though new tables grant PUBLIC nothing: ALTER DEFAULT PRIVILEGES may say otherwise
REVOKE ALL ON pgmask_private.keys FROM PUBLIC;
GRANT USAGE ON SCHEMA pgmask_private TO pgmask_owner;
GRANT SELECT ON pgmask_private.keys TO pgmask_owner;
COMMENT ON TABLE pgmask_private.keys IS 'pgmask keys, generated inside the database; views reach them through a scalar subquery';

-- One row per applied policy migration; `pgmask migrate` compares the newest
-- row with the migration it is about to run, so re-running is a no-op.
CREATE TABLE pgmask.applied_policies (
  id bigserial PRIMARY KEY,
  policy_hash text NOT NULL,
  sql_sha256 text NOT NULL,
  pgmask_version text NOT NULL,
  masked_schema text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  applied_by text NOT NULL DEFAULT CURRENT_USER
);
REVOKE ALL ON pgmask.applied_policies FROM PUBLIC;
REVOKE ALL ON SEQUENCE pgmask.applied_policies_id_seq FROM PUBLIC;
COMMENT ON TABLE pgmask.applied_policies IS 'policy migrations applied by pgmask migrate (newest row = current policy)';
