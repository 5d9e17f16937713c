import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';

/**
 * A small clinic for the report tests: 600 people whose birth dates span ten
 * years, in two ZIP3 areas, three sexes (one of them NULL), a diagnosis
 * (sensitive, with NULLs) and a weight (with NULLs); a consent filter drops some rows.
 * `exactPolicy` keeps exact birth dates and ZIPs (almost everyone unique);
 * `safeHarborPolicy` generalizes them to the year and the ZIP3.
 */
export interface ReportFixture {
  readonly db: TestDatabase;
  readonly role: string;
  readonly reader: string;
  readerUrl: string;
  readonly exactPolicy: string;
  readonly safeHarborPolicy: string;
  apply(policy: string): Promise<void>;
  drop(): Promise<void>;
}

export const fixtureSql = `
CREATE TABLE people (
  person_id integer PRIMARY KEY,
  mrn text NOT NULL,
  full_name text,
  birth_date date,
  zip text,
  sex text,
  diagnosis text,
  weight_kg numeric(5,1),
  height_cm double precision,
  opted_out boolean NOT NULL DEFAULT false
);
INSERT INTO people
SELECT i,
  'MRN' || lpad(i::text, 6, '0'),
  'Person ' || i,
  DATE '1950-01-01' + ((i * 7919) % 3650),
  (10000 + (i % 7) * 13 + (i % 2) * 100)::text,
  CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'M' WHEN 2 THEN 'M' ELSE 'F' END,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (ARRAY['asthma', 'diabetes', 'hypertension', 'migraine'])[1 + (i * 13) % 4] END,
  CASE WHEN i % 23 = 0 THEN NULL ELSE round((50 + (i * 37) % 60 + ((i * 7) % 10) / 10.0)::numeric, 1) END,
  150 + (i * 53) % 45 + ((i * 3) % 10) / 10.0,
  i % 17 = 0
FROM generate_series(1, 600) AS i;
CREATE TABLE visits (
  visit_id integer PRIMARY KEY,
  person_id integer NOT NULL REFERENCES people,
  ward text
);
INSERT INTO visits SELECT i, 1 + i % 600, (ARRAY['A', 'B', 'C'])[1 + i % 3] FROM generate_series(1, 300) AS i;
`;

function policy(role: string, reader: string, birthRule: string, zipRule: string): string {
  return `version: 1
source_schema: public
masked_schema: masked
runtime: sql
unlisted_columns: error
subject: person_id
keys: [default]
roles:
  ${role}:
    members: [${reader}]
tables:
  people:
    filter: "NOT opted_out"
    quasi_identifiers: [birth_date, zip, sex]
    sensitive: [diagnosis]
    columns:
      person_id: keep
      mrn: pseudonymize
      full_name: redact
      birth_date: ${birthRule}
      zip: ${zipRule}
      sex: keep
      diagnosis: keep
      weight_kg: { noise: { relative: 0.05, decimals: 1 } }
      height_cm: { bucket: { width: 5 } }
      opted_out: keep
  visits:
    columns:
      visit_id: keep
      person_id: keep
      ward: keep
`;
}

export async function createReportFixture(): Promise<ReportFixture> {
  const s = uniqueSuffix();
  const role = `report_analyst_${s}`;
  const reader = `report_reader_${s}`;
  const db = await createTestDatabase('pgmask_report');
  db.trackRole(role);
  await db.query(fixtureSql);
  const readerUrl = await db.createLoginRole(reader);
  const fixture: ReportFixture = {
    db,
    role,
    reader,
    readerUrl,
    exactPolicy: policy(role, reader, 'keep', 'keep'),
    safeHarborPolicy: policy(role, reader, '{ generalize_date: { to: year } }', 'zip3'),
    async apply(text) {
      await applyPolicy(db.url, text, { file: 'policy.yaml' });
    },
    async drop() {
      await db.query(`DROP OWNED BY ${role}`).catch(() => {});
      await db.drop();
    },
  };
  return fixture;
}
