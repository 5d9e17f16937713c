import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { scanDatabase } from '../../src/scan/scan-database.ts';
import { draftPolicy } from '../../src/scan/draft-policy.ts';
import { policyHeader } from '../support/policy-header.ts';

/**
 * Issue 17, must show: FHIR resources in jsonb. A Patient carries an unlisted extension with an
 * SSN: the SSN appears nowhere in the masked output; listed paths carry their transforms; the
 * output is valid JSON with the structure of the listed paths. The FHIR R4 preset masks
 * Patient, Encounter and Observation by resourceType. Bad rules (malformed path, a transform
 * that takes no JSON value, an array rule on a scalar column, snr_db out of range) exit 3 at
 * file:line:column and change nothing.
 */
const s = uniqueSuffix();
const ROLE = `fhir_${s}`;
const READER = `fhir_reader_${s}`;
const SSN = '123-45-6789';

const patient = (i: number) => ({
  resourceType: 'Patient',
  id: `pat-${i}`,
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: `MRN-${1000 + i}` }, { system: 'urn:mrn', value: `A${i}` }],
  name: [{ use: 'official', family: `Chalmers${i}`, given: ['Peter', 'James'] }, { use: 'maiden', family: `Windsor${i}` }],
  telecom: [{ system: 'phone', value: `(03) 5555 65${i}` }],
  gender: i % 2 ? 'male' : 'female',
  birthDate: i === 3 ? '1925-06-01' : `19${60 + i}-12-25`,
  address: [{ line: [`${i} Erewhon St`], city: 'PleasantVille', state: 'MA', postalCode: i === 2 ? '03601' : '02115-1234' }],
  extension: [{ url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ssn', valueString: SSN }],
  text: { status: 'generated', div: `<div>Peter Chalmers${i}, SSN ${SSN}</div>` },
});
const encounter = { resourceType: 'Encounter', id: 'enc-1', status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/pat-1', display: 'Peter Chalmers1' }, period: { start: '2015-02-07T13:28:17-05:00', end: '2015-02-12' } };
const observation = { resourceType: 'Observation', id: 'obs-1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: 'Patient/pat-1' }, effectiveDateTime: '2015-02-07T13:28:17Z', valueQuantity: { value: 98.60, unit: 'bpm' }, note: [{ text: `called ${SSN}` }] };

const policy = (docRule: string, extra = '') => `${policyHeader(ROLE, READER)}tables:
  resources:
    columns:
      id: keep
      subject_id: pseudonymize
      doc:
${docRule}
      fhir: { json: { preset: fhir_r4 } }${extra}
`;
const PATHS = `        json:
          paths:
            "$.resourceType": keep
            "$.name[*].family": redact
            "$.birthDate": { generalize_date: { to: year } }
            "$.identifier[*].value": pseudonymize
            "$.address[*].postalCode": zip3
            "$.gender": keep`;

describe('JSON documents: path rules and the FHIR R4 preset (sql runtime)', () => {
  let db: TestDatabase;
  let readerUrl: string;
  let dir: string;
  const migrate = (text: string) => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, text);
    return runPgmask(['migrate', '--policy', file, '--database-url', db.url]);
  };

  beforeAll(async () => {
    db = await createTestDatabase('pgmask_json');
    db.trackRole(ROLE);
    dir = mkdtempSync(join(tmpdir(), 'pgmask-json-'));
    await db.query(`CREATE TABLE resources (id int PRIMARY KEY, subject_id text NOT NULL, doc jsonb, fhir json, lead real[], weight real)`);
    const rows = [1, 2, 3].map((i) => [i, `S${i}`, JSON.stringify(patient(i)), JSON.stringify(patient(i))]);
    rows.push([4, 'S1', JSON.stringify(encounter), JSON.stringify(encounter)]);
    rows.push([5, 'S1', JSON.stringify(observation), JSON.stringify(observation)]);
    // not the shape the paths expect: a string where an object is listed, names as a string
    rows.push([6, 'S2', JSON.stringify({ resourceType: 'Patient', name: `Jane ${SSN}`, identifier: SSN }), JSON.stringify(`Patient ${SSN}`)]);
    for (const r of rows) await db.query(`INSERT INTO resources (id, subject_id, doc, fhir) VALUES ($1, $2, $3::text::jsonb, $4::text::json)`, r);
    readerUrl = await db.createLoginRole(READER);
    const r = await migrate(policy(PATHS, '\n      lead: keep\n      weight: keep'));
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await db?.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
    await db?.drop();
  });

  it('the SSN of an unlisted extension (and of free text, and of documents of the wrong shape) appears nowhere in the masked output', async () => {
    const all = await queryAs(readerUrl, `SELECT id, doc::text AS doc, fhir::text AS fhir FROM masked.resources ORDER BY id`);
    expect(all).toHaveLength(6);
    const text = JSON.stringify(all);
    expect(text).not.toContain(SSN);
    expect(text).not.toContain('6789');
    expect(text).not.toContain('Chalmers');
    expect(text).not.toContain('Erewhon');
    // the same attack on a broken setup (unlisted paths kept) does see it
    const broken = await db.query(`SELECT pgmask._json_assemble(doc, '[["gender"]]'::jsonb, '[[["x"]]]'::jsonb, true)::text AS t FROM public.resources WHERE id = 1`);
    expect(broken.rows[0].t).toContain(SSN);
  });

  it('carries each listed path transformed, as valid JSON with the listed structure', async () => {
    const [row] = await queryAs(readerUrl, `SELECT doc FROM masked.resources WHERE id = 1`);
    const doc = row.doc as Record<string, any>;
    expect(Object.keys(doc).sort()).toEqual(['address', 'birthDate', 'gender', 'identifier', 'name', 'resourceType']);
    expect(doc.name).toEqual([{ family: null }, { family: null }]);
    expect(doc.birthDate).toBe('1961-01-01');
    expect(doc.identifier).toHaveLength(2);
    for (const id of doc.identifier) expect(Object.keys(id)).toEqual(['value']);
    expect(doc.identifier[0].value).toMatch(/^[0-9a-f]{20}$/);
    expect(doc.address).toEqual([{ postalCode: '02100' }]);
    const [restricted] = await queryAs(readerUrl, `SELECT doc #>> '{address,0,postalCode}' AS zip FROM masked.resources WHERE id = 2`);
    expect(restricted.zip).toBe('00000');
    // a document of the wrong shape: listed names and identifiers that are strings are removed, not passed
    const [odd] = await queryAs(readerUrl, `SELECT doc FROM masked.resources WHERE id = 6`);
    expect(odd.doc).toEqual({ resourceType: 'Patient' });
    // the same pseudonym as a scalar pseudonymize of the same text (one key, one token everywhere)
    const [same] = (await db.query(`SELECT (SELECT subject_id FROM masked.resources WHERE id = 1) AS a, pgmask.pseudonymize('S1', (SELECT key FROM pgmask_private.keys WHERE name = 'default'), '{}') AS b`)).rows;
    expect(same.a).toBe(same.b);
  });

  it('masks FHIR Patient, Encounter and Observation with the preset, by resourceType', async () => {
    const rows = await queryAs(readerUrl, `SELECT id, fhir::jsonb AS f FROM masked.resources ORDER BY id`);
    const [p1, , p3, enc, obs, notFhir] = rows.map((r) => r.f);
    expect(Object.keys(p1).sort()).toEqual(['address', 'birthDate', 'gender', 'id', 'identifier', 'resourceType']);
    expect(p1.address).toEqual([{ state: 'MA', postalCode: '02100' }]);
    expect(p1.identifier[1].system).toBe('urn:mrn');
    expect(p1.birthDate).toBe('1961-01-01');
    // born 1925: shown as 90 (age year_only caps it), never the true year
    expect(p3.birthDate).not.toBe('1925-01-01');
    expect(enc).toMatchObject({ resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, period: { start: '2015-01-01T00:00:00Z', end: '2015-01-01' } });
    expect(enc.subject.reference).toMatch(/^[0-9a-f]{20}$/);
    expect(enc.subject.display).toBeUndefined();
    expect(obs).toMatchObject({ resourceType: 'Observation', effectiveDateTime: '2015-01-01T00:00:00Z', valueQuantity: { value: 98.6, unit: 'bpm' } });
    expect(obs.note).toBeUndefined();
    expect(obs.subject.reference).toBe(enc.subject.reference);
    expect(notFhir).toBeNull();
  });

  it('scan drafts the FHIR R4 preset for a jsonb column of FHIR resources, and the draft migrates', async () => {
    const scan = await scanDatabase(db.pool, { schemas: ['public'], sampleRows: 100 });
    const draft = draftPolicy(scan, { preset: 'hipaa-safe-harbor' });
    expect(draft.yaml).toMatch(/doc: \{ json: \{ preset: fhir_r4 \} \}/);
    expect(draft.yaml).toMatch(/fhir: \{ json: \{ preset: fhir_r4 \} \}/);
    expect(() => parsePolicy(draft.yaml, 'draft.yaml', registry)).not.toThrow();
  });

  it('refuses bad rules at file:line:column with exit 3 and changes nothing', async () => {
    const before = (await db.query(`SELECT pg_get_viewdef('masked.resources'::regclass) AS v`)).rows[0].v;
    // one run of the CLI for the exit code and the message; the other cases in-process (same error, same positions)
    const cli = await migrate(policy(PATHS.replace('"$.gender": keep', '"$.gender[": keep')));
    expect(cli.code, cli.stderr).toBe(3);
    expect(cli.stderr).toMatch(/policy\.yaml:23:13: malformed JSON path "\$\.gender\["/);
    const cases: [string, string, number][] = [
      [policy(PATHS.replace('"$.gender": keep', '"$.gender": { signal_noise: { snr_db: 20 } }')), 'POLICY_JSON_TRANSFORM_TYPE', 23],
      [policy(PATHS.replace('"$.gender": keep', '"$.name": redact')), 'POLICY_JSON_PATH_OVERLAP', 23],
      [policy(PATHS, '\n      lead: keep\n      weight: { signal_noise: { snr_db: 30 } }'), 'POLICY_TRANSFORM_TYPE', 26],
      [policy(PATHS, '\n      lead: { signal_noise: { snr_db: 95 } }\n      weight: keep'), 'POLICY_INVALID_PARAMS', 25],
      [policy(PATHS, '\n      lead: { resample: { factor: 1 } }\n      weight: keep'), 'POLICY_INVALID_PARAMS', 25],
    ];
    for (const [text, code, line] of cases) {
      const error = await applyPolicy(db.url, text, { file: 'policy.yaml' }).then(
        () => null,
        (e: unknown) => e as { exitCode: number; details: { code: string; location?: { line: number } }[] },
      );
      expect(error, code).toMatchObject({ exitCode: 3 });
      expect(error!.details, code).toContainEqual(expect.objectContaining({ code, location: expect.objectContaining({ line }) }));
    }
    expect((await db.query(`SELECT pg_get_viewdef('masked.resources'::regclass) AS v`)).rows[0].v).toBe(before);
  });
});
