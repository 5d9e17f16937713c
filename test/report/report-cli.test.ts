import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryAs } from '../support/db.ts';
import { createReportFixture, type ReportFixture } from './report-fixture.ts';

/**
 * `pgmask report` from the command line: --min-k gates with exit 7 (exact birth
 * dates fail k=5; the Safe Harbor version names exactly the classes that fail,
 * checked against a window-function query run as the login member), the --json
 * shape that docs/report.md documents, pinned key by key, and --html.
 */
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'pgmask.js');

function pgmask(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The JSON's shape: every key with its type; array elements merged. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [value.map(shape).reduce(merge)];
  if (value === null) return 'null';
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, shape(v)]));
  return typeof value;
}
function merge(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === 0 ? b : b.length === 0 ? a : [merge(a[0], b[0])];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const out: Record<string, unknown> = { ...(a as object) };
    for (const [k, v] of Object.entries(b as object)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  if (a === b) return a;
  return [a, b].flat().filter((x, i, all) => all.indexOf(x) === i).sort().join('|');
}

let f: ReportFixture;
let dir: string;
const exactFile = () => join(dir, 'exact.yaml');
const safeFile = () => join(dir, 'safe.yaml');

beforeAll(async () => {
  f = await createReportFixture();
  dir = mkdtempSync(join(tmpdir(), 'pgmask-report-cli-'));
  writeFileSync(exactFile(), f.exactPolicy);
  writeFileSync(safeFile(), f.safeHarborPolicy);
}, 120_000);
afterAll(async () => {
  await f?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Classes below k, computed with a window function as the analyst's login (not the report's GROUP BY). */
async function failingClasses(k: number): Promise<string[]> {
  const rows = await queryAs<{ birth_date: string; zip: string | null; sex: string | null; size: string }>(
    f.readerUrl,
    `SELECT DISTINCT birth_date::text AS birth_date, zip, sex, size FROM (
       SELECT birth_date, zip, sex, count(*) OVER (PARTITION BY birth_date, zip, sex) AS size FROM masked.people
     ) w WHERE size < $1`,
    [k],
  );
  return rows.map((r) => `${r.size} ${r.birth_date} ${r.zip} ${r.sex}`).sort();
}

describe('pgmask report --min-k', () => {
  it('a policy that keeps exact birth dates fails k=5 with exit 7', async () => {
    await f.apply(f.exactPolicy);
    const r = await pgmask(['report', '--policy', exactFile(), '--database-url', f.db.url, '--min-k', '5']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/people \(birth_date, zip, sex\): k=1 {2}FAILS k≥5/);
    expect(r.stdout).toContain('failing classes (size < 5, masked values):');
    expect(r.stdout).toMatch(/report: k below 5 in people \(exit 7\)/);
    const expected = await failingClasses(5);
    expect(expected.length).toBeGreaterThan(20);
    expect(r.stdout).toContain(`… and ${(expected.length - 20).toLocaleString('en-US')} more`);
  }, 120_000);

  it('the Safe Harbor version reports exactly which classes fail, and passes at its own k', async () => {
    await f.apply(f.safeHarborPolicy);
    const r = await pgmask(['report', '--policy', safeFile(), '--database-url', f.db.url, '--min-k', '5', '--json']);
    expect(r.code).toBe(7);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    const people = report.risk.tables.find((t: { table: string }) => t.table === 'people');
    const listed = people.failingClasses.map((c: { size: number; values: Record<string, string | null> }) => `${c.size} ${c.values.birth_date} ${c.values.zip} ${c.values.sex}`).sort();
    expect(listed).toEqual(await failingClasses(5));
    expect(listed.length).toBeGreaterThan(0);
    expect(people.atRisk.classes).toBe(listed.length);

    // the smallest class is exactly k: --min-k k passes, k + 1 fails
    const k = people.k as number;
    expect(await failingClasses(k)).toEqual([]);
    const pass = await pgmask(['report', '--policy', safeFile(), '--database-url', f.db.url, '--min-k', String(k)]);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toContain(`report: every declared table meets k≥${k}`);
    const fail = await pgmask(['report', '--policy', safeFile(), '--database-url', f.db.url, '--min-k', String(k + 1)]);
    expect(fail.code).toBe(7);
  }, 120_000);

  it('without --min-k nothing gates (exit 0), and --min-k must be a whole number ≥ 1', async () => {
    await f.apply(f.exactPolicy);
    const r = await pgmask(['report', '--policy', exactFile(), '--database-url', f.db.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no --min-k gate');
    const bad = await pgmask(['report', '--policy', exactFile(), '--database-url', f.db.url, '--min-k', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a whole number ≥ 1');
  }, 120_000);
});

describe('pgmask report --json and --html', () => {
  it('pins the --json shape (docs/report.md) and writes the HTML page', async () => {
    await f.apply(f.safeHarborPolicy);
    const html = join(dir, 'report.html');
    const r = await pgmask(['report', '--policy', safeFile(), '--database-url', f.db.url, '--min-k', '5', '--json', '--html', html]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(7);
    const report = JSON.parse(r.stdout);
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html, 'utf8')).toContain('<svg id="class-sizes-0"');

    const { risk, utility, safeHarbor, ...top } = report;
    expect(shape(top)).toEqual({
      reportFormat: 'number',
      ok: 'boolean',
      generatedAt: 'string',
      database: 'string',
      policy: { file: 'string', hash: 'string', sourceSchema: 'string', maskedSchema: 'string' },
      minK: 'number',
      riskThreshold: 'number',
      warnings: [],
      elapsedMs: 'number',
    });
    expect(top.reportFormat).toBe(1);
    expect(Object.keys(risk)).toEqual(['role', 'impersonation', 'tables']);
    expect(risk.tables.find((t: { status: string }) => t.status === 'not declared')).toEqual({ table: 'visits', status: 'not declared' });
    expect(shape(risk.tables.find((t: { status: string }) => t.status === 'measured'))).toEqual({
      table: 'string',
      status: 'string',
      quasiIdentifiers: ['string'],
      sensitive: ['string'],
      records: 'number',
      classes: 'number',
      k: 'number',
      histogram: [{ label: 'string', min: 'number', max: 'null|number', classes: 'number', records: 'number' }],
      atRisk: { threshold: 'number', classes: 'number', records: 'number', percent: 'number' },
      sampleUniqueness: { records: 'number', share: 'number' },
      lDiversity: [{ column: 'string', distinctL: 'number', entropyL: 'number', classesWithOneValue: 'number' }],
      smallCells: [{ column: 'string', distinctValues: 'number', smallCells: 'number', records: 'number' }],
      meetsMinK: 'boolean',
      failingClasses: [{ values: { birth_date: 'string', zip: 'string', sex: 'null' }, size: 'number' }],
      failingClassesTruncated: 'boolean',
    });
    const column = (name: string) => utility.columns.find((c: { column: string }) => c.column === name);
    const columnShape = {
      table: 'string',
      column: 'string',
      transform: 'string',
      rule: 'string',
      technique: 'string',
      family: 'string',
      rows: 'number',
      distinctRaw: 'number',
      distinctMasked: 'number',
      informationLoss: 'number',
      unchangedShare: 'number',
      error: { unit: 'string', mean: 'number', median: 'number' },
      sdRatio: 'number',
      histogramOverlap: 'number',
    };
    expect(shape(column('birth_date'))).toEqual(columnShape);
    expect(shape(column('weight_kg'))).toEqual({ ...columnShape, distinctRaw: 'null', distinctMasked: 'null', informationLoss: 'null' });
    expect(shape(column('zip'))).toEqual({ ...columnShape, error: 'null', sdRatio: 'null', histogramOverlap: 'null' });
    expect(Object.keys(utility)).toEqual(['computedAs', 'columns', 'correlations', 'signals']);
    // no signal column here; test/e2e/signals.test.ts pins a filled one
    expect(utility.signals).toEqual([]);
    expect(shape(utility.correlations)).toEqual([{ table: 'string', a: 'string', b: 'string', raw: 'number', masked: 'number', difference: 'number' }]);
    expect(shape(safeHarbor)).toEqual({
      preset: 'string',
      classifier: 'string',
      kinds: [
        {
          number: 'number',
          kind: 'string',
          columns: [{ table: 'string', column: 'string', category: 'string', rule: 'string', handling: 'string', meetsSafeHarbor: 'boolean', flagged: 'boolean', note: 'string' }],
        },
      ],
      flagged: 'number',
    });
    expect(safeHarbor.preset).toBe('hipaa-safe-harbor');
    expect(safeHarbor.kinds.map((k: { number: number }) => k.number)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
  }, 120_000);
});
