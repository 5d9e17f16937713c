import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import type { AttackResult } from '../../src/verify/verify-report.ts';

/**
 * consent-reach over a policy with several source schemas: `clin.visits` references the
 * consent-filtered `reg.patients` in another schema, and `clin.notes` references `clin.visits`
 * (whose rows cascade only through that cross-schema route). The attack used to look at foreign
 * keys within one source schema, so it never tried either pair: a hand-replaced view without the
 * cascade passed verify.
 */
const s = uniqueSuffix();
const role = `xc_analyst_${s}`;
let db: TestDatabase;

const policyText = `version: 1
runtime: sql
subject: patient_id
roles:
  ${role}: {}
schemas:
  clin:
    masked_schema: clin_masked
    tables:
      visits:
        columns: { visit_id: keep, patient_id: pseudonymize }
      notes:
        columns: { note_id: keep, visit_id: keep }
  reg:
    masked_schema: reg_masked
    tables:
      patients:
        filter: "NOT opted_out"
        columns: { patient_id: pseudonymize, opted_out: keep }
`;

/** consent-reach, row-filter and source-through-views, per source schema (clin first, as in the policy) */
async function attacks(): Promise<Record<string, AttackResult>[]> {
  const { policy } = await loadPolicyText(policyText, 'policy.yaml');
  const report = await verify(db.url, policy, { role, only: ['consent-reach', 'row-filter', 'source-through-views'] });
  return report.subjects.map((sub) => Object.fromEntries(sub.attacks.map((a) => [a.id, a])));
}

/**
 * Replaces the masked view, as a superuser, by the view pgmask made with its top-level WHERE (the
 * consent cascade) cut out: what a hand edit leaves. Gives back the undo (migrate with an unchanged
 * policy does not redo views).
 */
async function dropCascade(view: string): Promise<() => Promise<void>> {
  const def: string = (await db.query(`SELECT pg_catalog.pg_get_viewdef($1::regclass) AS d`, [view])).rows[0].d;
  // pg_get_viewdef indents the view's own clauses by two spaces, nested ones deeper
  const cut = def.replace(/\n {2}WHERE [\s\S]*?(?=\n {2}ORDER BY )/, '');
  expect(cut).not.toContain('EXISTS');
  await db.query(`CREATE OR REPLACE VIEW ${view} AS ${cut}`);
  return async () => {
    await db.query(`CREATE OR REPLACE VIEW ${view} AS ${def}`);
  };
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_consent_xs');
  db.trackRole(role);
  await db.query(`
    CREATE SCHEMA reg; CREATE SCHEMA clin;
    CREATE TABLE reg.patients (patient_id text PRIMARY KEY, opted_out boolean NOT NULL);
    CREATE TABLE clin.visits (visit_id int PRIMARY KEY, patient_id text NOT NULL REFERENCES reg.patients);
    CREATE TABLE clin.notes (note_id int PRIMARY KEY, visit_id int NOT NULL REFERENCES clin.visits);
    INSERT INTO reg.patients VALUES ('P1', false), ('P2', true);
    INSERT INTO clin.visits VALUES (1, 'P1'), (2, 'P2'), (3, 'P2');
    INSERT INTO clin.notes VALUES (10, 1), (11, 2), (12, 3);`);
  await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe('consent-reach across source schemas', () => {
  it('correct setup: both routes are attacked (the cross-schema one and the one it cascades onward) and hold', async () => {
    const [clin, reg] = await attacks();
    expect(clin!['consent-reach']).toMatchObject({ status: 'held' });
    expect(clin!['consent-reach']!.evidence).toContain('visits(patient_id) → reg_masked.patients: 0 rows of hidden subjects');
    expect(clin!['consent-reach']!.evidence).toContain('notes(visit_id) → visits: 0 rows of hidden subjects');
    expect(reg!['consent-reach']!.status).toBe('held');
    // row-filter counts the rows the cross-schema route hides as hidden (it counted them as passing: "fewer rows … out of date?")
    expect(clin!['row-filter']).toMatchObject({ status: 'held', evidence: 'visits: 1, notes: 1' });
    // clin_masked.visits and notes read reg.patients (the route) but are the policy's own views, not a way around the masking
    expect(reg!['source-through-views']!.status).toBe('held');
  });

  it('a hand-made view in clin_masked built on reg.patients and granted to the analyst is still found', async () => {
    await db.query(`CREATE VIEW clin_masked.patients_raw AS SELECT * FROM reg.patients; GRANT SELECT ON clin_masked.patients_raw TO "${role}"`);
    const [, reg] = await attacks();
    await db.query('DROP VIEW clin_masked.patients_raw');
    expect(reg!['source-through-views']).toMatchObject({ status: 'leaked', objects: [expect.stringMatching(/^clin_masked\.patients_raw \(built on reg\.patients\) is readable/)] });
  });

  it('clin_masked.visits replaced without its cascade: the opted-out patient’s 2 visits are named', async () => {
    const undo = await dropCascade('clin_masked.visits');
    expect((await db.query('SELECT count(*)::int AS n FROM clin_masked.visits')).rows[0].n).toBe(3);
    const [clin] = await attacks();
    await undo();
    expect(clin!['consent-reach']).toMatchObject({ status: 'leaked', objects: [expect.stringMatching(/^clin_masked\.visits: 2 row\(s\) reference a reg_masked\.patients row the analyst cannot see/)] });
    expect(clin!['row-filter']).toMatchObject({ status: 'leaked', objects: ['clin_masked.visits returns 3 rows but only 1 pass no filter'] });
  });

  it('clin_masked.notes replaced without its cascade (its parent hides rows only through another schema): named too', async () => {
    const undo = await dropCascade('clin_masked.notes');
    expect((await db.query('SELECT count(*)::int AS n FROM clin_masked.notes')).rows[0].n).toBe(3);
    const [clin] = await attacks();
    await undo();
    expect(clin!['consent-reach']).toMatchObject({ status: 'leaked', objects: [expect.stringMatching(/^clin_masked\.notes: 2 row\(s\) reference a visits row the analyst cannot see/)] });
  });
});
