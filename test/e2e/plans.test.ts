import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { clinicPolicy, loadClinic } from '../support/clinic-fixture.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';

/** Fast dynamic views: the key is an InitPlan, unreferenced masked columns cost nothing, the sql runtime inlines. */
const s = uniqueSuffix();

describe('query plans of masked views', () => {
  let db: TestDatabase;
  const explain = async (q: string) => (await db.query(`EXPLAIN (VERBOSE, COSTS OFF) ${q}`)).rows.map((r) => r['QUERY PLAN']).join('\n');

  beforeAll(async () => {
    db = await createTestDatabase();
    await loadClinic(db, { scale: 2000, seed: 7 });
    await db.query(`CREATE ROLE "metabase_reader_${s}" LOGIN`);
    db.trackRole(`metabase_reader_${s}`);
    db.trackRole(`analyst_${s}`);
    const policy = clinicPolicy(`analyst_${s}`, `metabase_reader_${s}`);
    await applyPolicy(db.url, policy, { file: 'clinic.yaml' });
  });
  afterAll(async () => {
    await db?.query(`DROP OWNED BY "analyst_${s}"`).catch(() => {});
    await db?.drop();
  });

  it('computes no transform for a column the query does not read', async () => {
    const plan = await explain('SELECT sex, count(*) FROM masked.patients GROUP BY sex');
    expect(plan).not.toMatch(/hmac|pseudonymize|fake|noise|shift_date/);
    // the key is read once, for the keyed row order's seed (an InitPlan), not for any column
    expect(plan.match(/pgmask_private\.keys/g)).toHaveLength(1);
  });

  it('reads the key once per query (an InitPlan), not once per row', async () => {
    const plan = await explain('SELECT patient_id FROM masked.patients');
    expect(plan).toMatch(/InitPlan/);
    expect(plan).toMatch(/pgmask_private\.keys/);
    // the sql runtime's pseudonymize is inlined into the scan: no function call overhead per row
    expect(plan).toMatch(/hmac\(/);
    expect(plan).not.toMatch(/pgmask\.pseudonymize\(/);
  });

  it('keeps the row filter below the analyst’s own conditions (security barrier)', async () => {
    const plan = await explain("SELECT * FROM masked.patients WHERE first_name = 'Anna'");
    // the view's filter is evaluated before the analyst's condition on every row
    expect(plan).toMatch(/Filter: \(\(NOT src\.research_opt_out\) AND /);
  });
});
