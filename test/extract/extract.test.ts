import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { clinicPolicy, loadClinic } from '../support/clinic-fixture.ts';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { extractHarness } from './extract-harness.ts';
import { applyPolicy, loadPolicyFile, snapshotFor } from '../../src/cli/pipeline.ts';
import { planExtract } from '../../src/extract/extract-plan.ts';
import { viewsFromPolicy } from '../../src/extract/applied-policy.ts';
import { fakeFirstNames } from '../../src/transforms/data/fake-first-names.ts';
import { fakeLastNames } from '../../src/transforms/data/fake-last-names.ts';

/**
 * pgmask extract on the demo clinic: what the analyst sees, to another database,
 * a SQL file loaded by psql, and CSV; keys hold; no raw identifier anywhere in the
 * output; keyed subsets; the risk gate; one snapshot under concurrent writes.
 */
const s = uniqueSuffix();
const ROLE = `analyst_${s}`;
const READER = `metabase_reader_${s}`;
const TABLES = ['patients', 'encounters', 'observations', 'notes'];

const policyText = clinicPolicy(ROLE, READER);

const exec = promisify(execFile);

describe('pgmask extract', () => {
  let db: TestDatabase;
  let readerUrl: string;
  const { dir, target, extract, cleanup } = extractHarness({ prefix: 'pgmask-extract', policyFile: (d) => join(d, 'clinic.yaml'), sourceUrl: () => db.url });
  const policyFile = join(dir, 'clinic.yaml');
  /** the analyst's row count per table: what every extract must hold */
  const analystCounts: Record<string, number> = {};
  /** raw identifiers that must never appear in an extract */
  let rawNeedles: string[] = [];

  const counts = async (t: { query: TestDatabase['query'] }, schema = 'public') =>
    Object.fromEntries(await Promise.all(TABLES.map(async (n) => [n, (await t.query(`SELECT count(*)::int AS n FROM "${schema}"."${n}"`)).rows[0].n])));

  beforeAll(async () => {
    writeFileSync(policyFile, policyText);
    db = await createTestDatabase();
    db.trackRole(ROLE);
    await loadClinic(db, { scale: 10000, seed: 5 });
    // the demo's phones are in the fictional 555-01xx range, which is also the fake phone transform's output
    // space: give each patient a distinct real-looking number, so finding one in the output would be a leak
    await db.query(`UPDATE public.patients SET phone = format('+1-617-%s', lpad((abs(hashtext(patient_id)) % 10000000)::text, 7, '0'))`);
    readerUrl = await db.createLoginRole(READER);
    await applyPolicy(db.url, policyText, { file: 'clinic.yaml' });
    // a fixed key: the subset and the comparisons below are reproducible
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('3c', 32), 'hex')`);
    // the analyst's rows whose parents the analyst also sees (an extract never holds an orphan; once consent
    // filters reach child tables in the views themselves, these are simply the views' row counts)
    const visible = {
      patients: 'SELECT count(*)::int AS n FROM patients',
      encounters: 'SELECT count(*)::int AS n FROM encounters WHERE patient_id IN (SELECT patient_id FROM patients)',
      observations: `SELECT count(*)::int AS n FROM observations WHERE patient_id IN (SELECT patient_id FROM patients)
        AND encounter_id IN (SELECT encounter_id FROM encounters WHERE patient_id IN (SELECT patient_id FROM patients))`,
      notes: `SELECT count(*)::int AS n FROM notes WHERE patient_id IN (SELECT patient_id FROM patients)
        AND encounter_id IN (SELECT encounter_id FROM encounters WHERE patient_id IN (SELECT patient_id FROM patients))`,
    };
    for (const [t, q] of Object.entries(visible)) analystCounts[t] = (await queryAs(readerUrl, q))[0].n;
    // raw names, except those in the fake transform's own dictionary: a fake author name drawn from it may equal
    // a patient's name by chance, and says nothing about the patient
    const fakeNames = new Set([...fakeFirstNames, ...fakeLastNames]);
    const raw = await db.query(`SELECT mrn, first_name, last_name, phone, email FROM public.patients`);
    rawNeedles = raw.rows
      .flatMap((r) => [r.mrn, r.phone, r.email, ...[r.first_name, r.last_name].filter((n: string | null) => n && !fakeNames.has(n))])
      .filter((v: string | null) => v && v.length >= 6);
  }, 180_000);
  afterAll(async () => {
    await cleanup();
    await db?.query(`DROP OWNED BY "${ROLE}"`).catch(() => {});
    await db?.drop();
  });

  /** Raw birth dates per masked patient id, linked by recomputing the pseudonym as the admin (the keys are the test's). */
  async function rawBirthDates(): Promise<Map<string, string>> {
    const rows = await db.query(
      `SELECT pgmask.pseudonymize(p.patient_id, (SELECT key FROM pgmask_private.keys WHERE name = 'default'), '{}'::jsonb) AS pid, p.birth_date::text AS birth FROM public.patients p`,
    );
    return new Map(rows.rows.map((r) => [r.pid, r.birth]));
  }

  async function expectNoRawIdentifiers(text: string, patients: { patient_id: string; birth_date: string }[]) {
    expect(rawNeedles.length).toBeGreaterThan(2000);
    const found = rawNeedles.filter((n) => text.includes(n));
    expect(found.slice(0, 5)).toEqual([]);
    const births = await rawBirthDates();
    let linked = 0;
    let exact = 0;
    for (const p of patients) {
      const raw = births.get(p.patient_id);
      if (raw === undefined) continue;
      linked++;
      if (raw !== null && raw === p.birth_date) exact++;
    }
    // the link itself must work, or the birth-date check would pass vacuously
    expect(linked).toBe(patients.length);
    expect(exact).toBe(0);
  }

  it('extracts to another database: the analyst row counts, keys re-created and validated, no raw identifier', async () => {
    const t = await target();
    const run = await extract('--to', t.url, '--jobs', '2');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await counts(t)).toEqual(analystCounts);
    const constraints = await t.query(`SELECT conrelid::regclass::text AS rel, contype, convalidated FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`);
    expect(constraints.rows.filter((r) => r.contype === 'p').map((r) => r.rel).sort()).toEqual([...TABLES].sort());
    expect(constraints.rows.filter((r) => r.contype === 'f').length).toBeGreaterThanOrEqual(4);
    expect(constraints.rows.every((r) => r.convalidated)).toBe(true);
    // same column names and types as the analyst's views, and the rule as a column comment
    const cols = await t.query(`SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'patients' ORDER BY ordinal_position`);
    const viewCols = await queryAs(readerUrl, `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'masked' AND table_name = 'patients' ORDER BY ordinal_position`);
    expect(cols.rows).toEqual(viewCols);
    const comment = await t.query(`SELECT col_description('public.patients'::regclass, 2) AS c`);
    expect(comment.rows[0].c).toMatch(/^pgmask: \{ pseudonymize/);
    const manifest = (await t.query(`SELECT manifest FROM public.pgmask_extract`)).rows[0].manifest;
    expect(manifest.policyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.keys).toEqual([{ name: 'default', version: 1, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
    // every byte of every table, as text
    let text = '';
    for (const n of TABLES) text += JSON.stringify((await t.query(`SELECT * FROM public."${n}"`)).rows);
    const patients = (await t.query(`SELECT patient_id, birth_date::text AS birth_date FROM public.patients`)).rows;
    await expectNoRawIdentifiers(text, patients);
  }, 240_000);

  it('reads each view once when the applied policy’s consent routes already keep every parent, and checks every key when the file differs', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { policy } = await loadPolicyFile(policyFile);
      const snapshot = await snapshotFor(c, policy);
      expect(await viewsFromPolicy(c, policy)).toBe(true);
      const fast = planExtract(policy, snapshot, null, { viewsFromThisPolicy: true });
      // the views hide a child row whenever its patient is hidden (consent cascade): no parent view is read again
      const viewReads = (p: typeof fast) => Object.fromEntries(p.tables.map((t) => [t.name, t.select.text.split(' FROM "masked".').length - 1]));
      expect(viewReads(fast)).toEqual({ patients: 1, encounters: 1, observations: 1, notes: 1 });
      expect(fast.warnings).toEqual([]);
      // a file that is not the applied one may describe other views: every key is checked against its parent view
      const edited = (await loadPolicyFile(policyFile)).policy;
      const other = { ...edited, hash: '0'.repeat(64) };
      expect(await viewsFromPolicy(c, other)).toBe(false);
      const slow = planExtract(other, snapshot, null, { viewsFromThisPolicy: false });
      expect(viewReads(slow)).toEqual({ patients: 1, encounters: 2, observations: 4, notes: 4 });
      expect(slow.warnings).toEqual([expect.stringMatching(/not the one last applied/)]);
    } finally {
      await c.end();
    }
  }, 60_000);

  it('refuses a target that already holds the tables, and --replace overwrites it', async () => {
    const t = await target();
    expect((await extract('--to', t.url)).code).toBe(0);
    const again = await extract('--to', t.url);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/error\[EXTRACT_TARGET_NOT_EMPTY\]/);
    expect(again.stderr).toMatch(/hint: .*--replace/);
    const replaced = await extract('--to', t.url, '--replace');
    expect(replaced.code).toBe(0);
    expect(await counts(t)).toEqual(analystCounts);
  }, 240_000);

  it('writes one SQL file that psql -f loads into an empty database', async () => {
    const file = join(dir, 'clinic.sql');
    const run = await extract('--out', file);
    expect(run.code).toBe(0);
    expect(existsSync(`${file}.partial`)).toBe(false);
    const t = await target();
    await exec('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', t.url, '-f', file]);
    expect(await counts(t)).toEqual(analystCounts);
    const fks = await t.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND convalidated AND connamespace = 'public'::regnamespace`);
    expect(fks.rows[0].n).toBeGreaterThanOrEqual(4);
    const bytes = readFileSync(file, 'utf8');
    const patients = (await t.query(`SELECT patient_id, birth_date::text AS birth_date FROM public.patients`)).rows;
    await expectNoRawIdentifiers(bytes, patients);
    const exists = await extract('--out', file);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/EXTRACT_OUTPUT_EXISTS/);
  }, 240_000);

  it('writes CSV files with a manifest of row counts and sha256, and no raw identifier', async () => {
    const out = join(dir, 'csv');
    const run = await extract('--format', 'csv', '--out', out, '--jobs', '2', '--json');
    expect(run.code).toBe(0);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(Object.fromEntries(manifest.tables.map((t: { name: string; rows: number }) => [t.name, t.rows]))).toEqual(analystCounts);
    expect(JSON.stringify(manifest)).not.toMatch(/"key"\s*:/);
    let all = '';
    for (const t of manifest.tables) {
      const bytes = readFileSync(join(out, t.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(t.sha256);
      expect(bytes.toString('utf8').split('\n').filter(Boolean).length - 1).toBeGreaterThanOrEqual(t.rows > 0 ? 1 : 0);
      all += bytes.toString('utf8');
    }
    expect(readdirSync(out).sort()).toEqual(['encounters.csv', 'manifest.json', 'notes.csv', 'observations.csv', 'patients.csv']);
    const lines = readFileSync(join(out, 'patients.csv'), 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    const patients = lines.slice(1).map((l) => {
      const f = l.split(',');
      return { patient_id: f[header.indexOf('patient_id')]!, birth_date: f[header.indexOf('birth_date')]! };
    });
    await expectNoRawIdentifiers(all, patients);
  }, 240_000);

  it('--subjects 10% keeps 10% ± 2% of patients with all their rows, no orphans, the same subset twice', async () => {
    const a = await target();
    const b = await target();
    expect((await extract('--to', a.url, '--subjects', '10%')).code).toBe(0);
    expect((await extract('--to', b.url, '--subjects', '10%', '--jobs', '2')).code).toBe(0);
    const n = (await a.query(`SELECT count(*)::int AS n FROM patients`)).rows[0].n;
    expect(n / analystCounts.patients!).toBeGreaterThan(0.08);
    expect(n / analystCounts.patients!).toBeLessThan(0.12);
    // every encounter, observation and note the analyst sees for a kept patient is kept
    const keptPatients = (await a.query(`SELECT patient_id FROM patients`)).rows.map((r) => r.patient_id);
    for (const table of ['encounters', 'observations', 'notes']) {
      const seen = await queryAs(readerUrl, `SELECT count(*)::int AS n FROM ${table} WHERE patient_id = ANY ($1::text[])`, [keptPatients]);
      const kept = await a.query(`SELECT count(*)::int AS n FROM ${table}`);
      expect(kept.rows[0].n).toBe(seen[0].n);
    }
    // foreign keys were created (validated) in the target: no orphan exists
    const orphans = await a.query(`SELECT count(*)::int AS n FROM observations o WHERE NOT EXISTS (SELECT 1 FROM encounters e WHERE e.encounter_id = o.encounter_id)`);
    expect(orphans.rows[0].n).toBe(0);
    const ids = async (t: TestDatabase) => (await t.query(`SELECT patient_id FROM patients ORDER BY 1`)).rows.map((r) => r.patient_id);
    expect(await ids(b)).toEqual(await ids(a));
  }, 240_000);

  it('--where starts from chosen rows and takes their subjects’ rows in every table', async () => {
    const t = await target();
    const run = await extract('--to', t.url, '--where', "patients: sex = 'F'");
    expect(run.code).toBe(0);
    const sexes = (await t.query(`SELECT DISTINCT sex FROM patients`)).rows.map((r) => r.sex);
    expect(sexes).toEqual(['F']);
    const expected = await queryAs(readerUrl, `SELECT count(*)::int AS n FROM encounters e JOIN patients p USING (patient_id) WHERE p.sex = 'F'`);
    expect((await t.query(`SELECT count(*)::int AS n FROM encounters`)).rows[0].n).toBe(expected[0].n);
    const bad = await extract('--to', t.url, '--replace', '--where', 'patients: sex = = 1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/EXTRACT_WHERE_INVALID/);
    const injected = await extract('--to', t.url, '--replace', '--where', "patients: true); DROP TABLE x; --");
    expect(injected.code).toBe(2);
    expect(injected.stderr).toMatch(/EXTRACT_WHERE_INVALID/);
    // the failed runs wrote nothing: the earlier extract is still complete
    expect((await t.query(`SELECT count(*)::int AS n FROM pgmask_extract`)).rows[0].n).toBe(1);
  }, 240_000);

  it('--min-k refuses an extract below k (exit 7) and writes nothing', async () => {
    const t = await target();
    const file = join(dir, 'refused.sql');
    const run = await extract('--to', t.url, '--min-k', '100000');
    expect(run.code).toBe(7);
    expect(run.stderr).toMatch(/EXTRACT_RISK/);
    const tables = await t.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables.rows[0].n).toBe(0);
    expect((await extract('--out', file, '--min-k', '100000')).code).toBe(7);
    expect(existsSync(file) || existsSync(`${file}.partial`)).toBe(false);
    // k = 1 on exact (shifted) birth dates: only --min-k 1 passes, and then the file is written
    expect((await extract('--out', file, '--min-k', '1')).code).toBe(0);
    expect(existsSync(file)).toBe(true);
  }, 240_000);

  it('refuses a role that is not a masking role of the policy, and two destinations', async () => {
    const run = await extract('--out', join(dir, 'x.sql'), '--role', 'postgres');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/EXTRACT_NOT_MASKING_ROLE/);
    const both = await extract('--out', join(dir, 'x.sql'), '--to', db.url);
    expect(both.code).toBe(2);
    expect(existsSync(join(dir, 'x.sql'))).toBe(false);
  }, 240_000);

  it('keeps foreign keys whole while the source is written to during a --jobs 2 extract (one snapshot)', async () => {
    const t = await target();
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    let stop = false;
    let inserted = 0;
    const writes = (async () => {
      // each new patient with an encounter and an observation, committed one by one while the extract runs
      for (let i = 0; !stop && i < 5000; i++) {
        await writer.query(`WITH p AS (INSERT INTO public.patients (patient_id, mrn, first_name, last_name, birth_date, zip, sex, weight_kg, email, phone)
            VALUES ('new-${s}-' || ${i}, 'NEWMRN${i}', 'Ann', 'Newcomer', '1970-01-01', '02139', 'F', 70, NULL, NULL) RETURNING patient_id),
          e AS (INSERT INTO public.encounters (encounter_id, patient_id, admitted_at, discharged_at, department, reason)
            SELECT 900000000 + ${i}, patient_id, now(), now(), 'ED', 'test' FROM p RETURNING encounter_id, patient_id)
          INSERT INTO public.observations (observation_id, encounter_id, patient_id, loinc_code, value_num, unit, observed_at)
            SELECT 900000000 + ${i}, encounter_id, patient_id, '1234-5', 1, 'mg', now() FROM e`);
        inserted++;
      }
    })();
    const run = await extract('--to', t.url, '--jobs', '2');
    stop = true;
    await writes;
    await writer.end();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(inserted).toBeGreaterThan(0);
    // the foreign keys were created and validated in the target, so no row references a missing parent
    const fks = await t.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND convalidated AND connamespace = 'public'::regnamespace`);
    expect(fks.rows[0].n).toBeGreaterThanOrEqual(4);
    const n = (await t.query(`SELECT count(*)::int AS n FROM encounters`)).rows[0].n;
    const p = (await t.query(`SELECT count(*)::int AS n FROM patients`)).rows[0].n;
    expect(n).toBeGreaterThanOrEqual(analystCounts.encounters!);
    expect(p).toBeGreaterThanOrEqual(analystCounts.patients!);
    await db.query(`DELETE FROM public.observations WHERE observation_id >= 900000000; DELETE FROM public.encounters WHERE encounter_id >= 900000000; DELETE FROM public.patients WHERE patient_id LIKE 'new-%'`);
  }, 240_000);
});
