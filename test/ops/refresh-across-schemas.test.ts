import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, loadPolicyText, snapshotFor } from '../../src/cli/pipeline.ts';
import { refreshMaterialized, refreshOrder } from '../../src/db/refresh.ts';
import { maskedKeyIndexName } from '../../src/plan/planner.ts';
import { runPgmask } from '../support/cli.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';

/**
 * Refresh over a policy with several source schemas: the materialized child `care.beds`
 * (schema listed first) references the materialized parent `ward.wards` (listed second).
 * Refreshed schema by schema, the child was refreshed first, so until the parent's own
 * refresh committed analysts saw beds of a ward the ward view did not have.
 */
const s = uniqueSuffix();
const role = `xr_analyst_${s}`;
let db: TestDatabase;
let dir: string;

const policyText = (extra = '') => `version: 1
runtime: sql
materialize: true
roles:
  ${role}: {}
schemas:
  care:
    masked_schema: care_masked
    tables:
      beds:
        columns: { bed_id: keep, ward_id: keep, label: redact }
${extra}  ward:
    masked_schema: ward_masked
    tables:
      wards:
        columns: { ward_id: keep, name: keep }
`;

/** beds whose ward the ward view does not have: what an analyst's join loses */
const orphans = async (c: Pick<pg.ClientBase, 'query'> | TestDatabase) =>
  Number((await (c as pg.ClientBase).query('SELECT count(*) AS n FROM care_masked.beds b WHERE NOT EXISTS (SELECT 1 FROM ward_masked.wards w WHERE w.ward_id = b.ward_id)')).rows[0].n);

/** refreshOrder of a policy against the live catalog, as `source_schema.table` */
async function orderOf(text: string): Promise<string[]> {
  const { policy } = await loadPolicyText(text, 'policy.yaml');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return refreshOrder(policy, await snapshotFor(c, policy)).map((t) => `${t.sourceSchema}.${t.name}`);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_refresh_xs');
  dir = mkdtempSync(join(tmpdir(), 'pgmask-refresh-xs-'));
  db.trackRole(role);
  await db.query(`
    CREATE SCHEMA care; CREATE SCHEMA ward;
    CREATE TABLE ward.wards (ward_id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE care.beds (bed_id int PRIMARY KEY, ward_id int NOT NULL REFERENCES ward.wards, label text);
    INSERT INTO ward.wards VALUES (1, 'north'), (2, 'south');
    INSERT INTO care.beds VALUES (10, 1, 'a'), (11, 2, 'b');`);
  await applyPolicy(db.url, policyText(), { file: 'policy.yaml' });
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe('pgmask refresh over several source schemas', () => {
  it('orders the materialized relations of every schema parents first, across schemas', async () => {
    expect(await orderOf(policyText())).toEqual(['ward.wards', 'care.beds']);
  });

  it('a consent route through a table outside the policy orders its far end first too', async () => {
    await db.query(`
      CREATE SCHEMA r_a; CREATE SCHEMA r_b;
      CREATE TABLE r_b.units (unit_id int PRIMARY KEY, closed boolean NOT NULL);
      CREATE TABLE r_a.rooms (room_id int PRIMARY KEY, unit_id int NOT NULL REFERENCES r_b.units);
      CREATE TABLE r_a.cots (cot_id int PRIMARY KEY, room_id int NOT NULL REFERENCES r_a.rooms);`);
    const text = `version: 1
runtime: sql
materialize: true
roles:
  ${role}: {}
schemas:
  r_a:
    masked_schema: r_a_masked
    tables:
      cots: { columns: { cot_id: keep, room_id: keep } }
  r_b:
    masked_schema: r_b_masked
    tables:
      units: { filter: "NOT closed", columns: { unit_id: keep, closed: keep } }
`;
    expect(await orderOf(text)).toEqual(['r_b.units', 'r_a.cots']);
  });

  it('a new ward and its bed: no reader ever sees the bed without its ward, and both are there after the refresh', async () => {
    await db.query(`INSERT INTO ward.wards VALUES (3, 'east'); INSERT INTO care.beds VALUES (30, 3, 'c')`);
    const { policy } = await loadPolicyText(policyText(), 'policy.yaml');
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      // what a reader sees before each refresh starts (each one commits on its own): the count is
      // queued on the same connection, so it runs after the previous refresh committed and before the next
      const seen: number[] = [];
      const results = await refreshMaterialized(c, policy, await snapshotFor(c, policy), {
        onProgress: () => void orphans(c).then((n) => seen.push(n)),
      });
      seen.push(await orphans(c));
      expect(seen).toEqual([0, 0, 0]);
      expect(results.map((r) => r.view)).toEqual(['ward_masked.wards', 'care_masked.beds']);
      expect((await c.query('SELECT b.bed_id, w.name FROM care_masked.beds b JOIN ward_masked.wards w USING (ward_id) WHERE b.ward_id = 3')).rows).toEqual([{ bed_id: 30, name: 'east' }]);
    } finally {
      await c.end();
    }
  });

  it('the CLI refreshes in that order, as pgmask.refreshes records it, and --table finds a table of any schema', async () => {
    await db.query(`INSERT INTO ward.wards VALUES (4, 'west'); INSERT INTO care.beds VALUES (40, 4, 'd')`);
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policyText());
    await db.query('TRUNCATE pgmask.refreshes');
    const r = await runPgmask(['refresh', '--policy', file, '--database-url', db.url, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).refreshed.map((x: { view: string }) => x.view)).toEqual(['ward_masked.wards', 'care_masked.beds']);
    const log = await db.query("SELECT view_schema || '.' || view_name AS v FROM pgmask.refreshes ORDER BY id");
    expect(log.rows.map((x) => x.v)).toEqual(['ward_masked.wards', 'care_masked.beds']);
    expect(await orphans(db)).toBe(0);

    const one = await runPgmask(['refresh', '--policy', file, '--database-url', db.url, '--json', '--table', 'beds', 'wards']);
    expect(JSON.parse(one.stdout).refreshed.map((x: { view: string }) => x.view)).toEqual(['ward_masked.wards', 'care_masked.beds']);
  });

  it('a cycle of foreign keys across schemas keeps policy order and says so', async () => {
    await db.query(`
      CREATE SCHEMA loop_a; CREATE SCHEMA loop_b;
      CREATE TABLE loop_a.a (a_id int PRIMARY KEY, b_id int);
      CREATE TABLE loop_b.b (b_id int PRIMARY KEY, a_id int REFERENCES loop_a.a);
      ALTER TABLE loop_a.a ADD FOREIGN KEY (b_id) REFERENCES loop_b.b;
      INSERT INTO loop_a.a VALUES (1, NULL); INSERT INTO loop_b.b VALUES (1, 1);`);
    const loop = `version: 1
runtime: sql
materialize: true
roles:
  ${role}: {}
schemas:
  loop_a:
    masked_schema: loop_a_masked
    tables:
      a: { columns: { a_id: keep, b_id: keep } }
  loop_b:
    masked_schema: loop_b_masked
    tables:
      b: { columns: { b_id: keep, a_id: keep } }
`;
    await applyPolicy(db.url, loop, { file: 'loop.yaml' });
    const file = join(dir, 'loop.yaml');
    writeFileSync(file, loop);
    const r = await runPgmask(['refresh', '--policy', file, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^refreshed loop_a_masked\.a: 1 rows .*\nrefreshed loop_b_masked\.b: 1 rows /);
    expect(r.stderr).toContain('warning[REFRESH_CYCLE]: the materialized relations reference each other in a cycle (foreign keys or consent routes); loop_a_masked.a refreshed in policy order');
  });

  it('an unknown --table is refused before anything is refreshed (exit 2, NOT_MATERIALIZED)', async () => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policyText());
    await db.query('TRUNCATE pgmask.refreshes');
    const r = await runPgmask(['refresh', '--policy', file, '--database-url', db.url, '--table', 'beds', 'nosuch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[NOT_MATERIALIZED]');
    expect((await db.query('SELECT count(*)::int AS n FROM pgmask.refreshes')).rows[0].n).toBe(0);
  });

  it('a view whose masked key index is missing (migrated before the index was named after its own masked schema) refuses before anything is refreshed (exit 5)', async () => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policyText());
    await db.query('TRUNCATE pgmask.refreshes');
    await db.query(`DROP INDEX ward_masked.${maskedKeyIndexName('ward_masked', 'wards')}`);
    const r = await runPgmask(['refresh', '--policy', file, '--database-url', db.url]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`error[NOT_MIGRATED]: ward_masked.wards has no index ${maskedKeyIndexName('ward_masked', 'wards')}`);
    expect((await db.query('SELECT count(*)::int AS n FROM pgmask.refreshes')).rows[0].n).toBe(0);
  });
});
