import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { clinicPolicy, loadClinic } from '../support/clinic-fixture.ts';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText, snapshotFor } from '../../src/cli/pipeline.ts';
import { refreshMaterialized } from '../../src/db/refresh.ts';

/**
 * Issue 10 "Must show": on the demo clinic (the demo command's policy,
 * examples/clinic.yaml) no encounter, observation or note of an opted-out patient
 * is visible to the analyst; a materialized view of an insertion-ordered table
 * shows rows in an order uncorrelated with the raw id (Spearman < 0.05), also
 * after `pgmask refresh` added rows.
 */
const s = uniqueSuffix();
const reader = `metabase_reader_${s}`;
let db: TestDatabase;
let readerUrl: string;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_consent_e2e');
  await loadClinic(db, { scale: 2000, seed: 3 });
  readerUrl = await db.createLoginRole(reader);
  db.trackRole(`analyst_${s}`);
  const policy = clinicPolicy(`analyst_${s}`, reader);
  await applyPolicy(db.url, policy, { file: 'clinic.yaml' });
}, 180_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "analyst_${s}"`).catch(() => {});
  await db?.drop();
});

describe('the demo clinic: consent reaches every table', () => {
  it('shows no encounter, observation or note of an opted-out patient', async () => {
    // raw counts as admin: rows whose patient (directly, or through the encounter) opted out
    const raw = (
      await db.query(`SELECT
        (SELECT count(*) FROM patients WHERE research_opt_out)::int AS opted_out,
        (SELECT count(*) FROM encounters e JOIN patients p USING (patient_id) WHERE NOT p.research_opt_out)::int AS encounters,
        (SELECT count(*) FROM observations o JOIN encounters e USING (encounter_id) JOIN patients pe ON pe.patient_id = e.patient_id
           JOIN patients po ON po.patient_id = o.patient_id WHERE NOT pe.research_opt_out AND NOT po.research_opt_out)::int AS observations,
        (SELECT count(*) FROM notes n JOIN encounters e USING (encounter_id) JOIN patients pe ON pe.patient_id = e.patient_id
           JOIN patients pn ON pn.patient_id = n.patient_id WHERE NOT pe.research_opt_out AND NOT pn.research_opt_out)::int AS notes,
        (SELECT count(*) FROM encounters)::int AS all_encounters`)
    ).rows[0];
    expect(raw.opted_out).toBeGreaterThan(0);
    expect(raw.encounters).toBeLessThan(raw.all_encounters);
    const seen = (
      await queryAs(
        readerUrl,
        `SELECT (SELECT count(*) FROM encounters)::int AS encounters, (SELECT count(*) FROM observations)::int AS observations, (SELECT count(*) FROM notes)::int AS notes`,
      )
    )[0];
    expect(seen).toEqual({ encounters: raw.encounters, observations: raw.observations, notes: raw.notes });
    // and the analyst's own anti-joins find no row whose patient or encounter it cannot see
    const orphans = (
      await queryAs(
        readerUrl,
        `SELECT
          (SELECT count(*) FROM encounters e WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.patient_id = e.patient_id))::int AS encounters,
          (SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.patient_id = o.patient_id)
                                                  OR NOT EXISTS (SELECT 1 FROM encounters e WHERE e.encounter_id = o.encounter_id))::int AS observations,
          (SELECT count(*) FROM notes n WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.patient_id = n.patient_id)
                                           OR NOT EXISTS (SELECT 1 FROM encounters e WHERE e.encounter_id = n.encounter_id))::int AS notes`,
      )
    )[0];
    expect(orphans).toEqual({ encounters: 0, observations: 0, notes: 0 });
  });

  it('plans the cascade as anti-joins on the keys (no subquery per row)', async () => {
    const plan = (await db.query(`EXPLAIN (COSTS OFF) SELECT count(*) FROM masked.observations`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Anti Join/);
    expect(plan).not.toMatch(/SubPlan/);
  });
});

describe('materialized masking stores rows in a keyed order', () => {
  const ROWS = 20_000;
  const policyText = `version: 1
runtime: sql
materialize: true
tables:
  admissions:
    columns:
      admission_id: pseudonymize
      raw_id: keep
      admitted_on: keep
`;
  /** Spearman's ρ between the position a row is read at (as the analyst would) and its raw id. */
  const rho = async () =>
    Number(
      (
        await db.query(`SELECT corr(pos, rk) AS r FROM (SELECT pos, rank() OVER (ORDER BY raw_id) AS rk
                          FROM (SELECT row_number() OVER () AS pos, raw_id FROM masked.admissions) AS read) AS ranked`)
      ).rows[0].r,
    );
  /** Share of the rows with raw_id > `above` among the last `n` positions. */
  const tailShare = async (above: number, n: number) =>
    Number(
      (
        await db.query(`SELECT avg((raw_id > $1)::int) AS r FROM (SELECT raw_id, row_number() OVER () AS pos FROM masked.admissions) AS read
                         WHERE pos > (SELECT count(*) FROM masked.admissions) - $2`, [above, n])
      ).rows[0].r,
    );

  it(`ρ(position, raw id) < 0.05 on ${ROWS} insertion-ordered rows, also after pgmask refresh added rows`, async () => {
    await db.query(`CREATE TABLE admissions (admission_id bigint PRIMARY KEY, raw_id bigint NOT NULL, admitted_on date NOT NULL);
      INSERT INTO admissions SELECT g, g, date '2020-01-01' + g / 20 FROM generate_series(1, ${ROWS}) g`);
    await applyPolicy(db.url, policyText, { file: 'admissions.yaml' });
    // a fixed key makes the order (and so ρ) the same on every run
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('5a', 32), 'hex'); REFRESH MATERIALIZED VIEW masked.admissions`);
    expect(Math.abs(await rho())).toBeLessThan(0.05);

    // new rows: REFRESH … CONCURRENTLY alone appends them at the end, where position tells them apart
    await db.query(`INSERT INTO admissions SELECT g, g, date '2020-01-01' + g / 20 FROM generate_series(${ROWS + 1}, ${ROWS + 2000}) g`);
    await db.query('REFRESH MATERIALIZED VIEW CONCURRENTLY masked.admissions');
    expect(await tailShare(ROWS, 2000)).toBeGreaterThan(0.9);

    // pgmask refresh clusters on the masked key afterwards: new rows are spread like any other
    await db.query(`INSERT INTO admissions SELECT g, g, date '2020-01-01' + g / 20 FROM generate_series(${ROWS + 2001}, ${ROWS + 4000}) g`);
    const { policy } = await loadPolicyText(policyText, 'admissions.yaml');
    const client = await db.pool.connect();
    try {
      await refreshMaterialized(client, policy, await snapshotFor(client, policy));
    } finally {
      client.release();
    }
    expect(Math.abs(await rho())).toBeLessThan(0.05);
    const share = await tailShare(ROWS, 4000);
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.25); // 4,000 of 24,000 rows are new: about 1/6 of any stretch
  });
});
