import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { extractHarness } from './extract-harness.ts';

/**
 * Foreign keys the source's constraint does not vouch for. Neither table has a row filter,
 * so a key counts as holding when the source's constraint does, and is not checked — unless:
 *
 * - the parent is a materialized view: it holds its rows as of its last refresh, while the
 *   dynamic child shows rows written since (a ward added after the refresh has beds and no ward);
 * - the key was added `NOT VALID`: it holds for rows written after it, not for the older ones.
 *
 * Either way the key must be checked: before, the orphan bed went out, the target's foreign key
 * failed (EXTRACT_KEYS_FAILED), and a CSV extract carried the orphan.
 */
const cases = [
  {
    name: 'a materialized parent view',
    wards: 'materialize: true\n    ',
    setup: `CREATE TABLE hosp.beds (bed_id int PRIMARY KEY, ward_id int NOT NULL REFERENCES hosp.wards);
      INSERT INTO hosp.beds VALUES (1, 1), (2, 1);`,
    // after the refresh: the ward is not in the materialized view, its bed is in the dynamic one
    after: `INSERT INTO hosp.wards VALUES (2, 'B'); INSERT INTO hosp.beds VALUES (3, 2);`,
  },
  {
    name: 'a NOT VALID foreign key',
    wards: '',
    setup: `CREATE TABLE hosp.beds (bed_id int PRIMARY KEY, ward_id int NOT NULL);
      INSERT INTO hosp.beds VALUES (1, 1), (2, 1), (3, 9);
      ALTER TABLE hosp.beds ADD FOREIGN KEY (ward_id) REFERENCES hosp.wards NOT VALID;`,
    after: '',
  },
] as const;

describe.each(cases)('pgmask extract over $name', (c) => {
  const s = uniqueSuffix();
  const ROLE = `uv_analyst_${s}`;
  const policyText = `version: 1
source_schema: hosp
masked_schema: hosp_masked
runtime: sql
roles:
  ${ROLE}: {}
tables:
  wards:
    ${c.wards}columns: { ward_id: keep, name: keep }
  beds:
    columns: { bed_id: keep, ward_id: keep }
`;
  let db: TestDatabase;
  const { dir, target, extract, cleanup } = extractHarness({ prefix: 'pgmask-extract-uv', policyFile: (d) => join(d, 'policy.yaml'), sourceUrl: () => db.url });

  beforeAll(async () => {
    writeFileSync(join(dir, 'policy.yaml'), policyText);
    db = await createTestDatabase('pgmask_extract_uv');
    db.trackRole(ROLE);
    await db.query(`CREATE SCHEMA hosp; CREATE TABLE hosp.wards (ward_id int PRIMARY KEY, name text); INSERT INTO hosp.wards VALUES (1, 'A'); ${c.setup}`);
    await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
    if (c.after) await db.query(c.after);
  }, 120_000);
  afterAll(async () => {
    await cleanup();
    await db?.query(`DROP OWNED BY "${ROLE}"`).catch(() => {});
    await db?.drop();
  });

  it('into a database: the orphan bed is left out and the re-created foreign key validates', async () => {
    // the analyst sees the orphan (three beds, one ward)
    expect((await db.query(`SELECT count(*)::int AS n FROM hosp_masked.beds`)).rows[0].n).toBe(3);
    expect((await db.query(`SELECT count(*)::int AS n FROM hosp_masked.wards`)).rows[0].n).toBe(1);
    const t = await target();
    const run = await extract('--to', t.url);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await t.query(`SELECT array_agg(bed_id ORDER BY bed_id) AS ids FROM hosp.beds`)).rows[0].ids).toEqual([1, 2]);
    const fks = await t.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND convalidated AND conrelid = 'hosp.beds'::regclass`);
    expect(fks.rows[0].n).toBe(1);
  }, 60_000);

  it('into CSV: no orphan either', async () => {
    const out = join(dir, 'csv');
    const run = await extract('--format', 'csv', '--out', out);
    expect(run.code).toBe(0);
    const beds = readFileSync(join(out, 'beds.csv'), 'utf8').trim().split('\n').slice(1);
    expect(beds.map((l) => l.split(',')[0]).sort()).toEqual(['1', '2']);
  }, 60_000);
});
