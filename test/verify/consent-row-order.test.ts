import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import type { AttackResult } from '../../src/verify/verify-report.ts';
import { spearman } from '../../src/verify/row-order-attacks.ts';

/**
 * Issue 10, leaks 1 and 2 on a setup that has them (pgmask 0.1's views: storage
 * order, a consent filter that stops at its table) and on the fixed setup, dynamic
 * and materialized. The views' structure (WHERE, ORDER BY) is the same on both
 * runtimes, so the sql runtime stands for both here.
 *
 * 200 patients (every 7th opted out), 1,200 encounters inserted in admission order.
 */
const s = uniqueSuffix();
const role = `co_analyst_${s}`;
const member = `co_reader_${s}`;
let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), 'pgmask-consent-order-'));

const schemaSql = `
CREATE TABLE patients (patient_id text PRIMARY KEY, birth_date date NOT NULL, research_opt_out boolean NOT NULL);
CREATE TABLE encounters (
  encounter_id bigint PRIMARY KEY,
  patient_id text NOT NULL REFERENCES patients,
  admitted_on date NOT NULL
);
CREATE INDEX ON encounters (patient_id);
INSERT INTO patients SELECT 'P' || lpad(g::text, 4, '0'), date '1950-01-01' + g * 61, g % 7 = 0 FROM generate_series(1, 200) g;
INSERT INTO encounters SELECT g, 'P' || lpad((1 + (g * 37) % 200)::text, 4, '0'), date '2024-01-01' + g / 4 FROM generate_series(1, 1200) g;
ANALYZE;
`;

/** The fixed policy; `extra` adds keys to both tables (0.1-style behaviour: `filter_applies_to: rows`, `row_order: storage`). */
function policyText(opts: { patients?: string; encounters?: string; materialize?: boolean } = {}): string {
  return `version: 1
runtime: sql
subject: patient_id
materialize: ${opts.materialize ?? false}
roles:
  ${role}:
    members: [${member}]
tables:
  patients:
    filter: "NOT research_opt_out"
${opts.patients ?? ''}    columns:
      patient_id: pseudonymize
      birth_date: { shift_date: { max_days: 30 } }
      research_opt_out: keep
  encounters:
${opts.encounters ?? ''}    columns:
      encounter_id: pseudonymize
      patient_id: pseudonymize
      admitted_on: { shift_date: { max_days: 30 } }
`;
}

const LEGACY = { patients: '    filter_applies_to: rows\n    row_order: storage\n', encounters: '    row_order: storage\n' };

async function migrate(text: string): Promise<void> {
  await applyPolicy(db.url, text, { file: 'policy.yaml' });
}

async function attacks(text: string): Promise<Record<string, AttackResult>> {
  const { policy } = await loadPolicyText(text, 'policy.yaml');
  const report = await verify(db.url, policy, { role: member, only: ['consent-reach', 'row-order', 'row-filter'] });
  return Object.fromEntries(report.subjects[0]!.attacks.map((a) => [a.id, a]));
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_consent_order');
  db.trackRole(role);
  await db.query(schemaSql);
  await db.createLoginRole(member);
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe.each([false, true])('consent and row order (materialized: %s)', (materialize) => {
  const fixed = policyText({ materialize });
  const legacy = policyText({ ...LEGACY, materialize });

  it('0.1-style setup: an opted-out patient’s encounters stay visible and rows come in admission order; verify exits 6 naming both', async () => {
    await migrate(legacy);
    const r = await attacks(fixed);
    expect(r['consent-reach']).toMatchObject({ status: 'leaked', objects: [expect.stringMatching(/^masked\.encounters: 168 row\(s\) reference a patients row the analyst cannot see/)] });
    expect(r['row-order']!.status).toBe('leaked');
    expect(r['row-order']!.evidence).toMatch(/masked\.encounters: ρ\(position, raw (encounter_id|admitted_on)\) = 1\.000/);
    // the same database verified with the policy that decided so: the risks are accepted, not hidden
    const accepted = await attacks(legacy);
    expect(accepted['consent-reach']!.status).toBe('held');
    expect(accepted['row-order']).toMatchObject({ status: 'held', evidence: expect.stringMatching(/accepted by the policy \(row_order: storage at policy\.yaml:\d+:\d+\)/) });

    if (materialize) return; // the exit code path is the same; one CLI run per setup keeps the file fast
    const cli = await runPgmask(['verify', '--policy', file('fixed.yaml', fixed), '--database-url', db.url, '--role', member]);
    expect(cli.code).toBe(6);
    expect(cli.stdout).toMatch(/LEAKED {2}consent-reach: /);
    expect(cli.stdout).toMatch(/LEAKED {2}row-order: /);
  });

  it('fixed setup: no row of an opted-out patient is visible, position says nothing; verify exits 0', async () => {
    await migrate(fixed);
    const hidden = (await db.query(`SELECT count(*)::int AS n FROM encounters e JOIN patients p USING (patient_id) WHERE p.research_opt_out`)).rows[0].n;
    expect(hidden).toBe(168);
    const r = await attacks(fixed);
    expect(r['consent-reach']).toMatchObject({ status: 'held', evidence: 'encounters(patient_id) → patients: 0 rows of hidden subjects' });
    // row-filter on materialized relations is helper verifyfix's (it skips them today)
    if (!materialize) expect(r['row-filter']!.evidence).toContain('encounters: 1032');
    expect(r['row-order']!.status).toBe('held');
    for (const m of r['row-order']!.evidence.matchAll(/ρ\(position, [^)]*\) = (-?[\d.]+) over (\d+) rows/g)) {
      expect(Math.abs(Number(m[1]))).toBeLessThan(4 / Math.sqrt(Number(m[2]) - 1));
    }
    if (materialize) return;
    const cli = await runPgmask(['verify', '--policy', file('fixed.yaml', fixed), '--database-url', db.url, '--role', member]);
    expect(cli.stdout).not.toMatch(/LEAKED/);
    expect(cli.code).toBe(0);
  });
});

describe('spearman', () => {
  it('is 1 for the same order, -1 reversed, handles ties', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1);
    expect(spearman([1, 2, 3, 4], [1, 1, 2, 2])).toBeCloseTo(0.894, 3);
  });
});
