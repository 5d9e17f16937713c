import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask, type CliRun } from '../support/cli.ts';
import { loadPolicyText } from '../../src/cli/pipeline.ts';
import { maskedViewsPhrase } from '../../src/cli/commands/migrate.ts';
import type { PlanNode } from '../../src/plan/nodes.ts';
import { runReport } from '../../src/report/run-report.ts';
import { formatReport } from '../../src/report/format-report.ts';
import { renderReportHtml } from '../../src/report/render-html.ts';
import type { DeclaredTableRisk } from '../../src/report/report.ts';

/**
 * pgmask report over a policy with two source schemas that both hold `results`: the report
 * named only the first masked schema ("measured on hosp_masked.*") and listed both tables as
 * `results`, so which one failed k could not be told. migrate's summary line named only the
 * first masked schema too.
 */
const s = uniqueSuffix();
const role = `xs_report_${s}`;
let db: TestDatabase;
let dir: string;
let migrated: CliRun;

const policyText = `version: 1
runtime: sql
roles:
  ${role}: {}
schemas:
  hosp:
    masked_schema: hosp_masked
    tables:
      results:
        quasi_identifiers: [ward]
        columns: { result_id: keep, ward: keep, value: { noise: { relative: 0.1 } } }
  lab:
    masked_schema: lab_masked
    tables:
      results:
        quasi_identifiers: [assay]
        columns: { result_id: keep, assay: keep, zip: zip3, value: { noise: { relative: 0.1 } } }
`;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_report_xs');
  db.trackRole(role);
  // hosp: two wards of 6 (k=6); lab: assays of 2, 4 and 6 (k=2)
  await db.query(`
    CREATE SCHEMA hosp; CREATE SCHEMA lab;
    CREATE TABLE hosp.results (result_id int PRIMARY KEY, ward text NOT NULL, value float8 NOT NULL);
    CREATE TABLE lab.results (result_id int PRIMARY KEY, assay text NOT NULL, zip text NOT NULL, value float8 NOT NULL);
    INSERT INTO hosp.results SELECT g, CASE WHEN g <= 6 THEN 'north' ELSE 'south' END, 10 + g FROM generate_series(1, 12) g;
    INSERT INTO lab.results SELECT g, CASE WHEN g <= 2 THEN 'a' WHEN g <= 6 THEN 'b' ELSE 'c' END, '10' || lpad(g::text, 3, '0'), 20 + g FROM generate_series(1, 12) g;`);
  dir = mkdtempSync(join(tmpdir(), 'pgmask-report-xs-'));
  writeFileSync(join(dir, 'policy.yaml'), policyText);
  migrated = await runPgmask(['migrate', '--policy', join(dir, 'policy.yaml'), '--database-url', db.url]);
}, 120_000);
afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe('pgmask report over two source schemas with a table of the same name', () => {
  it('migrate names each masked schema in its summary line', () => {
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^applied: \d+ pgmask migration\(s\), policy applied — 2 masked view\(s\): 1 in hosp_masked, 1 in lab_masked, runtime sql, roles /m);
    // one masked schema: the line as it was
    const views = [{ kind: 'CreateMaskedView', schema: 'masked' }, { kind: 'CreateMaskedView', schema: 'masked' }] as unknown as PlanNode[];
    expect(maskedViewsPhrase({ schemas: [{ source: 'public', masked: 'masked', path: ['source_schema'] }] }, views)).toBe('2 masked view(s) in masked');
  });

  it('names every masked schema, and each table with its own: JSON fields, terminal and HTML', async () => {
    const report = await runReport(db.url, await loadPolicyText(policyText, 'policy.yaml'), { minK: 3 });
    expect(report.policy).toMatchObject({
      sourceSchema: 'hosp',
      maskedSchema: 'hosp_masked',
      schemas: [
        { source: 'hosp', masked: 'hosp_masked' },
        { source: 'lab', masked: 'lab_masked' },
      ],
    });
    const risk = report.risk.tables as DeclaredTableRisk[];
    expect(risk.map((t) => [t.table, t.maskedSchema, t.k])).toEqual([
      ['results', 'hosp_masked', 6],
      ['results', 'lab_masked', 2],
    ]);
    // the added field comes right after the name
    expect(Object.keys(risk[0]!).slice(0, 3)).toEqual(['table', 'maskedSchema', 'status']);
    expect(report.utility.columns.filter((c) => c.column === 'value').map((c) => c.maskedSchema)).toEqual(['hosp_masked', 'lab_masked']);
    const harbor = report.safeHarbor.kinds.flatMap((k) => k.columns);
    expect(harbor.find((c) => c.column === 'zip')).toMatchObject({ table: 'results', maskedSchema: 'lab_masked' });
    expect(report.ok).toBe(false);

    const text = formatReport(report);
    expect(text).toContain(`Re-identification risk, measured on hosp_masked.*, lab_masked.* as ${role}`);
    expect(text).toContain('  hosp_masked.results (ward): k=6  meets k≥3');
    expect(text).toContain('  lab_masked.results (assay): k=2  FAILS k≥3');
    expect(text).toMatch(/ lab_masked\.results\.value +\{ noise/);
    expect(text).toContain('report: k below 3 in lab_masked.results (exit 7)');

    const html = renderReportHtml(report);
    expect(html).toContain('masked schemas hosp_masked, lab_masked');
    expect(html).toContain('<h3>lab_masked.results — quasi-identifiers: assay</h3>');
  });
});
