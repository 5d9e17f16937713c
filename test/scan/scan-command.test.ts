import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { scanCommand } from '../../src/cli/commands/scan.ts';
import { runScan } from '../../src/scan/run-scan.ts';

let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), 'pgmask-scan-'));

beforeAll(async () => {
  db = await createTestDatabase('pgmask_scan_cli');
  await db.query(`
    CREATE TABLE patients (id int PRIMARY KEY, nachname text, geburtsdatum date, plz text);
    INSERT INTO patients SELECT i, (ARRAY['Müller','Schmidt','Schneider'])[1 + i % 3], date '1950-01-01' + i, lpad((10000 + i)::text, 5, '0') FROM generate_series(1, 50) i;
  `);
}, 60_000);

afterAll(async () => {
  await db.drop();
});

async function run(...args: string[]): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await scanCommand().exitOverride().parseAsync(['--database-url', db.url, ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
    stderr.mockRestore();
  }
  return chunks.join('');
}

describe('pgmask scan (command)', () => {
  it('writes the draft to --out, and a re-run into the same file keeps reviewed rules', async () => {
    const out = join(dir, 'pgmask.yaml');
    await run('--preset', 'hipaa-safe-harbor', '--out', out);
    const first = readFileSync(out, 'utf8');
    expect(first).toMatch(/nachname: \{ fake: \{ kind: last_name \} \} # name, confidence/);
    expect(first).toMatch(/plz: zip3 # geography/);
    writeFileSync(out, first.replace(/nachname: .*$/m, 'nachname: redact # reviewed'));
    await run('--preset', 'hipaa-safe-harbor', '--out', out);
    const second = readFileSync(out, 'utf8');
    expect(second).toMatch(/nachname: redact # reviewed$/m);
    expect(second).toMatch(/plz: zip3 # geography/);
  });

  it('prints the draft on stdout without --out, and JSON with --json', async () => {
    expect(await run()).toMatch(/^ {6}geburtsdatum: \{ age: \{ year_only: true \} \} # date, confidence/m);
    const report = JSON.parse(await run('--json')) as { ok: boolean; tables: { name: string; columns: { name: string; category: string; confidence: number; reasons: string[]; rule: unknown }[] }[] };
    expect(report.ok).toBe(true);
    const columns = report.tables[0]!.columns;
    expect(columns.map((c) => [c.name, c.category])).toEqual([['id', 'subject_key'], ['nachname', 'name'], ['geburtsdatum', 'date'], ['plz', 'geography']]);
    expect(columns[1]!.reasons.length).toBeGreaterThan(0);
  });

  it('on a schema without tables says which schemas have tables (coded error, nothing written)', async () => {
    await db.query('CREATE SCHEMA IF NOT EXISTS empty_one');
    await expect(runScan({ databaseUrl: db.url, schemas: ['empty_one'] })).rejects.toMatchObject({
      code: 'SCAN_NO_TABLES',
      exitCode: 2,
      message: 'schema empty_one has no tables to scan',
      hint: expect.stringContaining('schemas with tables: public (1)'),
    });
  });

  it('rejects a bad --sample and an unknown preset before connecting', async () => {
    await expect(run('--sample', '0')).rejects.toMatchObject({ code: 'BAD_SAMPLE', exitCode: 2 });
    await expect(run('--preset', 'gdpr')).rejects.toThrow(/preset/);
  });

  it('documents how a reviewed rule is marked, and the defaults', () => {
    let help = '';
    scanCommand().configureOutput({ writeOut: (t) => void (help += t) }).outputHelp();
    expect(help).toContain('add the word "reviewed" to its comment');
    expect(help).toContain('default: ["public"]');
    expect(help).toContain('default: "1000"');
  });
});
