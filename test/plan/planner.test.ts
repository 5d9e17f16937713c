import { describe, it, expect } from 'vitest';
import type { Policy } from '../../src/policy/policy.ts';
import type { CatalogSnapshot, CatalogTable, CatalogColumn } from '../../src/catalog/catalog-snapshot.ts';
import { typeFamily } from '../../src/catalog/catalog-snapshot.ts';
import { registry } from '../../src/transforms/registry.ts';
import { planMigration, resolveRuntime } from '../../src/plan/planner.ts';
import { renderPlan, renderNode } from '../../src/plan/render.ts';
import { PgmaskError } from '../../src/errors.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { createHash } from 'node:crypto';

const col = (name: string, position: number, sqlType: string, typeName: string): CatalogColumn => ({
  name,
  position,
  sqlType,
  typeName,
  typeSchema: 'pg_catalog',
  family: typeFamily(typeName),
  nullable: true,
  comment: null,
});

const table = (name: string, columns: readonly CatalogColumn[], primaryKey: string[] | null = null, extra: Partial<CatalogTable> = {}): CatalogTable => ({
  schema: 'public',
  name,
  kind: 'table',
  owner: 'postgres',
  columns,
  primaryKey,
  foreignKeys: [],
  privileges: [],
  comment: null,
  estimatedRows: 0,
  ...extra,
});

const snapshot = (tables: CatalogTable[]): CatalogSnapshot => ({
  serverVersionNum: 180000,
  currentUser: 'postgres',
  isSuperuser: true,
  database: 'clinic',
  availableExtensions: ['pgcrypto'],
  installedExtensions: {},
  schemas: ['public'],
  roles: [{ name: 'metabase_reader', canLogin: true, superuser: false, memberOf: [] }],
  tables,
});

const policyYaml = (extra = '', unlisted = 'error', runtime = 'auto') => `version: 1
runtime: ${runtime}
unlisted_columns: ${unlisted}
roles:
  analyst:
    members: [metabase_reader]
tables:
  patients:
    filter: "NOT research_opt_out"
    columns:
      patient_id: pseudonymize
      mrn: { pseudonymize: { prefix: "MRN-" } }
      research_opt_out: keep
${extra}`;

const HASH = createHash('sha256').update(policyYaml()).digest('hex');
const policy = (text = policyYaml()): Policy => parsePolicy(text, 'pgmask.yaml', registry);

const patients = table(
  'patients',
  [col('patient_id', 1, 'text', 'text'), col('mrn', 2, 'character varying(40)', 'varchar'), col('research_opt_out', 3, 'boolean', 'bool')],
  ['patient_id'],
);

const plan = (p: Policy, snap: CatalogSnapshot) =>
  planMigration({ policy: p, snapshot: snap, registry, runtime: resolveRuntime(p, snap), runtimeSql: '-- runtime functions', pgmaskVersion: '9.9.9' });

describe('planner', () => {
  it('renders a masked view exactly', () => {
    const p = plan(policy(), snapshot([patients]));
    const view = p.nodes.find((n) => n.kind === 'CreateMaskedView')!;
    expect(renderNode(view).text).toBe(`SET LOCAL search_path = pg_catalog, "public";
CREATE OR REPLACE VIEW "masked"."patients" WITH (security_barrier) AS
SELECT
  CAST(pgmask.pseudonymize("src"."patient_id"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{}'::jsonb) AS text) AS "patient_id",
  CAST(pgmask.pseudonymize("src"."mrn"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1), '{"prefix":"MRN-"}'::jsonb) AS character varying(40)) AS "mrn",
  CAST("src"."research_opt_out" AS boolean) AS "research_opt_out"
FROM "public"."patients" AS src
WHERE (NOT research_opt_out)
ORDER BY pg_catalog.hashtextextended("src"."patient_id"::text, (SELECT ('x' || pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(pgmask_k.key || 'pgmask row order'::bytea), 1, 8), 'hex'))::bit(64)::int8 FROM (SELECT (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'default' AND k.version = 1) AS key) AS pgmask_k));
SET LOCAL search_path = pg_catalog;
ALTER VIEW "masked"."patients" OWNER TO "pgmask_owner";
REVOKE ALL ON "masked"."patients" FROM PUBLIC;
COMMENT ON VIEW "masked"."patients" IS 'pgmask: masked view of public.patients (policy sha256 ${HASH.slice(0, 16)})';
COMMENT ON COLUMN "masked"."patients"."patient_id" IS 'pgmask: pseudonymize';
COMMENT ON COLUMN "masked"."patients"."mrn" IS 'pgmask: { pseudonymize: { prefix: "MRN-" } }';
COMMENT ON COLUMN "masked"."patients"."research_opt_out" IS 'pgmask: keep';`);
  });

  it('renders roles, grants and the header; output is deterministic', () => {
    const sqlText = renderPlan(plan(policy(), snapshot([patients])));
    expect(sqlText).toBe(renderPlan(plan(policy(), snapshot([patients]))));
    expect(sqlText.startsWith(`-- pgmask 9.9.9 migration\n-- policy: pgmask.yaml (sha256 ${HASH})\n`)).toBe(true);
    expect(sqlText).toContain(`GRANT USAGE ON SCHEMA "masked" TO "analyst";
GRANT SELECT ON "masked"."patients" TO "analyst";
GRANT "analyst" TO "metabase_reader";
ALTER ROLE "metabase_reader" IN DATABASE "clinic" SET search_path = "masked";`);
    expect(sqlText).toContain(`INSERT INTO pgmask_private.keys (name, version, key)
SELECT 'default', 1, "pgmask".gen_random_bytes(32)
WHERE NOT EXISTS (SELECT FROM pgmask_private.keys AS k WHERE k.name = 'default');`);
    expect(sqlText).toContain('CREATE ROLE "analyst" NOLOGIN;');
    expect(sqlText).not.toMatch(/\bBEGIN;|\bCOMMIT;/);
  });

  it('refuses an unclassified column, a source table PUBLIC can read, and a login masking role — all at once', () => {
    const p = policy();
    const snap = {
      ...snapshot([
        table('patients', [...patients.columns, col('ssn', 4, 'text', 'text')], ['patient_id'], {
          privileges: [{ grantee: 'PUBLIC', privilege: 'SELECT', column: null }],
        }),
      ]),
      roles: [
        { name: 'analyst', canLogin: true, superuser: false, memberOf: [] },
        { name: 'metabase_reader', canLogin: true, superuser: false, memberOf: [] },
      ],
    };
    try {
      plan(p, snap);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PgmaskError);
      const codes = (e as PgmaskError).details.map((d) => d.code).sort();
      expect(codes).toEqual(['POLICY_LOGIN_MASKING_ROLE', 'POLICY_UNCLASSIFIED_COLUMN']);
      expect((e as PgmaskError).exitCode).toBe(3);
    }
  });

  it('refuses a source table that PUBLIC or a masking role can read', () => {
    const granted = table('patients', patients.columns, ['patient_id'], {
      privileges: [
        { grantee: 'PUBLIC', privilege: 'SELECT', column: null },
        { grantee: 'analyst', privilege: 'SELECT', column: 'mrn' },
        { grantee: 'someone_else', privilege: 'SELECT', column: null },
      ],
    });
    try {
      plan(policy(), snapshot([granted]));
      expect.unreachable();
    } catch (e) {
      const details = (e as PgmaskError).details;
      expect(details.map((d) => d.code)).toEqual(['SOURCE_GRANTED', 'SOURCE_GRANTED']);
      expect(details[1]!.message).toMatch(/analyst has SELECT on public\.patients \(column mrn\)/);
      expect(details[0]!.location?.line).toBe(8);
    }
  });

  it('redacts unlisted columns when the policy says so', () => {
    const snap = snapshot([table('patients', [...patients.columns, col('ssn', 4, 'text', 'text')], ['patient_id'])]);
    const view = plan(policy(policyYaml('', 'redact')), snap).nodes.find((n) => n.kind === 'CreateMaskedView')!;
    expect(renderNode(view).text).toContain(`CAST(NULL AS text) AS "ssn"`);
  });

  it('refuses pseudonymize on a column too short for the token', () => {
    const snap = snapshot([table('patients', [col('patient_id', 1, 'text', 'text'), col('mrn', 2, 'character varying(8)', 'varchar'), col('research_opt_out', 3, 'boolean', 'bool')])]);
    expect(() => plan(policy(), snap)).toThrow(/does not fit the database/);
  });

  it('drops a view whose column types changed, and views of tables the policy dropped', () => {
    const oldView = table('patients', [col('patient_id', 1, 'integer', 'int4')], null, { schema: 'masked', kind: 'view', comment: 'pgmask: x' });
    const stale = table('gone', [col('a', 1, 'text', 'text')], null, { schema: 'masked', kind: 'view', comment: 'pgmask: y' });
    const foreign = table('mine', [col('a', 1, 'text', 'text')], null, { schema: 'masked', kind: 'view', comment: null });
    const drops = plan(policy(), snapshot([patients, oldView, stale, foreign])).nodes.filter((n) => n.kind === 'DropView');
    expect(drops.map((d) => (d as { name: string }).name)).toEqual(['patients', 'gone']);
  });

  it('picks plv8 for auto only when the server offers it', () => {
    expect(resolveRuntime(policy(), snapshot([]))).toBe('sql');
    expect(resolveRuntime(policy(), { ...snapshot([]), availableExtensions: ['pgcrypto', 'plv8'] })).toBe('plv8');
    expect(() => resolveRuntime(policy(policyYaml('', 'error', 'plv8')), snapshot([]))).toThrow(/plv8/);
  });
});

describe('planner on the plv8 runtime', () => {
  it('revokes PLV8 from PUBLIC, the masking roles and their members, after installing the runtime', () => {
    const snap = { ...snapshot([patients]), availableExtensions: ['pgcrypto', 'plv8'] };
    const p = policy();
    const text = renderPlan(planMigration({ policy: p, snapshot: snap, registry, runtime: 'plv8', runtimeSql: '-- plv8 runtime', pgmaskVersion: '9.9.9' }));
    expect(text).toContain('CREATE EXTENSION IF NOT EXISTS "plv8" WITH SCHEMA "pg_catalog";');
    expect(text).toContain(`REVOKE USAGE ON LANGUAGE plv8 FROM PUBLIC;
REVOKE USAGE ON LANGUAGE plv8 FROM "analyst";
REVOKE USAGE ON LANGUAGE plv8 FROM "metabase_reader";`);
    expect(text.indexOf('REVOKE USAGE ON LANGUAGE plv8')).toBeGreaterThan(text.indexOf('CREATE ROLE "analyst"'));
    const sqlText = renderPlan(plan(p, snapshot([patients])));
    expect(sqlText).not.toContain('LANGUAGE plv8');
  });
});
