import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { ident, sql } from '../../src/sql/index.ts';
import { runPgmask } from '../support/cli.ts';
import { queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { patientsDatabase, patientsPolicy, type PatientsFixture } from '../support/patients-fixture.ts';

/**
 * `pgmask uninstall` (issue 13): after it, the database is as it was before the first
 * migrate — same schemas, relations, functions, extensions, grants on the source, role
 * settings and roles — except what the user created; the source data is untouched.
 */
const s = uniqueSuffix();
const ANALYST = `uninst_analyst_${s}`;
const BROKER = `uninst_broker_${s}`;
const READER = `uninst_reader_${s}`;
const POLICY = `${patientsPolicy({ role: ANALYST, members: [READER], materialize: true })}brokers:
  ${BROKER}:
    members: [${READER}]
`;

let fixture: PatientsFixture;
let db: TestDatabase;
let readerUrl: string;

beforeAll(async () => {
  fixture = await patientsDatabase('pgmask_uninstall');
  db = fixture.db;
  readerUrl = await db.createLoginRole(READER);
  db.trackRole(ANALYST);
  db.trackRole(BROKER);
});

afterAll(async () => {
  await fixture?.drop();
});

/** Everything a migrate could have changed, read as the superuser. */
async function state(): Promise<unknown> {
  return (
    await db.query(`SELECT
  ARRAY(SELECT nspname::text FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1) AS schemas,
  ARRAY(SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' ORDER BY 1) AS relations,
  ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1) AS functions,
  ARRAY(SELECT extname::text FROM pg_extension ORDER BY 1) AS extensions,
  -- effective privileges: a GRANT then its REVOKE leaves the owner's default written out (NULL → {owner=arwdDxtm/owner})
  (SELECT COALESCE(relacl, acldefault('r', relowner))::text FROM pg_class WHERE oid = 'public.patients'::regclass) AS table_acl,
  (SELECT COALESCE(nspacl, acldefault('n', nspowner))::text FROM pg_namespace WHERE nspname = 'public') AS schema_acl,
  ARRAY(SELECT rolname::text FROM pg_roles WHERE rolname LIKE '%\\_${s}' ORDER BY 1) AS roles,
  ARRAY(SELECT r.rolname || ':' || array_to_string(st.setconfig, ',') FROM pg_db_role_setting st JOIN pg_roles r ON r.oid = st.setrole
         WHERE st.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1) AS settings,
  ARRAY(SELECT g.rolname || '>' || m.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
         WHERE m.rolname LIKE '%\\_${s}' ORDER BY 1) AS memberships,
  (SELECT count(*) || ' rows, weight ' || sum(weight_kg) FROM public.patients) AS data`)
  ).rows[0];
}

function uninstall(...flags: string[]) {
  return runPgmask(['uninstall', '--database-url', db.url, ...flags]);
}

describe('pgmask uninstall', () => {
  it('refuses without --yes, and while a user object depends on a masked view (nothing changed); then leaves the database as before the first migrate', async () => {
    const before = await state();
    // pgmask_owner is cluster-wide and other test files' databases use it: pin it as used in the cluster
    await db.query(`DO $$ BEGIN CREATE ROLE pgmask_owner NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    await db.query(sql`GRANT CONNECT ON DATABASE ${ident(db.name)} TO pgmask_owner`);
    await applyPolicy(db.url, POLICY);
    expect(await queryAs(readerUrl, 'SELECT count(*)::int AS n FROM patients')).toEqual([{ n: 3 }]);
    const migrated = await state();
    expect(migrated).not.toEqual(before);

    const unconfirmed = await uninstall();
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('error[UNINSTALL_NOT_CONFIRMED]');

    await db.query('CREATE VIEW public.weights AS SELECT avg(weight_kg) AS w FROM masked.patients');
    const dry = await uninstall('--dry-run');
    expect(dry.code).toBe(4);
    expect(dry.stdout).toContain('refused: 1 object(s) outside pgmask depend on it: rule _RETURN on view weights');
    const refused = await uninstall('--yes');
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toContain('error[UNINSTALL_DEPENDENTS]');
    await db.query('DROP VIEW public.weights');
    expect(await state()).toEqual(migrated);

    const plan = await uninstall('--dry-run');
    expect(plan.code, plan.stderr).toBe(0);
    const lines = plan.stdout.split('\n');
    expect(lines.slice(0, 8)).toEqual([
      `would uninstall pgmask from database ${db.name} (dry run: nothing was changed)`,
      '  - materialized view masked.patients',
      '  - schema masked (masked schema, empty once its views are gone)',
      '  - schema pgmask and everything in it',
      '  - schema pgmask_private and everything in it (the masking keys)',
      `  - search_path of ${READER} in this database (masked): reset`,
      `  - role ${ANALYST} (masking role), unless it turns out to be used elsewhere or can log in`,
      `  - role ${BROKER} (broker), unless it turns out to be used elsewhere or can log in`,
    ]);
    // whether other test databases use pgmask_owner right now depends on the files running beside this one
    expect(lines[8]).toMatch(/^ {2}[=-] role pgmask_owner \(owner\)/);
    expect(lines.slice(9)).toEqual(['the source tables and their data are untouched', '']);
    expect(await state()).toEqual(migrated);

    const r = await uninstall('--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`  - role ${ANALYST}\n  - role ${BROKER}\n`);
    // other databases of the cluster may use it too (other test files); this one pinned it with a grant on a database
    expect(r.stdout).toMatch(/\n {2}= role pgmask_owner kept: it still owns objects or holds privileges in (.*, )?the cluster\n/);
    expect(await state()).toEqual(before);
    await expect(queryAs(readerUrl, 'SELECT count(*) FROM masked.patients')).rejects.toThrow(/does not exist/);

    const again = await uninstall('--yes');
    expect(again.stdout).toBe(`pgmask is not installed in database ${db.name}: nothing to remove\n`);
  });
});
