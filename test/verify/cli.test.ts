import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifyFixture, dropVerifyFixture, type VerifyFixture } from './verify-fixture.ts';

/**
 * `pgmask verify` and `pgmask check` from the command line: exit codes 0 / 5 / 6,
 * and the --json shapes docs/verify.md documents, pinned key by key.
 */
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'pgmask.js');

function pgmask(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
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

let f: VerifyFixture;
let policyFile: string;

beforeAll(async () => {
  f = await createVerifyFixture();
  policyFile = join(mkdtempSync(join(tmpdir(), 'pgmask-verify-cli-')), 'policy.yaml');
  writeFileSync(policyFile, f.policyText);
}, 120_000);
afterAll(async () => {
  await dropVerifyFixture(f);
});

describe('pgmask verify (CLI)', () => {
  it('exits 0 with held attacks, and pins the --json shape', async () => {
    const r = await pgmask(['verify', '--policy', policyFile, '--database-url', f.db.url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(shape(report)).toEqual({
      ok: 'boolean',
      database: 'string',
      policyHash: 'string',
      subjects: [
        {
          role: 'string',
          kind: 'string',
          impersonation: 'string',
          searchPath: 'string',
          attacks: [{ id: 'string', title: 'string', status: 'string', evidence: 'string', objects: ['string'] }],
        },
      ],
      summary: { held: 'number', leaked: 'number', skipped: 'number' },
    });
    expect(report.ok).toBe(true);
    expect(report.subjects.map((s: { role: string }) => s.role)).toEqual([f.role, f.member]);
  });

  it('exits 6 on a leak and prints it with its evidence, first', async () => {
    await f.db.query('GRANT SELECT ON public.encounters TO PUBLIC');
    try {
      const r = await pgmask(['verify', '--policy', policyFile, '--database-url', f.db.url, '--role', f.member]);
      expect(r.code).toBe(6);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe(`${f.member} (member of ${f.role}; session authorization; search_path masked)`);
      expect(lines[1]).toMatch(/^ {2}LEAKED {2}source-read: reached source data: public\.encounters: SELECT \* succeeded/);
      expect(r.stdout).toMatch(/^ {2}held {4}keys-read: permission denied for pgmask_private\.keys/m);
      expect(lines.at(-2)).toMatch(/^verify: \d+ LEAK\(S\) — \d+ held, 0 skipped; fix every LEAKED line above \(exit 6\)$/);
      const json = await pgmask(['verify', '--policy', policyFile, '--database-url', f.db.url, '--role', f.member, '--json']);
      expect(json.code).toBe(6);
      const report = JSON.parse(json.stdout);
      expect(report.ok).toBe(false);
      expect(report.summary.leaked).toBeGreaterThanOrEqual(3);
    } finally {
      await f.db.query('REVOKE SELECT ON public.encounters FROM PUBLIC');
    }
  });

  it('exits 4 when a role of the policy cannot be attacked (fail closed: skipped is not held)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pgmask-verify-cli-')), 'policy.yaml');
    writeFileSync(file, f.policyText.replaceAll(f.member, 'no_such_member_pgmask'));
    const r = await pgmask(['verify', '--policy', file, '--database-url', f.db.url]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/verify: could not attack as no_such_member_pgmask/);
    expect(r.stdout).toMatch(/^ {2}skipped source-read: role no_such_member_pgmask does not exist/m);
  });

  it('exits 2 for an unknown role', async () => {
    const r = await pgmask(['verify', '--policy', policyFile, '--database-url', f.db.url, '--role', 'no_such_role_pgmask']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error\[ROLE_NOT_FOUND\]: role no_such_role_pgmask does not exist/);
  });
});

describe('pgmask check (CLI)', () => {
  it('exits 0 without drift; exits 5 naming a column added after migrate; pins the --json shape', async () => {
    const clean = await pgmask(['check', '--policy', policyFile, '--database-url', f.db.url, '--json']);
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual({ ok: true, policyHash: f.policy.hash, appliedPolicyHash: f.policy.hash, findings: [] });

    await f.db.query('ALTER TABLE public.patients ADD COLUMN diagnosis text');
    try {
      const text = await pgmask(['check', '--policy', policyFile, '--database-url', f.db.url]);
      expect(text.code).toBe(5);
      expect(text.stdout).toMatch(/^ {2}drift\[column-unclassified\]: column public\.patients\.diagnosis \(text\) has no rule/m);
      expect(text.stdout).toMatch(/check: 1 difference\(s\) between the policy and the database \(exit 5\)/);

      const json = await pgmask(['check', '--policy', policyFile, '--database-url', f.db.url, '--json']);
      expect(json.code).toBe(5);
      const report = JSON.parse(json.stdout);
      expect(shape(report)).toEqual({
        ok: 'boolean',
        policyHash: 'string',
        appliedPolicyHash: 'string',
        findings: [{ kind: 'string', table: 'string', column: 'string', message: 'string', hint: 'string' }],
      });
      expect(report.findings).toEqual([
        expect.objectContaining({ kind: 'column-unclassified', table: 'patients', column: 'diagnosis' }),
      ]);
    } finally {
      await f.db.query('ALTER TABLE public.patients DROP COLUMN diagnosis');
    }
  });
});
