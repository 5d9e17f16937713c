import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { runScan } from '../../src/scan/run-scan.ts';
import { verify } from '../../src/verify/verify.ts';
import { evidenceWeight, CHANCE_LIMIT } from '../../src/verify/oracle-attacks.ts';

/**
 * Issue 10: on a table whose `city` holds one value in every row, the oracle called
 * `fake: { kind: city }` a leak, because a wrong key maps one known input onto the
 * same one of ~130 cities by chance. The oracle now weighs its evidence (distinct
 * inputs against the outputs seen) and adds made-up inputs of the column's type, so
 * a scan draft verifies clean, and a real leak (a guessable key) is still found on
 * the same one-value table.
 */
const s = uniqueSuffix();
const role = `oe_analyst_${s}`;
const member = `oe_reader_${s}`;
let db: TestDatabase;
let draftYaml: string;
let policyYaml: string;
const dir = mkdtempSync(join(tmpdir(), 'pgmask-oracle-evidence-'));

beforeAll(async () => {
  db = await createTestDatabase('pgmask_oracle_evidence');
  db.trackRole(role);
  await db.createLoginRole(member);
  await db.query(`
    CREATE TABLE patients (
      patient_id text PRIMARY KEY,
      full_name text NOT NULL,
      city text NOT NULL,
      state text NOT NULL,
      birth_date date NOT NULL
    );
    INSERT INTO patients
    SELECT 'P' || lpad(g::text, 5, '0'), 'Jane Doe', 'Springfield', 'Illinois', date '1950-01-01' + g * 97
      FROM generate_series(1, 300) g;
    ANALYZE patients;`);
  const { draft } = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor' });
  draftYaml = draft.yaml.replace(/^  analyst:\n    members: \[\]$/m, `  ${role}:\n    members: [${member}]`);
  // a reviewer's edit (0.1's drafts did this): a fake city instead of nothing
  policyYaml = draftYaml.replace(/^( {6}city:) redact\b/m, '$1 { fake: { kind: city } }');
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

async function oracle() {
  await applyPolicy(db.url, policyYaml, { file: 'draft.yaml' });
  const { policy, registry } = await loadPolicyText(policyYaml, 'draft.yaml');
  const report = await verify(db.url, policy, { role: member, only: ['oracle'], registry });
  return report.subjects[0]!.attacks.find((a) => a.id === 'oracle')!;
}

describe('oracle evidence on a one-value column', () => {
  it('weighs a match by its distinct inputs and outputs', () => {
    // one known city, one output: any of 10 keys matches it about 1 time in 130 — not evidence
    expect(evidenceWeight(['Springfield', 'Springfield'], ['Boston', 'Boston'], 10).chance).toBe(1);
    expect(evidenceWeight(['a', 'b'], ['x', 'y'], 10).chance).toBeGreaterThan(CHANCE_LIMIT);
    // 25 distinct inputs onto 20 distinct outputs: 10 · 20^-25
    expect(evidenceWeight([...Array(25).keys()].map(String), [...Array(25).keys()].map((k) => String(k % 20)), 10).chance).toBeLessThan(CHANCE_LIMIT);
  });

  it('scan --preset hipaa-safe-harbor → migrate → verify exits 0 (every text column holds one repeated value)', async () => {
    // the one name is faked: a keyed transform whose only known input is one value
    expect(draftYaml).toMatch(/^ {6}full_name: \{ fake: \{ kind: full_name \} \}/m);
    const file = join(dir, 'draft.yaml');
    writeFileSync(file, draftYaml);
    expect((await runPgmask(['migrate', '--policy', file, '--database-url', db.url])).code).toBe(0);
    const cli = await runPgmask(['verify', '--policy', file, '--database-url', db.url]);
    expect(cli.stdout).not.toMatch(/LEAKED/);
    expect(cli.code).toBe(0);
  });

  it('fake: { kind: city } on one city: the oracle holds even under a key that makes the one known city match by chance', async () => {
    expect(policyYaml).toMatch(/^ {6}city: \{ fake: \{ kind: city \} \}/m);
    expect((await oracle()).status).toBe('held');
    // make the chance match happen: a random key under which Springfield fakes to the same city as under
    // 32 zero bytes (a candidate key), found by trying keys (about one in 130 does)
    const saved = (await db.query(`SELECT name, version, key FROM pgmask_private.keys`)).rows;
    const city = async () => (await db.query(`SELECT city FROM masked.patients LIMIT 1`)).rows[0].city as string;
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('00', 32), 'hex')`);
    const underZeros = await city();
    let tries = 0;
    do {
      await db.query(`UPDATE pgmask_private.keys SET key = decode(md5(random()::text) || md5(random()::text), 'hex')`);
      tries++;
    } while ((await city()) !== underZeros && tries < 5000);
    try {
      expect(await city()).toBe(underZeros);
      const r = await oracle();
      // 0.1 reported this as a leak (one known input reproduced with key = 32 zero bytes); the 24 made-up
      // inputs are not reproduced by that key
      expect(r.status, r.evidence).toBe('held');
    } finally {
      for (const k of saved) await db.query(`UPDATE pgmask_private.keys SET key = $1 WHERE name = $2 AND version = $3`, [k.key, k.name, k.version]);
    }
  });

  it('a guessable key (32 zero bytes) is still found on the same one-value column', async () => {
    const saved = (await db.query(`SELECT name, version, key FROM pgmask_private.keys`)).rows;
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('00', 32), 'hex')`);
    try {
      const r = await oracle();
      expect(r.status).toBe('leaked');
      expect(r.objects).toContainEqual(expect.stringMatching(/^masked\.patients\.city reproduced for 25 distinct input\(s\) with key = (empty|32 zero bytes)$/));
    } finally {
      for (const k of saved) await db.query(`UPDATE pgmask_private.keys SET key = $1 WHERE name = $2 AND version = $3`, [k.key, k.name, k.version]);
    }
    expect((await oracle()).status).toBe('held');
  });
});
