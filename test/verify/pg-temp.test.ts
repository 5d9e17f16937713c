import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import type { Policy } from '../../src/policy/policy.ts';
import type { AttackResult, VerifyReport } from '../../src/verify/verify-report.ts';

/**
 * Issue 10, leak 3: analyst code inside pgmask's PL/pgSQL helpers through pg_temp types.
 * `CREATE DOMAIN pg_temp.float8 AS pg_catalog.float8 CHECK (pg_temp.leak(VALUE))` received
 * every Laplace factor while `pgmask._noise_laplace_factor` pinned `search_path = pg_catalog`
 * (pg_temp, unnamed, is searched first for types). The pg-temp attack reproduces it.
 */
let db: TestDatabase;
let policy: Policy;
let role: string;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_pgtemp');
  role = `pt_analyst_${uniqueSuffix()}`;
  db.trackRole(role);
  await db.query(`
    CREATE TABLE vitals (vital_id int PRIMARY KEY, tag text, phone text, weight float8, visits int);
    INSERT INTO vitals SELECT i, 'T' || i, '555-0' || i, 60 + i % 30, i % 7 FROM generate_series(1, 40) AS i;`);
  const text = `version: 1
source_schema: public
masked_schema: masked
runtime: sql
keys: [default]
roles:
  ${role}: {}
tables:
  vitals:
    columns:
      vital_id: keep
      tag: pseudonymize
      phone: { fake: { kind: phone } }
      weight: { noise: { relative: 0.05, distribution: laplace } }
      visits: pseudonymize
`;
  await applyPolicy(db.url, text, { file: 'policy.yaml' });
  policy = (await loadPolicyText(text, 'policy.yaml')).policy;
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const pgTemp = async (): Promise<AttackResult> => {
  const r: VerifyReport = await verify(db.url, policy, { only: ['pg-temp'], role });
  return r.subjects[0]!.attacks.find((a) => a.id === 'pg-temp')!;
};

describe('pg-temp: the caller cannot shadow the types pgmask functions use', () => {
  it('holds on the installed runtime (its PL/pgSQL helpers name pg_temp last)', async () => {
    const a = await pgTemp();
    expect(a).toMatchObject({ status: 'held', evidence: expect.stringMatching(/^\d+ pg_temp domain\(s\) over built-in types: none received a value, 1 view\(s\) read the same$/) });
    const domains = Number(/^(\d+)/.exec(a.evidence)![1]);
    expect(domains).toBeGreaterThan(40);
  });

  it.each([
    ['pgmask._noise_laplace_factor(bytea)', 'double precision'],
    ['pgmask._fake_from_digest(bytea, text)', 'text'],
    ['pgmask._feistel_permute(int8, bytea, int, jsonb)', 'bigint'],
  ])('leaks when %s pins search_path = pg_catalog (pgmask 0.1): a pg_temp domain over %s receives its values', async (fn, type) => {
    await db.query(`ALTER FUNCTION ${fn} SET search_path = pg_catalog`);
    try {
      const a = await pgTemp();
      expect(a.status).toBe('leaked');
      expect(a.objects).toContainEqual(expect.stringMatching(new RegExp(`^reading masked\\.vitals, a pg_temp domain over ${type} received [1-9]\\d* value\\(s\\)$`)));
    } finally {
      await db.query(`ALTER FUNCTION ${fn} SET search_path = pg_catalog, pg_temp`);
    }
  });
});

describe('every PL/pgSQL function of the sql runtime names pg_temp last on its search_path', () => {
  const dir = join(import.meta.dirname, '..', '..', 'sql');
  const functions = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/CREATE OR REPLACE FUNCTION (\S+)\([^]*?(?=CREATE OR REPLACE FUNCTION|$)/g)]
        .filter((m) => /LANGUAGE plpgsql/.test(m[0]))
        .map((m) => [`${f}: ${m[1]}`, m[0]] as const),
    );
  it('finds the PL/pgSQL helpers', () => {
    expect(functions.length).toBeGreaterThanOrEqual(3);
  });
  it.each(functions)('%s', (_name, text) => {
    // unnamed, pg_temp is searched before pg_catalog for type names (the pg-temp attack)
    expect(text).toMatch(/\n\s*SET search_path = pg_catalog, pg_temp\n/);
  });
});
