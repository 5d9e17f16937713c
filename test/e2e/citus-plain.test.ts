import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clinicPolicy, loadClinic } from '../support/clinic-fixture.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { objectInventory } from '../../src/db/citus.ts';
import { PgmaskError } from '../../src/errors.ts';

/**
 * Citus mode on a plain PostgreSQL server: the clinic policy migrates with views and not
 * one Citus statement (the server has no pg_dist_* and no create_distributed_table, so a
 * single one would fail the migration), and `citus: true` is refused with a coded error
 * before anything changes.
 */
const s = uniqueSuffix();
const ROLE = `analyst_${s}`;
const READER = `reader_${s}`;
const clinic = clinicPolicy(ROLE, READER);

describe('a plain PostgreSQL server and Citus mode', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    db.trackRole(ROLE);
    await loadClinic(db, { scale: 200, seed: 5 });
    await db.createLoginRole(READER);
  });
  afterAll(async () => {
    await db?.query(`DROP OWNED BY "${ROLE}"`).catch(() => {});
    await db?.drop();
  });

  it('refuses `citus: true` with CITUS_UNAVAILABLE (exit 3) and changes nothing', async () => {
    const before = (await db.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('pgmask', 'pgmask_private', 'masked')`)).rows[0].n;
    const error = await applyPolicy(db.url, clinic.replace('keys: [default]', 'keys: [default]\ncitus: true'), { file: 'clinic.yaml' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PgmaskError);
    expect((error as PgmaskError).code).toBe('CITUS_UNAVAILABLE');
    expect((error as PgmaskError).exitCode).toBe(3);
    expect(before).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('pgmask', 'pgmask_private', 'masked')`)).rows[0].n).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1`, [ROLE])).rows[0].n).toBe(0);
  });

  it('migrates the clinic policy with views and no Citus statement', async () => {
    const { prepared, migration, citus } = await applyPolicy(db.url, clinic, { file: 'clinic.yaml' });
    expect(prepared.snapshot.citus).toBeUndefined();
    expect(prepared.plan.nodes.filter((n) => n.kind.includes('Citus'))).toEqual([]);
    expect(citus).toBeUndefined();
    expect(migration.sql).not.toMatch(/citus|pg_dist_|create_distributed_table|create_reference_table|run_command_on/i);
    const kinds = (await db.query(`SELECT relname, relkind::text FROM pg_class WHERE relnamespace = 'masked'::regnamespace AND relkind IN ('r','v','m') ORDER BY 1`)).rows;
    expect(kinds).toEqual(['encounters', 'notes', 'observations', 'patients'].map((relname) => ({ relname, relkind: 'v' })));
  });

  it('lists, with the query Citus mode runs on every worker, the pgmask functions, pgcrypto, the roles and the memberships', async () => {
    const [row] = (await db.query(`SELECT (${objectInventory(['pgmask_owner', ROLE, READER]).text})::text AS objects`)).rows;
    const objects = JSON.parse(row.objects) as string[];
    expect(objects).toContain('extension pgcrypto');
    expect(objects).toContain(`role ${ROLE}`);
    expect(objects).toContain(`membership ${READER} in ${ROLE}`);
    expect(objects).toContain('function pgmask.pseudonymize(value text, key bytea, opts jsonb)');
    expect(objects.filter((o) => o.startsWith('function pgmask.')).length).toBeGreaterThan(20);
  });
});
