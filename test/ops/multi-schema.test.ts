import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { runScan } from '../../src/scan/run-scan.ts';
import { runPgmask } from '../support/cli.ts';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { mimicIvDdl } from '../support/mimic-iv.ts';

const MIMIC = ['mimiciv_hosp', 'mimiciv_icu', 'mimiciv_note'];
/** eight tables of the three modules: verify runs every attack on each */
const MIMIC_TABLES = [
  'mimiciv_hosp.patients',
  'mimiciv_hosp.admissions',
  'mimiciv_hosp.labevents',
  'mimiciv_icu.icustays',
  'mimiciv_icu.d_items',
  'mimiciv_icu.chartevents',
  'mimiciv_note.discharge',
  'mimiciv_note.radiology',
];

let db: TestDatabase;
let dir: string;
let readerUrl: string;
const sfx = uniqueSuffix();
const role = `mimic_analyst_${sfx}`;
const reader = `mimic_reader_${sfx}`;
const otherRole = `cohort_analyst_${sfx}`;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_ops_multi');
  dir = mkdtempSync(join(tmpdir(), 'pgmask-multi-'));
  await db.query(mimicIvDdl(MIMIC_TABLES));
  await db.query(readFileSync(join(import.meta.dirname, 'fixtures', 'mimic-iv-rows.sql'), 'utf8'));
  readerUrl = await db.createLoginRole(reader);
  db.trackRole(role);
  db.trackRole(otherRole);
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

function cli(args: string[]) {
  // verify over three schemas runs every attack three times: slow on a loaded machine
  return runPgmask([...args, '--database-url', db.url], { timeoutMs: 600_000 });
}

describe('several source schemas in one policy (MIMIC-IV hosp, icu, note), and several policies in one database', () => {
  it('one scan over the three schemas → migrate → check 0 → verify 0; a second policy migrates and neither check drifts', async () => {
    const { draft } = await runScan({ databaseUrl: db.url, schemas: MIMIC, preset: 'hipaa-safe-harbor' });
    const doc = parseDocument(draft.yaml);
    expect(Object.keys((doc.toJSON() as { schemas: object }).schemas)).toEqual(MIMIC);
    doc.set('roles', doc.createNode({ [role]: { members: [reader] } }));
    const mimicPolicy = join(dir, 'mimic.yaml');
    writeFileSync(mimicPolicy, doc.toString());

    const migrate = await cli(['migrate', '--policy', mimicPolicy]);
    expect(migrate.stderr).toBe('');
    expect(migrate.code).toBe(0);
    const check = await cli(['check', '--policy', mimicPolicy]);
    expect(check.stdout).toContain('no drift');
    expect(check.code).toBe(0);
    const verify = await cli(['verify', '--policy', mimicPolicy]);
    expect(verify.code, verify.stdout.slice(-2000) + verify.stderr).toBe(0);

    // the member reads each masked schema by unqualified name (its search_path lists all three)
    const counts = await queryAs<{ p: number; s: number; d: number }>(
      readerUrl,
      'SELECT (SELECT count(*) FROM patients)::int AS p, (SELECT count(*) FROM icustays)::int AS s, (SELECT count(*) FROM discharge)::int AS d',
    );
    expect(counts).toEqual([{ p: 120, s: 80, d: 100 }]);
    await expect(queryAs(readerUrl, 'SELECT count(*) FROM mimiciv_hosp.patients')).rejects.toThrow(/permission denied/);

    // a second, separate policy in the same database: its own source and masked schema
    await db.query(`CREATE SCHEMA research;
      CREATE TABLE research.cohort (cohort_id int PRIMARY KEY, subject_id int NOT NULL, enrolled_on date);
      INSERT INTO research.cohort SELECT i, 10000000 + i, date '2130-02-01' + i FROM generate_series(1, 40) i;`);
    const cohortPolicy = join(dir, 'cohort.yaml');
    writeFileSync(
      cohortPolicy,
      `version: 1\nsource_schema: research\nmasked_schema: research_masked\nsubject: subject_id\nroles:\n  ${otherRole}: {}\ntables:\n  cohort:\n    columns: { cohort_id: pseudonymize, subject_id: pseudonymize, enrolled_on: { shift_date: { max_days: 30 } } }\n`,
    );
    const second = await cli(['migrate', '--policy', cohortPolicy]);
    expect(second.code, second.stderr).toBe(0);
    for (const file of [mimicPolicy, cohortPolicy]) {
      const again = await cli(['check', '--policy', file]);
      expect(again.stdout, file).toContain('no drift');
      expect(again.code).toBe(0);
    }
    // the first policy's views are all still there
    const views = await db.query<{ schema: string; n: number }>(
      `SELECT table_schema AS schema, count(*)::int AS n FROM information_schema.views WHERE table_schema LIKE '%_masked' GROUP BY 1 ORDER BY 1`,
    );
    expect(views.rows).toEqual([
      { schema: 'mimiciv_hosp_masked', n: 3 },
      { schema: 'mimiciv_icu_masked', n: 3 },
      { schema: 'mimiciv_note_masked', n: 2 },
      { schema: 'research_masked', n: 1 },
    ]);
    // re-running the first is a no-op, and it did not take the second policy's row for its own
    expect((await cli(['migrate', '--policy', mimicPolicy])).stdout).toContain('up to date');
  }, 900_000);

  it('refuses a policy that would mask into a masked schema another policy made, and changes nothing', async () => {
    const intruder = join(dir, 'intruder.yaml');
    writeFileSync(intruder, `version: 1\nsource_schema: research\nmasked_schema: mimiciv_icu_masked\ntables:\n  cohort:\n    columns: { cohort_id: pseudonymize, subject_id: pseudonymize, enrolled_on: redact }\n`);
    const before = await db.query(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'mimiciv_icu_masked' ORDER BY 1`);
    const r = await cli(['migrate', '--policy', intruder]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('MASKED_SCHEMA_TAKEN');
    expect(r.stderr).toContain('mimiciv_icu');
    const after = await db.query(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'mimiciv_icu_masked' ORDER BY 1`);
    expect(after.rows).toEqual(before.rows);
  }, 120_000);
});
