import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runScan } from '../../src/scan/run-scan.ts';

/** scan drafts the consent-route decision it can infer: two foreign keys into patients, one the subject column. */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_scan_via');
  await db.query(`
    CREATE TABLE patients (patient_id int PRIMARY KEY, birth_date date);
    INSERT INTO patients SELECT i, date '1950-01-01' + i * 40 FROM generate_series(1, 100) i;
    CREATE TABLE transplants (transplant_id int PRIMARY KEY, patient_id int REFERENCES patients, donor_patient_id int REFERENCES patients);
    INSERT INTO transplants SELECT i, 1 + i % 100, 1 + (i * 7) % 100 FROM generate_series(1, 50) i;
    CREATE TABLE visits (visit_id int PRIMARY KEY, patient_id int REFERENCES patients);
    INSERT INTO visits SELECT i, 1 + i % 100 FROM generate_series(1, 50) i;
  `);
}, 60_000);
afterAll(async () => {
  await db.drop();
});

describe('draft policy: subject_via', () => {
  it('drafts subject_via: <subject column> only where two foreign keys reach the same table, with a review comment', async () => {
    const { draft } = await runScan({ databaseUrl: db.url, schemas: ['public'] });
    const tables = (parseYaml(draft.yaml) as { tables: Record<string, { subject_via?: string }> }).tables;
    expect(tables.transplants!.subject_via).toBe('patient_id');
    expect(tables.visits!.subject_via).toBeUndefined();
    expect(draft.yaml).toMatch(/subject_via: patient_id # drafted: .*review/);
  });
});
