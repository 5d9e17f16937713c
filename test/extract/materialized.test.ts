import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { extractHarness } from './extract-harness.ts';

/**
 * A materialized masked view holds its rows as of its last refresh, while a
 * dynamic child view shows rows written since: a ward added after the refresh
 * has beds the analyst sees and no ward. Neither table has a row filter, so the
 * source's foreign key alone does not keep the extract whole; the key must be
 * checked, or the extract's foreign key fails (or, in CSV, a bed is an orphan).
 */
const s = uniqueSuffix();
const ROLE = `mv_analyst_${s}`;
const policyText = `version: 1
source_schema: hosp
masked_schema: hosp_masked
runtime: sql
roles:
  ${ROLE}: {}
tables:
  wards:
    materialize: true
    columns: { ward_id: keep, name: keep }
  beds:
    columns: { bed_id: keep, ward_id: keep }
`;

describe('pgmask extract with a materialized parent view', () => {
  let db: TestDatabase;
  const { dir, target, extract, cleanup } = extractHarness({ prefix: 'pgmask-extract-mv', policyFile: (d) => join(d, 'policy.yaml'), sourceUrl: () => db.url });

  beforeAll(async () => {
    writeFileSync(join(dir, 'policy.yaml'), policyText);
    db = await createTestDatabase('pgmask_extract_mv');
    db.trackRole(ROLE);
    await db.query(`
      CREATE SCHEMA hosp;
      CREATE TABLE hosp.wards (ward_id int PRIMARY KEY, name text);
      CREATE TABLE hosp.beds (bed_id int PRIMARY KEY, ward_id int NOT NULL REFERENCES hosp.wards);
      INSERT INTO hosp.wards VALUES (1, 'A');
      INSERT INTO hosp.beds VALUES (1, 1), (2, 1);`);
    await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
    // after the refresh: the ward is not in the materialized view, its bed is in the dynamic one
    await db.query(`INSERT INTO hosp.wards VALUES (2, 'B'); INSERT INTO hosp.beds VALUES (3, 2);`);
  }, 120_000);
  afterAll(async () => {
    await cleanup();
    await db?.query(`DROP OWNED BY "${ROLE}"`).catch(() => {});
    await db?.drop();
  });

  it('leaves out the bed whose ward the materialized view does not hold yet; the foreign key validates', async () => {
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
});
