-- pgmask 0.1.0 migration
-- policy: examples/clinic.yaml (sha256 f6a3c5c6c1ae93517115a4b154ed835e31b7875c55a8663df6b876d35ef3f7a1)
-- runtime: sql; source schema: public; masked schema: masked
-- citus: every masked relation is a distributed (or reference) table, filled by INSERT … SELECT (docs/scale.md)
-- generated SQL: review it, do not edit it (pgmask generate reproduces it byte for byte)

SET LOCAL search_path = pg_catalog;
SET LOCAL client_min_messages = warning;

-- Citus (setting citus.multi_shard_modify_mode, SET LOCAL): every multi-shard command of this transaction
-- runs over one connection per node, as Citus requires when one transaction creates objects (schemas,
-- functions), distributes tables and writes a reference table
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';

CREATE EXTENSION IF NOT EXISTS "pgcrypto" WITH SCHEMA "public";

-- transform functions of the sql runtime
SET LOCAL search_path = pgmask, "public", pg_catalog, pg_temp;
-- (the sql runtime: sql/*.sql, installed here unchanged)
SET LOCAL search_path = pg_catalog;

INSERT INTO pgmask_private.keys (name, version, key)
SELECT 'default', 1, "public".gen_random_bytes(32)
WHERE NOT EXISTS (SELECT FROM pgmask_private.keys AS k WHERE k.name = 'default');

-- Citus (create_reference_table): the keys become one shard copied to every node, written with two-phase
-- commit, so a worker reads the key beside the rows it masks (no subplan ships it per query); the existing
-- rows are copied. pg_dist_partition lists the table once it is a reference table: then nothing is done
SELECT pg_catalog.create_reference_table('pgmask_private.keys')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p WHERE p.logicalrelid = 'pgmask_private.keys'::pg_catalog.regclass);

CREATE SCHEMA IF NOT EXISTS "masked";
REVOKE ALL ON SCHEMA "masked" FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA "masked" TO "pgmask_owner";

GRANT USAGE ON SCHEMA "public" TO "pgmask_owner";
GRANT SELECT ON "public"."patients", "public"."encounters", "public"."observations", "public"."notes" TO "pgmask_owner";

CREATE TABLE "masked"."patients" (
  "patient_id" text,
  "mrn" text,
  "first_name" text,
  "last_name" text,
  "birth_date" date,
  "zip" text,
  "sex" text,
  "weight_kg" numeric(5,1),
  "email" text,
  "phone" text,
  "research_opt_out" boolean
);
ALTER TABLE "masked"."patients" OWNER TO "pgmask_owner";
REVOKE ALL ON "masked"."patients" FROM PUBLIC;
COMMENT ON TABLE "masked"."patients" IS 'pgmask: masked table (Citus) of public.patients (policy sha256 f6a3c5c6c1ae9351; keys default v1)';
COMMENT ON COLUMN "masked"."patients"."patient_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."patients"."mrn" IS 'pgmask: { pseudonymize: { prefix: "MRN-" } }';
COMMENT ON COLUMN "masked"."patients"."first_name" IS 'pgmask: { fake: { kind: "first_name" } }';
COMMENT ON COLUMN "masked"."patients"."last_name" IS 'pgmask: redact';
COMMENT ON COLUMN "masked"."patients"."birth_date" IS 'pgmask: { shift_date: { max_days: 30 } }';
COMMENT ON COLUMN "masked"."patients"."zip" IS 'pgmask: zip3';
COMMENT ON COLUMN "masked"."patients"."sex" IS 'pgmask: keep';
COMMENT ON COLUMN "masked"."patients"."weight_kg" IS 'pgmask: { noise: { relative: 0.05, decimals: 1 } }';
COMMENT ON COLUMN "masked"."patients"."email" IS 'pgmask: { partial: { preset: "email" } }';
COMMENT ON COLUMN "masked"."patients"."phone" IS 'pgmask: { fake: { kind: "phone" } }';
COMMENT ON COLUMN "masked"."patients"."research_opt_out" IS 'pgmask: keep';
-- Citus: a unique index of a distributed table must include its distribution column; indexes that exist when
-- the table is distributed are created on every shard
CREATE UNIQUE INDEX "pgmask_7e9110fdd996_key" ON "masked"."patients" ("patient_id");
CREATE INDEX "pgmask_7e9110fdd996_1" ON "masked"."patients" ("mrn");
-- Citus (create_distributed_table, colocate_with): hash-distributed by the pseudonymized subject column; 'none'
-- starts the co-location group the other masked tables of this subject join
SELECT pg_catalog.create_distributed_table('"masked"."patients"', 'patient_id', colocate_with => 'none');

CREATE TABLE "masked"."encounters" (
  "encounter_id" bigint,
  "patient_id" text,
  "admitted_at" timestamp with time zone,
  "discharged_at" timestamp with time zone,
  "department" text,
  "reason" text
);
ALTER TABLE "masked"."encounters" OWNER TO "pgmask_owner";
REVOKE ALL ON "masked"."encounters" FROM PUBLIC;
COMMENT ON TABLE "masked"."encounters" IS 'pgmask: masked table (Citus) of public.encounters (policy sha256 f6a3c5c6c1ae9351; keys default v1)';
COMMENT ON COLUMN "masked"."encounters"."encounter_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."encounters"."patient_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."encounters"."admitted_at" IS 'pgmask: { shift_date: { max_days: 30 } }';
COMMENT ON COLUMN "masked"."encounters"."discharged_at" IS 'pgmask: { shift_date: { max_days: 30 } }';
COMMENT ON COLUMN "masked"."encounters"."department" IS 'pgmask: keep';
COMMENT ON COLUMN "masked"."encounters"."reason" IS 'pgmask: keep';
-- Citus: a unique index of a distributed table must include its distribution column; indexes that exist when
-- the table is distributed are created on every shard
CREATE UNIQUE INDEX "pgmask_d76a79df9ef3_key" ON "masked"."encounters" ("patient_id", "encounter_id");
CREATE INDEX "pgmask_d76a79df9ef3_1" ON "masked"."encounters" ("encounter_id");
CREATE INDEX "pgmask_d76a79df9ef3_2" ON "masked"."encounters" ("patient_id");
-- Citus (create_distributed_table, colocate_with): hash-distributed by the pseudonymized subject column; co-located with
-- masked.patients, so a join on the pseudonymized subject runs shard by shard on the workers
SELECT pg_catalog.create_distributed_table('"masked"."encounters"', 'patient_id', colocate_with => '"masked"."patients"');

CREATE TABLE "masked"."observations" (
  "observation_id" bigint,
  "encounter_id" bigint,
  "patient_id" text,
  "loinc_code" text,
  "value_num" double precision,
  "unit" text,
  "observed_at" timestamp with time zone
);
ALTER TABLE "masked"."observations" OWNER TO "pgmask_owner";
REVOKE ALL ON "masked"."observations" FROM PUBLIC;
COMMENT ON TABLE "masked"."observations" IS 'pgmask: masked table (Citus) of public.observations (policy sha256 f6a3c5c6c1ae9351; keys default v1)';
COMMENT ON COLUMN "masked"."observations"."observation_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."observations"."encounter_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."observations"."patient_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."observations"."loinc_code" IS 'pgmask: keep';
COMMENT ON COLUMN "masked"."observations"."value_num" IS 'pgmask: { noise: { relative: 0.02, decimals: 2 } }';
COMMENT ON COLUMN "masked"."observations"."unit" IS 'pgmask: keep';
COMMENT ON COLUMN "masked"."observations"."observed_at" IS 'pgmask: { shift_date: { max_days: 30 } }';
-- Citus: a unique index of a distributed table must include its distribution column; indexes that exist when
-- the table is distributed are created on every shard
CREATE UNIQUE INDEX "pgmask_79c3264bd331_key" ON "masked"."observations" ("patient_id", "observation_id");
CREATE INDEX "pgmask_79c3264bd331_1" ON "masked"."observations" ("observation_id");
CREATE INDEX "pgmask_79c3264bd331_2" ON "masked"."observations" ("encounter_id");
CREATE INDEX "pgmask_79c3264bd331_3" ON "masked"."observations" ("patient_id");
-- Citus (create_distributed_table, colocate_with): hash-distributed by the pseudonymized subject column; co-located with
-- masked.patients, so a join on the pseudonymized subject runs shard by shard on the workers
SELECT pg_catalog.create_distributed_table('"masked"."observations"', 'patient_id', colocate_with => '"masked"."patients"');

CREATE TABLE "masked"."notes" (
  "note_id" bigint,
  "encounter_id" bigint,
  "patient_id" text,
  "written_at" timestamp with time zone,
  "author" text,
  "body" text
);
ALTER TABLE "masked"."notes" OWNER TO "pgmask_owner";
REVOKE ALL ON "masked"."notes" FROM PUBLIC;
COMMENT ON TABLE "masked"."notes" IS 'pgmask: masked table (Citus) of public.notes (policy sha256 f6a3c5c6c1ae9351; keys default v1)';
COMMENT ON COLUMN "masked"."notes"."note_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."notes"."encounter_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."notes"."patient_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."notes"."written_at" IS 'pgmask: { shift_date: { max_days: 30 } }';
COMMENT ON COLUMN "masked"."notes"."author" IS 'pgmask: { fake: { kind: "full_name" } }';
COMMENT ON COLUMN "masked"."notes"."body" IS 'pgmask: redact';
-- Citus: a unique index of a distributed table must include its distribution column; indexes that exist when
-- the table is distributed are created on every shard
CREATE UNIQUE INDEX "pgmask_6114f641fe8e_key" ON "masked"."notes" ("patient_id", "note_id");
CREATE INDEX "pgmask_6114f641fe8e_1" ON "masked"."notes" ("note_id");
CREATE INDEX "pgmask_6114f641fe8e_2" ON "masked"."notes" ("encounter_id");
CREATE INDEX "pgmask_6114f641fe8e_3" ON "masked"."notes" ("patient_id");
-- Citus (create_distributed_table, colocate_with): hash-distributed by the pseudonymized subject column; co-located with
-- masked.patients, so a join on the pseudonymized subject runs shard by shard on the workers
SELECT pg_catalog.create_distributed_table('"masked"."notes"', 'patient_id', colocate_with => '"masked"."patients"');

-- Citus (INSERT … SELECT): the target is distributed by a pseudonym, not by the raw key, so Citus repartitions
-- the rows between workers (no ORDER BY, no LIMIT: those would pull every row to the coordinator); the shard
-- queries run as the role that runs this, which needs node-to-node access (pg_dist_authinfo or certificates)
SET LOCAL search_path = pg_catalog, "public";
INSERT INTO "masked"."patients" ("patient_id", "mrn", "first_name", "last_name", "birth_date", "zip", "sex", "weight_kg", "email", "phone", "research_opt_out")
SELECT
  CAST(pgmask.pseudonymize("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS text) AS "patient_id",
  CAST(pgmask.pseudonymize("src"."mrn"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"prefix":"MRN-"}'::jsonb) AS text) AS "mrn",
  CAST(pgmask.fake("src"."first_name"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"kind":"first_name"}'::jsonb) AS text) AS "first_name",
  CAST(NULL AS text) AS "last_name",
  CAST(("src"."birth_date" + pgmask.shift_date_days("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"max_days":30}'::jsonb)) AS date) AS "birth_date",
  CAST(pgmask._zip3("src"."zip"::text, '{036,059,063,102,203,556,692,790,821,823,830,831,878,879,884,890,893}'::text[]) AS text) AS "zip",
  CAST("src"."sex" AS text) AS "sex",
  CAST(greatest(least(floor("src"."weight_kg"::float8 * (1 + '0.05'::float8 * pgmask._noise_uniform_factor(pgmask._labelled_hmac('\x6e6f697365007765696768745f6b6700'::bytea, "src"."weight_kg"::text || ':' || coalesce("src"."patient_id"::text, ''), (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1)))) * '10'::float8 + '0.5'::float8) / '10'::float8, '9999.9'::float8), '-9999.9'::float8) AS numeric(5,1)) AS "weight_kg",
  CAST(pgmask.partial("src"."email"::text, '{"preset":"email"}'::jsonb) AS text) AS "email",
  CAST(pgmask.fake("src"."phone"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"kind":"phone"}'::jsonb) AS text) AS "phone",
  CAST("src"."research_opt_out" AS boolean) AS "research_opt_out"
FROM "public"."patients" AS src
WHERE (NOT research_opt_out);
SET LOCAL search_path = pg_catalog;
-- Citus (CLUSTER of a distributed table, propagated to every shard): each shard is rewritten sorted by the
-- masked key, so the order rows are stored and returned in tells nothing about raw keys or insertion order
CLUSTER "masked"."patients" USING "pgmask_7e9110fdd996_key";

-- Citus (INSERT … SELECT): the target is distributed by a pseudonym, not by the raw key, so Citus repartitions
-- the rows between workers (no ORDER BY, no LIMIT: those would pull every row to the coordinator); the shard
-- queries run as the role that runs this, which needs node-to-node access (pg_dist_authinfo or certificates)
SET LOCAL search_path = pg_catalog, "public";
INSERT INTO "masked"."encounters" ("encounter_id", "patient_id", "admitted_at", "discharged_at", "department", "reason")
SELECT
  CAST(pgmask.pseudonymize_int8("src"."encounter_id"::int8, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS bigint) AS "encounter_id",
  CAST(pgmask.pseudonymize("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS text) AS "patient_id",
  CAST(("src"."admitted_at" + make_interval(hours => 24 * pgmask.shift_date_days("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"max_days":30}'::jsonb))) AS timestamp with time zone) AS "admitted_at",
  CAST(("src"."discharged_at" + make_interval(hours => 24 * pgmask.shift_date_days("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"max_days":30}'::jsonb))) AS timestamp with time zone) AS "discharged_at",
  CAST("src"."department" AS text) AS "department",
  CAST("src"."reason" AS text) AS "reason"
FROM "public"."encounters" AS src
WHERE NOT EXISTS (SELECT 1 FROM "public"."patients" AS "pgmask_s1" WHERE "pgmask_s1"."patient_id" = "src"."patient_id" AND ((NOT research_opt_out) IS NOT TRUE));
SET LOCAL search_path = pg_catalog;
-- Citus (CLUSTER of a distributed table, propagated to every shard): each shard is rewritten sorted by the
-- masked key, so the order rows are stored and returned in tells nothing about raw keys or insertion order
CLUSTER "masked"."encounters" USING "pgmask_d76a79df9ef3_key";

-- Citus (INSERT … SELECT): the target is distributed by a pseudonym, not by the raw key, so Citus repartitions
-- the rows between workers (no ORDER BY, no LIMIT: those would pull every row to the coordinator); the shard
-- queries run as the role that runs this, which needs node-to-node access (pg_dist_authinfo or certificates)
SET LOCAL search_path = pg_catalog, "public";
INSERT INTO "masked"."observations" ("observation_id", "encounter_id", "patient_id", "loinc_code", "value_num", "unit", "observed_at")
SELECT
  CAST(pgmask.pseudonymize_int8("src"."observation_id"::int8, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS bigint) AS "observation_id",
  CAST(pgmask.pseudonymize_int8("src"."encounter_id"::int8, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS bigint) AS "encounter_id",
  CAST(pgmask.pseudonymize("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS text) AS "patient_id",
  CAST("src"."loinc_code" AS text) AS "loinc_code",
  CAST(CASE WHEN abs("src"."value_num"::float8) < '1e+280'::float8 AND ("src"."value_num"::float8 = 0 OR abs("src"."value_num"::float8) >= '1e-270'::float8) THEN floor("src"."value_num"::float8 * (1 + '0.02'::float8 * pgmask._noise_uniform_factor(pgmask._labelled_hmac('\x6e6f6973650076616c75655f6e756d00'::bytea, encode(float8send("src"."value_num"::float8), 'hex') || ':' || coalesce("src"."patient_id"::text, ''), (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1)))) * '100'::float8 + '0.5'::float8) / '100'::float8 ELSE "src"."value_num"::float8 END AS double precision) AS "value_num",
  CAST("src"."unit" AS text) AS "unit",
  CAST(("src"."observed_at" + make_interval(hours => 24 * pgmask.shift_date_days("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"max_days":30}'::jsonb))) AS timestamp with time zone) AS "observed_at"
FROM "public"."observations" AS src
WHERE NOT EXISTS (SELECT 1 FROM "public"."encounters" AS "pgmask_s1" WHERE "pgmask_s1"."patient_id" = "src"."patient_id" AND "pgmask_s1"."encounter_id" = "src"."encounter_id" AND (EXISTS (SELECT 1 FROM "public"."patients" AS "pgmask_s2" WHERE "pgmask_s2"."patient_id" = "pgmask_s1"."patient_id" AND ((NOT research_opt_out) IS NOT TRUE))))
  AND NOT EXISTS (SELECT 1 FROM "public"."patients" AS "pgmask_s1" WHERE "pgmask_s1"."patient_id" = "src"."patient_id" AND ((NOT research_opt_out) IS NOT TRUE));
SET LOCAL search_path = pg_catalog;
-- Citus (CLUSTER of a distributed table, propagated to every shard): each shard is rewritten sorted by the
-- masked key, so the order rows are stored and returned in tells nothing about raw keys or insertion order
CLUSTER "masked"."observations" USING "pgmask_79c3264bd331_key";

-- Citus (INSERT … SELECT): the target is distributed by a pseudonym, not by the raw key, so Citus repartitions
-- the rows between workers (no ORDER BY, no LIMIT: those would pull every row to the coordinator); the shard
-- queries run as the role that runs this, which needs node-to-node access (pg_dist_authinfo or certificates)
SET LOCAL search_path = pg_catalog, "public";
INSERT INTO "masked"."notes" ("note_id", "encounter_id", "patient_id", "written_at", "author", "body")
SELECT
  CAST(pgmask.pseudonymize_int8("src"."note_id"::int8, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS bigint) AS "note_id",
  CAST(pgmask.pseudonymize_int8("src"."encounter_id"::int8, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS bigint) AS "encounter_id",
  CAST(pgmask.pseudonymize("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS text) AS "patient_id",
  CAST(("src"."written_at" + make_interval(hours => 24 * pgmask.shift_date_days("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"max_days":30}'::jsonb))) AS timestamp with time zone) AS "written_at",
  CAST(pgmask.fake("src"."author"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"kind":"full_name"}'::jsonb) AS text) AS "author",
  CAST(NULL AS text) AS "body"
FROM "public"."notes" AS src
WHERE NOT EXISTS (SELECT 1 FROM "public"."encounters" AS "pgmask_s1" WHERE "pgmask_s1"."patient_id" = "src"."patient_id" AND "pgmask_s1"."encounter_id" = "src"."encounter_id" AND (EXISTS (SELECT 1 FROM "public"."patients" AS "pgmask_s2" WHERE "pgmask_s2"."patient_id" = "pgmask_s1"."patient_id" AND ((NOT research_opt_out) IS NOT TRUE))))
  AND NOT EXISTS (SELECT 1 FROM "public"."patients" AS "pgmask_s1" WHERE "pgmask_s1"."patient_id" = "src"."patient_id" AND ((NOT research_opt_out) IS NOT TRUE));
SET LOCAL search_path = pg_catalog;
-- Citus (CLUSTER of a distributed table, propagated to every shard): each shard is rewritten sorted by the
-- masked key, so the order rows are stored and returned in tells nothing about raw keys or insertion order
CLUSTER "masked"."notes" USING "pgmask_6114f641fe8e_key";

DO $pgmask$
BEGIN
  CREATE ROLE "analyst" NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$pgmask$;

GRANT USAGE ON SCHEMA "masked" TO "analyst";
GRANT SELECT ON "masked"."patients", "masked"."encounters", "masked"."observations", "masked"."notes" TO "analyst";
GRANT "analyst" TO "metabase_reader";
ALTER ROLE "metabase_reader" IN DATABASE "clinic" SET search_path = "masked";

-- honest brokers: pgmask.reveal reads keys as "pgmask_owner"; only the policy's brokers may call it or read its log
DO $pgmask$
DECLARE
  lent boolean := false;
BEGIN
  IF (SELECT bool_and(p.proowner = 'pgmask_owner'::pg_catalog.regrole) FROM pg_catalog.pg_proc AS p
       WHERE p.oid IN ('pgmask.reveal(text[], text, int4)'::pg_catalog.regprocedure, 'pgmask.reveal(text, text)'::pg_catalog.regprocedure)) THEN
    RETURN;
  END IF;
  IF NOT pg_catalog.has_schema_privilege('pgmask_owner', 'pgmask', 'CREATE') THEN
    GRANT CREATE ON SCHEMA pgmask TO "pgmask_owner";
    lent := true;
  END IF;
  ALTER FUNCTION pgmask.reveal(text[], text, int4) OWNER TO "pgmask_owner";
  ALTER FUNCTION pgmask.reveal(text, text) OWNER TO "pgmask_owner";
  IF lent THEN
    REVOKE CREATE ON SCHEMA pgmask FROM "pgmask_owner";
  END IF;
END
$pgmask$;
REVOKE ALL ON FUNCTION pgmask.reveal(text[], text, int4), pgmask.reveal(text, text) FROM PUBLIC;
DO $pgmask$
DECLARE
  grant_row record;
BEGIN
  FOR grant_row IN
    SELECT DISTINCT o.object, r.rolname
      FROM (SELECT 'FUNCTION pgmask.reveal(text[], text, int4)' AS object, p.proacl AS acl, p.proowner AS owner
              FROM pg_catalog.pg_proc AS p WHERE p.oid = 'pgmask.reveal(text[], text, int4)'::pg_catalog.regprocedure
            UNION ALL
            SELECT 'FUNCTION pgmask.reveal(text, text)', p.proacl, p.proowner
              FROM pg_catalog.pg_proc AS p WHERE p.oid = 'pgmask.reveal(text, text)'::pg_catalog.regprocedure
            UNION ALL
            SELECT 'TABLE pgmask.reveal_log', c.relacl, c.relowner
              FROM pg_catalog.pg_class AS c WHERE c.oid = 'pgmask.reveal_log'::pg_catalog.regclass) AS o
      CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) AS a
      JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.grantee <> o.owner AND NOT (o.object = 'TABLE pgmask.reveal_log' AND r.rolname = 'pgmask_owner')
  LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %I', grant_row.object, grant_row.rolname);
  END LOOP;
END
$pgmask$;
