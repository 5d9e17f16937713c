import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { sha256Hex } from '../../src/sha256.ts';
import { runPgmask } from '../support/cli.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';

/**
 * `pgmask status` over a policy with two masked schemas, one of which another policy file
 * (same source schema) migrated since. Before, status read the first masked schema's applied
 * hash as the policy's, printed one merged list, and exited 0 whatever it found.
 */
const s = uniqueSuffix();
const role = `st_analyst_${s}`;
const other = `st_other_${s}`;
let db: TestDatabase;
let dir: string;

const both = `version: 1
runtime: sql
roles:
  ${role}: {}
schemas:
  hosp:
    masked_schema: hosp_masked
    tables:
      patients:
        materialize: true
        columns: { patient_id: keep, name: redact }
  clinic:
    masked_schema: clinic_masked
    tables:
      visits:
        materialize: true
        columns: { visit_id: keep, room: keep }
`;
/** a one-schema policy file of the role `other` */
const onePolicy = (source: string, table: string, body: string) => `version: 1
runtime: sql
roles:
  ${other}: {}
source_schema: ${source}
masked_schema: ${source}_masked
tables:
  ${table}: ${body}
`;
// another file masking the same source schema clinic into the same masked schema
const clinicOnly = onePolicy('clinic', 'visits', '{ materialize: true, columns: { visit_id: keep, room: redact } }');
const single = onePolicy('misc', 'notes', '{ columns: { note_id: keep, body: redact } }');

function status(name: string, text: string, json = false) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return runPgmask(['status', '--policy', file, '--database-url', db.url, ...(json ? ['--json'] : [])]);
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_status_xs');
  dir = mkdtempSync(join(tmpdir(), 'pgmask-status-xs-'));
  db.trackRole(role);
  db.trackRole(other);
  await db.query(`
    CREATE SCHEMA hosp; CREATE SCHEMA clinic; CREATE SCHEMA misc;
    CREATE TABLE hosp.patients (patient_id int PRIMARY KEY, name text);
    CREATE TABLE clinic.visits (visit_id int PRIMARY KEY, room text);
    CREATE TABLE misc.notes (note_id int PRIMARY KEY, body text);
    INSERT INTO hosp.patients VALUES (1, 'Ann'), (2, 'Bo');
    INSERT INTO clinic.visits VALUES (1, 'A'), (2, 'B'), (3, 'C');`);
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const r of [role, other]) await db?.query(`DROP OWNED BY "${r}"`).catch(() => {});
  await db?.drop();
});

describe('pgmask status over several masked schemas', () => {
  it('reports each masked schema and its materialized views, never refreshed, then refreshed; exit 0 when all are up to date', async () => {
    await applyPolicy(db.url, both, { file: 'both.yaml' });
    const fresh = await status('both.yaml', both, true);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    const j = JSON.parse(fresh.stdout);
    expect(j.upToDate).toBe(true);
    expect(j.schemas.map((x: { sourceSchema: string; maskedSchema: string; upToDate: boolean }) => [x.sourceSchema, x.maskedSchema, x.upToDate])).toEqual([
      ['hosp', 'hosp_masked', true],
      ['clinic', 'clinic_masked', true],
    ]);
    expect(j.relations.map((r: { relation: string; neverRefreshed: boolean }) => [r.relation, r.neverRefreshed])).toEqual([
      ['hosp_masked.patients', true],
      ['clinic_masked.visits', true],
    ]);
    const refreshed = await runPgmask(['refresh', '--policy', join(dir, 'both.yaml'), '--database-url', db.url]);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    const after = await status('both.yaml', both);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/— applied, up to date\nruntime: sql\nhosp → hosp_masked: applied, up to date\n {2}hosp_masked\.patients +materialized view {2}last refresh \S+ \S+, 2 rows, /);
    expect(after.stdout).toMatch(/\nclinic → clinic_masked: applied, up to date\n {2}clinic_masked\.visits +materialized view {2}last refresh \S+ \S+, 3 rows, /);
  });

  it('another policy file migrated one masked schema since: both reported, that one flagged with its applied hash, exit 5', async () => {
    await applyPolicy(db.url, clinicOnly, { file: 'clinic.yaml' });
    const r = await status('both.yaml', both, true);
    expect(r.code).toBe(5);
    const j = JSON.parse(r.stdout);
    expect(j.upToDate).toBe(false);
    // the worst masked schema's applied hash at the top, as with one masked schema
    expect(j.appliedPolicyHash).toBe(sha256Hex(clinicOnly));
    expect(j.schemas.map((x: { maskedSchema: string; upToDate: boolean; appliedPolicyHash: string; appliedSourceSchema: string }) => [x.maskedSchema, x.upToDate, x.appliedPolicyHash, x.appliedSourceSchema])).toEqual([
      ['hosp_masked', true, sha256Hex(both), 'hosp'],
      ['clinic_masked', false, sha256Hex(clinicOnly), 'clinic'],
    ]);
    // that migrate rebuilt clinic_masked.visits: the refresh recorded before describes an earlier build
    const visits = j.schemas[1].relations[0];
    expect(visits).toMatchObject({ relation: 'clinic_masked.visits', neverRefreshed: false, refreshedBeforeMigrate: true, lastRefreshRows: 3 });
    expect(j.schemas[0].relations[0]).toMatchObject({ relation: 'hosp_masked.patients', refreshedBeforeMigrate: false });

    const text = await status('both.yaml', both);
    expect(text.code).toBe(5);
    expect(text.stdout).toContain(`— NOT up to date in 1 of 2 masked schemas; run pgmask migrate\nruntime: sql\nhosp → hosp_masked: applied, up to date\n`);
    expect(text.stdout).toContain(`\nclinic → clinic_masked: NOT up to date (applied: ${sha256Hex(clinicOnly).slice(0, 16)} at `);
    expect(text.stdout).toMatch(/; run pgmask migrate, by another policy file or another version of this one\n {2}clinic_masked\.visits +materialized view {2}not refreshed since migrate \(last refresh .*, 3 rows, \d+ ms, before it\)\n$/);

    // and the other file sees its own schema up to date
    expect((await status('clinic.yaml', clinicOnly)).code).toBe(0);
  });

  it('one masked schema: the lines it always printed, exit 5 when never applied', async () => {
    const never = await status('single.yaml', single);
    expect(never.code).toBe(5);
    expect(never.stdout).toBe(`policy ${join(dir, 'single.yaml')}: sha256 ${sha256Hex(single).slice(0, 16)} — never applied; run pgmask migrate\nruntime: sql\n  ${'misc_masked.notes'.padEnd(32)} missing (policy wants a view)\n`);
    await applyPolicy(db.url, single, { file: 'single.yaml' });
    const ok = await status('single.yaml', single);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`policy ${join(dir, 'single.yaml')}: sha256 ${sha256Hex(single).slice(0, 16)} — applied, up to date\nruntime: sql\n  ${'misc_masked.notes'.padEnd(32)} view\n`);
  });
});
