import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';

/**
 * Two source schemas of one policy hold a table of the same name. The consent routes of one
 * must not become the other's: they were keyed by table name, so the second `visits` overwrote
 * the first's routes and an opted-out patient's visits showed in hosp_masked.visits.
 */
const s = uniqueSuffix();
const role = `sn_analyst_${s}`;
let db: TestDatabase;

const policy = (order: 'hosp-first' | 'clinic-first') => {
  const hosp = `  hosp:
    masked_schema: hosp_masked
    tables:
      patients:
        filter: "NOT opted_out"
        columns: { patient_id: pseudonymize, opted_out: keep }
      visits:
        columns: { visit_id: keep, patient_id: pseudonymize }
`;
  const clinic = `  clinic:
    masked_schema: clinic_masked
    tables:
      visits:
        columns: { visit_id: keep, room: keep }
`;
  return `version: 1
runtime: sql
subject: patient_id
roles:
  ${role}: {}
schemas:
${order === 'hosp-first' ? hosp + clinic : clinic + hosp}`;
};

beforeAll(async () => {
  db = await createTestDatabase('pgmask_same_name');
  db.trackRole(role);
  await db.query(`
    CREATE SCHEMA hosp; CREATE SCHEMA clinic;
    CREATE TABLE hosp.patients (patient_id text PRIMARY KEY, opted_out boolean NOT NULL);
    CREATE TABLE hosp.visits (visit_id int PRIMARY KEY, patient_id text NOT NULL REFERENCES hosp.patients);
    CREATE TABLE clinic.visits (visit_id int PRIMARY KEY, room text);
    INSERT INTO hosp.patients VALUES ('P1', false), ('P2', true);
    INSERT INTO hosp.visits VALUES (1, 'P1'), (2, 'P2'), (3, 'P2');
    INSERT INTO clinic.visits VALUES (1, 'A'), (2, 'B');`);
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe('tables of the same name in two source schemas of one policy', () => {
  it.each(['hosp-first', 'clinic-first'] as const)('%s: the opted-out patient\'s visits are hidden in hosp_masked, clinic_masked.visits keeps every row', async (order) => {
    await applyPolicy(db.url, policy(order), { file: 'policy.yaml' });
    expect((await db.query('SELECT count(*)::int AS n FROM hosp_masked.patients')).rows[0].n).toBe(1);
    expect((await db.query('SELECT count(*)::int AS n FROM hosp_masked.visits')).rows[0].n).toBe(1);
    expect((await db.query('SELECT count(*)::int AS n FROM clinic_masked.visits')).rows[0].n).toBe(2);
  });
});
