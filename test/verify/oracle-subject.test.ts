import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';

/**
 * shift_date moves all of a subject's dates by one keyed offset, so made-up dates of one subject
 * are not independent evidence: a wrong key that lands on the subject's offset (1 in 60 for
 * max_days 30) reproduces them all. The oracle counts a shift_date column's evidence in subjects
 * and offsets. Seen as a false leak on MIMIC-IV drafts whose 20 sampled rows belonged to one patient.
 */
const s = uniqueSuffix();
const role = `os_analyst_${s}`;
let db: TestDatabase;
const policyText = `version: 1
runtime: sql
subject: patient_id
roles:
  ${role}: {}
tables:
  visits:
    columns:
      visit_id: keep
      patient_id: pseudonymize
      seen_on: { shift_date: { max_days: 30 } }
`;

async function oracle() {
  const { policy } = await loadPolicyText(policyText, 'policy.yaml');
  const report = await verify(db.url, policy, { role, only: ['oracle'] });
  return report.subjects[0]!.attacks[0]!;
}
const shifted = async () => (await db.query(`SELECT seen_on::text AS d FROM masked.visits ORDER BY visit_id LIMIT 1`)).rows[0].d as string;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_oracle_subject');
  db.trackRole(role);
  await db.query(`
    CREATE TABLE visits (visit_id int PRIMARY KEY, patient_id text NOT NULL, seen_on date NOT NULL);
    INSERT INTO visits SELECT g, 'P0001', date '2024-01-01' + g * 3 FROM generate_series(1, 40) g;`);
  await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe('oracle evidence of a per-subject transform', () => {
  it("a key that gives the one subject the zero key's offset is chance, not a leak", async () => {
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('00', 32), 'hex')`);
    const underZeros = await shifted();
    let tries = 0;
    do {
      await db.query(`UPDATE pgmask_private.keys SET key = decode(md5(random()::text) || md5(random()::text), 'hex')`);
      tries++;
    } while ((await shifted()) !== underZeros && tries < 5000);
    expect(await shifted()).toBe(underZeros);
    const r = await oracle();
    expect(r.status, r.evidence).toBe('held');
    expect(r.evidence).toMatch(/masked\.visits\.seen_on: key = (empty|32 zero bytes) matched 1 distinct input\(s\) with 60 distinct output\(s\), which a wrong key does by chance/);
  });

  it('the zero key itself is found through the pseudonymized subject (27 distinct inputs), not through one subject\'s dates', async () => {
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('00', 32), 'hex')`);
    const r = await oracle();
    expect(r.status).toBe('leaked');
    expect(r.objects).toContainEqual(expect.stringMatching(/^masked\.visits\.patient_id reproduced for \d+ distinct input\(s\) with key = (empty|32 zero bytes)$/));
    expect(r.objects.filter((o) => o.includes('seen_on'))).toEqual([]);
  });
});
