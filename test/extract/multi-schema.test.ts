import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';
import { extractHarness } from './extract-harness.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';

/**
 * An extract of a policy with two source schemas: `hosp.results` and `lab.results`
 * share a name, `lab.results` references `hosp.encounters` across schemas, and it
 * reaches its patient only through `subject_via: encounter_id` (its other foreign
 * key, `donor_id`, names another patient and is the shorter route). Each table
 * must come from its own schema, land in its own schema (as the analyst sees it:
 * hosp_masked.results and lab_masked.results), keep its cross-schema key, and be
 * subset through the route the policy chose.
 */
const s = uniqueSuffix();
const ROLE = `ms_analyst_${s}`;
const READER = `ms_reader_${s}`;
const exec = promisify(execFile);

const policyText = `version: 1
runtime: sql
subject: patient_id
keys: [default]
roles:
  ${ROLE}:
    members: [${READER}]
schemas:
  hosp:
    masked_schema: hosp_masked
    tables:
      patients:
        filter: "NOT opted_out"
        columns: { patient_id: pseudonymize, name: redact, birth_year: keep, opted_out: keep }
      encounters:
        columns: { encounter_id: keep, patient_id: pseudonymize, ward: keep }
      results:
        columns: { result_id: keep, encounter_id: keep, value: keep }
  lab:
    masked_schema: lab_masked
    tables:
      results:
        subject_via: encounter_id
        quasi_identifiers: [assay]
        columns: { result_id: keep, encounter_id: keep, donor_id: pseudonymize, assay: keep }
`;

/** the analyst's view of each table, by the name the extract gives it */
const VIEWS = ['hosp_masked.patients', 'hosp_masked.encounters', 'hosp_masked.results', 'lab_masked.results'];
const DONOR_SEEN = 'donor_id IS NULL OR donor_id IN (SELECT patient_id FROM hosp_masked.patients)';

describe('pgmask extract of a policy with several source schemas', () => {
  let db: TestDatabase;
  let readerUrl: string;
  const { dir, target, extract, cleanup } = extractHarness({ prefix: 'pgmask-extract-ms', policyFile: (d) => join(d, 'policy.yaml'), sourceUrl: () => db.url });
  const analystCounts: Record<string, number> = {};
  /** lab rows whose donor the analyst sees too: the others would be orphans, and an extract never holds one */
  let analystWithDonors = 0;
  const extractCounts = () => ({ ...analystCounts, 'lab_masked.results': analystWithDonors });
  let rawNeedles: string[] = [];
  const counts = async (t: TestDatabase) => Object.fromEntries(await Promise.all(VIEWS.map(async (v) => [v, (await t.query(`SELECT count(*)::int AS n FROM ${v}`)).rows[0].n])));
  const dumpText = async (t: TestDatabase) => {
    let text = '';
    for (const v of VIEWS) text += JSON.stringify((await t.query(`SELECT * FROM ${v}`)).rows);
    return text;
  };
  const foreignKeys = async (t: TestDatabase) =>
    (
      await t.query(
        `SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent, convalidated FROM pg_constraint WHERE contype = 'f' AND connamespace::regnamespace::text IN ('hosp_masked', 'lab_masked') ORDER BY 1, 2`,
      )
    ).rows;
  const EXPECTED_FKS = [
    { child: 'hosp_masked.encounters', parent: 'hosp_masked.patients', convalidated: true },
    { child: 'hosp_masked.results', parent: 'hosp_masked.encounters', convalidated: true },
    { child: 'lab_masked.results', parent: 'hosp_masked.encounters', convalidated: true },
    { child: 'lab_masked.results', parent: 'hosp_masked.patients', convalidated: true },
  ];

  beforeAll(async () => {
    writeFileSync(join(dir, 'policy.yaml'), policyText);
    db = await createTestDatabase('pgmask_extract_ms');
    db.trackRole(ROLE);
    // 60 patients (every 7th opted out), 2 encounters each, 2 hosp results and 1 lab result per encounter;
    // a lab result's donor is another patient; a few donors opted out, which hides nothing (subject_via is the
    // encounter) but leaves those rows without their donor in the analyst's view: the extract must drop them
    await db.query(`
      CREATE SCHEMA hosp; CREATE SCHEMA lab;
      CREATE TABLE hosp.patients (patient_id text PRIMARY KEY, name text, birth_year int, opted_out boolean NOT NULL);
      CREATE TABLE hosp.encounters (encounter_id int PRIMARY KEY, patient_id text NOT NULL REFERENCES hosp.patients, ward text);
      CREATE TABLE hosp.results (result_id int PRIMARY KEY, encounter_id int NOT NULL REFERENCES hosp.encounters, value text);
      CREATE TABLE lab.results (result_id int PRIMARY KEY, encounter_id int NOT NULL REFERENCES hosp.encounters,
        donor_id text REFERENCES hosp.patients, assay text);
      INSERT INTO hosp.patients SELECT format('HOSPPAT%s', lpad(i::text, 4, '0')), format('Zebulon%sQuartermain', i), 1950 + i % 40, i % 7 = 0
        FROM generate_series(1, 60) i;
      INSERT INTO hosp.encounters SELECT p * 10 + k, format('HOSPPAT%s', lpad(p::text, 4, '0')), 'W' || k FROM generate_series(1, 60) p, generate_series(1, 2) k;
      INSERT INTO hosp.results SELECT e.encounter_id * 10 + k, e.encounter_id, 'v' || k FROM hosp.encounters e, generate_series(1, 2) k;
      INSERT INTO lab.results SELECT e.encounter_id, e.encounter_id, format('HOSPPAT%s', lpad((1 + (e.encounter_id * 7) % 60)::text, 4, '0')),
        CASE WHEN e.encounter_id = 11 THEN 'rare' ELSE 'cbc' END
        FROM hosp.encounters e;
      UPDATE lab.results SET donor_id = NULL WHERE donor_id IN (SELECT patient_id FROM hosp.patients WHERE opted_out) AND result_id % 3 <> 0;`);
    readerUrl = await db.createLoginRole(READER);
    await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('5a', 32), 'hex')`);
    for (const v of VIEWS) analystCounts[v] = (await queryAs(readerUrl, `SELECT count(*)::int AS n FROM ${v}`))[0].n;
    analystWithDonors = (await queryAs(readerUrl, `SELECT count(*)::int AS n FROM lab_masked.results WHERE ${DONOR_SEEN}`))[0].n;
    const raw = await db.query(`SELECT patient_id, name FROM hosp.patients`);
    rawNeedles = raw.rows.flatMap((r) => [r.patient_id, r.name]);
  }, 120_000);
  afterAll(async () => {
    await cleanup();
    await db?.query(`DROP OWNED BY "${ROLE}"`).catch(() => {});
    await db?.drop();
  });

  it('the fixture: both same-named tables hold rows, the consent filter hides some', () => {
    expect(analystCounts).toEqual({ 'hosp_masked.patients': 52, 'hosp_masked.encounters': 104, 'hosp_masked.results': 208, 'lab_masked.results': 104 });
    expect(analystWithDonors).toBeGreaterThan(90);
    expect(analystWithDonors).toBeLessThan(104);
    expect(rawNeedles).toHaveLength(120);
  });

  it('to another database: each table in its own schema with the analyst row counts, cross-schema keys validated, no raw value', async () => {
    const t = await target();
    const run = await extract('--to', t.url, '--jobs', '2');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await counts(t)).toEqual(extractCounts());
    expect(await foreignKeys(t)).toEqual(EXPECTED_FKS);
    const text = await dumpText(t);
    expect(rawNeedles.filter((n) => text.includes(n))).toEqual([]);
    // lab's rows are lab's, not hosp's: the column sets differ
    expect(Object.keys((await t.query(`SELECT * FROM lab_masked.results LIMIT 1`)).rows[0]).sort()).toEqual(['assay', 'donor_id', 'encounter_id', 'result_id']);
    const manifest = (await t.query(`SELECT manifest FROM hosp_masked.pgmask_extract`)).rows[0].manifest;
    expect(manifest.tables.map((m: { schema: string; name: string; view: string }) => `${m.schema}.${m.name} ${m.view}`).sort()).toEqual(VIEWS.map((v) => `${v} ${v}`).sort());
  }, 120_000);

  it('to a SQL file that psql loads, and to CSV files named by schema and table: the same rows, no raw value', async () => {
    const file = join(dir, 'ms.sql');
    expect((await extract('--out', file)).code).toBe(0);
    const t = await target();
    await exec('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', t.url, '-f', file]);
    expect(await counts(t)).toEqual(extractCounts());
    expect(await foreignKeys(t)).toEqual(EXPECTED_FKS);
    expect(rawNeedles.filter((n) => readFileSync(file, 'utf8').includes(n))).toEqual([]);

    const out = join(dir, 'csv');
    expect((await extract('--format', 'csv', '--out', out, '--jobs', '2')).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['hosp_masked.encounters.csv', 'hosp_masked.patients.csv', 'hosp_masked.results.csv', 'lab_masked.results.csv', 'manifest.json']);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(Object.fromEntries(manifest.tables.map((m: { view: string; rows: number; file: string }) => [m.view, m.rows]))).toEqual(extractCounts());
    let all = '';
    for (const m of manifest.tables) {
      const lines = readFileSync(join(out, m.file), 'utf8').trim().split('\n');
      expect(lines.length - 1).toBe(m.rows);
      all += lines.join('\n');
    }
    expect(readFileSync(join(out, 'lab_masked.results.csv'), 'utf8').split('\n')[0]).toBe('result_id,encounter_id,donor_id,assay');
    expect(rawNeedles.filter((n) => all.includes(n))).toEqual([]);
  }, 120_000);

  it('--subjects 50% subsets lab.results through subject_via (its encounter’s patient), not its donor: no orphans, the same subset twice', async () => {
    const a = await target();
    const b = await target();
    expect((await extract('--to', a.url, '--subjects', '50%', '--seed', 'ms')).code).toBe(0);
    expect((await extract('--to', b.url, '--subjects', '50%', '--seed', 'ms', '--jobs', '2')).code).toBe(0);
    // the sampled patients: the documented keyed hash of the masked patient id, below half of 2^32
    const sampledOf = async (t: TestDatabase) =>
      (
        await t.query(
          `SELECT patient_id FROM hosp_masked.patients WHERE ('x' || substr(md5('ms' || chr(31) || patient_id), 1, 8))::bit(32)::bigint < 2147483648 ORDER BY 1`,
        )
      ).rows.map((r) => r.patient_id);
    const sampled = await sampledOf(a);
    expect(sampled.length).toBeGreaterThan(10);
    expect(sampled.length).toBeLessThan(42);
    // every kept encounter is a sampled patient's, and every sampled patient's encounter is kept
    const encounters = (await a.query(`SELECT encounter_id, patient_id FROM hosp_masked.encounters`)).rows;
    expect(encounters.filter((e) => !sampled.includes(e.patient_id))).toEqual([]);
    const analystEncounters = await queryAs(readerUrl, `SELECT encounter_id FROM hosp_masked.encounters WHERE patient_id = ANY ($1::text[]) ORDER BY 1`, [sampled]);
    expect(encounters.map((e) => e.encounter_id).sort((x, y) => x - y)).toEqual(analystEncounters.map((e) => e.encounter_id));
    // lab.results: exactly the rows of the sampled patients' encounters, whoever the (visible) donor
    const expectedLab = await queryAs(
      readerUrl,
      `SELECT r.result_id FROM lab_masked.results r JOIN hosp_masked.encounters e USING (encounter_id) WHERE e.patient_id = ANY ($1::text[]) AND (${DONOR_SEEN}) ORDER BY 1`,
      [sampled],
    );
    const keptLab = (await a.query(`SELECT result_id FROM lab_masked.results ORDER BY 1`)).rows;
    expect(keptLab).toEqual(expectedLab);
    const expectedHosp = await queryAs(
      readerUrl,
      `SELECT count(*)::int AS n FROM hosp_masked.results r JOIN hosp_masked.encounters e USING (encounter_id) WHERE e.patient_id = ANY ($1::text[])`,
      [sampled],
    );
    expect((await a.query(`SELECT count(*)::int AS n FROM hosp_masked.results`)).rows[0].n).toBe(expectedHosp[0].n);
    // the patients beyond the sample are exactly the donors the kept lab rows reference (parents, so no orphan)
    const extra = (await a.query(`SELECT patient_id FROM hosp_masked.patients WHERE NOT patient_id = ANY ($1::text[]) ORDER BY 1`, [sampled])).rows.map((r) => r.patient_id);
    const donors = (await a.query(`SELECT DISTINCT donor_id FROM lab_masked.results WHERE donor_id IS NOT NULL AND NOT donor_id = ANY ($1::text[]) ORDER BY 1`, [sampled])).rows.map((r) => r.donor_id);
    expect(extra).toEqual(donors);
    expect(await foreignKeys(a)).toEqual(EXPECTED_FKS);
    // the same subset on a second run
    for (const v of VIEWS) {
      const rows = async (t: TestDatabase) => (await t.query(`SELECT * FROM ${v} ORDER BY 1`)).rows;
      expect(await rows(b)).toEqual(await rows(a));
    }
  }, 120_000);

  it('--min-k reads each table’s own quasi-identifiers, --where names a table by schema, --schema is refused', async () => {
    const file = join(dir, 'refused.sql');
    // lab.results has one 'rare' assay: k = 1 there (hosp.results, of the same name, declares none)
    const refused = await extract('--out', file, '--min-k', '2');
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(/lab_masked\.results: k = 1 over \(assay\)/);
    const ambiguous = await extract('--out', file, '--where', "results: value = 'v1'");
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/EXTRACT_WHERE_TABLE/);
    expect(ambiguous.stderr).toMatch(/hint: .*hosp\.results.*lab\.results/);
    const t = await target();
    const chosen = await extract('--to', t.url, '--where', "lab.results: assay = 'rare'");
    expect(chosen.stderr).toBe('');
    expect(chosen.code).toBe(0);
    // encounter 11 is patient 1's: their two encounters, their lab rows
    expect((await t.query(`SELECT count(*)::int AS n FROM hosp_masked.encounters`)).rows[0].n).toBe(2);
    expect((await t.query(`SELECT count(*)::int AS n FROM lab_masked.results`)).rows[0].n).toBe(2);
    const schema = await extract('--out', file, '--schema', 'x');
    expect(schema.code).toBe(2);
    expect(schema.stderr).toMatch(/EXTRACT_SCHEMA_SEVERAL/);
  }, 120_000);

  it('refuses a subset when the subject_via foreign key is not kept (its two ends masked differently), and writes nothing', async () => {
    // the same views, but a policy file whose lab.results.encounter_id rule differs from hosp.encounters': the key cannot hold
    const other = join(dir, 'other.yaml');
    writeFileSync(other, policyText.replace('columns: { result_id: keep, encounter_id: keep, donor_id', 'columns: { result_id: keep, encounter_id: pseudonymize, donor_id'));
    const file = join(dir, 'via.sql');
    const run = await runPgmask(['extract', '--policy', other, '--database-url', db.url, '--out', file, '--subjects', '50%']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /error\[EXTRACT_SUBJECT_VIA\]: lab_masked\.results reaches its subject through subject_via \(encounter_id\), which the extract cannot follow \(foreign key \S+ is not re-created: encounter_id and hosp_masked\.encounters\.encounter_id are masked by different rules/,
    );
    expect(run.stderr).toMatch(/hint: /);
    expect(existsSync(file) || existsSync(`${file}.partial`)).toBe(false);
  }, 60_000);
});
