import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import type { Policy } from '../../src/policy/policy.ts';

/**
 * A small hand-made clinic (hostile-ish names included) with a policy applied: a
 * NOLOGIN masking role with one login member. Shared by the verify test files.
 */
export interface VerifyFixture {
  readonly db: TestDatabase;
  readonly role: string;
  readonly member: string;
  readonly memberUrl: string;
  readonly policyText: string;
  readonly policy: Policy;
}

export const fixtureSchemaSql = `
CREATE TABLE patients (
  patient_id text PRIMARY KEY,
  mrn varchar(40) NOT NULL,
  first_name text,
  sex char(1),
  weight_kg numeric(5,1),
  visits int,
  research_opt_out boolean NOT NULL DEFAULT false
);
CREATE TABLE encounters (
  encounter_id int PRIMARY KEY,
  patient_id text NOT NULL REFERENCES patients,
  reason text
);
INSERT INTO patients VALUES
  ('P1', 'A-1001', 'Ada', 'F', 61.5, 3, false),
  ('P2', 'A-1002', 'Alan', 'M', 70.2, 5, false),
  ('P3', 'A-1003', 'Grace', 'F', 55.0, 1, true),
  ('P4', 'A-1004', 'Émile', 'X', NULL, 2, false),
  ('P5', 'A-1005', 'Opted Out', 'F', 80.0, 9, true);
INSERT INTO encounters VALUES (1, 'P1', 'checkup'), (2, 'P1', 'flu'), (3, 'P2', 'fracture'), (4, 'P3', 'opted out');
`;

export function fixturePolicy(role: string, member: string): string {
  return `version: 1
source_schema: public
masked_schema: masked
runtime: sql
unlisted_columns: error
keys: [default]
roles:
  ${role}:
    members: [${member}]
tables:
  patients:
    filter: "research_opt_out IS DISTINCT FROM true"
    columns:
      patient_id: pseudonymize
      mrn: { pseudonymize: { prefix: "MRN-" } }
      first_name: redact
      sex: keep
      weight_kg: keep
      visits: pseudonymize
      research_opt_out: keep
  encounters:
    columns:
      encounter_id: pseudonymize
      patient_id: pseudonymize
      reason: keep
`;
}

export async function createVerifyFixture(): Promise<VerifyFixture> {
  const s = uniqueSuffix();
  const role = `v_analyst_${s}`;
  const member = `v_reader_${s}`;
  const db = await createTestDatabase('pgmask_verify');
  db.trackRole(role);
  await db.query(fixtureSchemaSql);
  const memberUrl = await db.createLoginRole(member);
  const policyText = fixturePolicy(role, member);
  await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
  const { policy } = await loadPolicyText(policyText, 'policy.yaml');
  return { db, role, member, memberUrl, policyText, policy };
}

export async function dropVerifyFixture(f: VerifyFixture | undefined): Promise<void> {
  if (!f) return;
  await f.db.query(`DROP OWNED BY "${f.role}"`).catch(() => {});
  await f.db.query(`DROP OWNED BY "${f.member}"`).catch(() => {});
  await f.db.drop();
}
