/**
 * Conformance vectors (test/vectors/<transform>.json, generated from the TypeScript
 * reference) checked in four places: (1) TypeScript in Node, (2) the compiled PLV8 install
 * SQL in the sandbox, (3) the sql runtime on the test PostgreSQL, (4) real PLV8 when the
 * server has it. The summary printed at the end says which of the four ran.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/transforms/registry.ts';
import { implementations } from '../../src/transforms/js/index.ts';
import { plv8RuntimeInstall, sqlRuntimeInstall } from '../../src/runtime/runtime-install.ts';
import { isBoundaryType } from '../../plv8/sql-types.ts';
import { createTestDatabase, plv8Available, type TestDatabase } from '../support/db.ts';
import { createPlv8Sandbox, type Plv8Sandbox } from '../support/plv8-sandbox.ts';
import type { Vector, VectorFile } from '../vectors/vector-case.ts';
import { evaluateTs, jsArgument, resolveCase, resultText, sqlParameter, VECTOR_SESSION } from '../vectors/vector-eval.ts';
import { loadCases, VECTORS_DIR } from '../vectors/generate.ts';

const files: VectorFile[] = readdirSync(VECTORS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as VectorFile);

const summary = new Map<string, string[]>();
function ran(transform: string, place: string): void {
  summary.set(transform, [...(summary.get(transform) ?? []), place]);
}

let db: TestDatabase;
let client: pg.Client;
let sandbox: Plv8Sandbox;
const realPlv8 = plv8Available();

beforeAll(async () => {
  db = await createTestDatabase('pgmask_vectors');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
  await client.query('CREATE SCHEMA IF NOT EXISTS pgmask');
  for (const [name, value] of Object.entries(VECTOR_SESSION)) await client.query(`SELECT set_config($1, $2, false)`, [name, value]);
  await client.query(sqlRuntimeInstall(registry));
  sandbox = createPlv8Sandbox(await plv8RuntimeInstall(registry));
});

afterAll(async () => {
  const lines = [...summary].map(([t, places]) => `  ${t}: ${places.join(', ')}`);
  const plv8Line = realPlv8 ? '' : '\n  (4) real PLV8 skipped: the test server lacks PLV8 (pg_available_extensions has no plv8)';
  process.stdout.write(`\n[vectors] checked on:\n${lines.join('\n')}${plv8Line}\n`);
  await client?.end();
  await db?.drop();
});

function describeCall(v: Vector): string {
  return `pgmask.${v.fn}(${v.args.map((a) => `${JSON.stringify(a.value)?.slice(0, 40)}::${a.type}`).join(', ')})`;
}

async function sqlCheck(file: VectorFile): Promise<string[]> {
  const problems: string[] = [];
  for (const v of file.vectors) {
    const params = v.args.map(sqlParameter);
    const call = `SELECT pgmask.${v.fn}(${v.args.map((a, i) => `$${i + 1}::${a.type}`).join(', ')})::text AS r`;
    let got: string | null;
    try {
      got = (await client.query<{ r: string | null }>(call, params)).rows[0]!.r;
    } catch (e) {
      problems.push(`${v.name}: ${describeCall(v)} failed: ${(e as Error).message}`);
      continue;
    }
    if (got !== v.expected) problems.push(`${v.name}: ${describeCall(v)} gave ${JSON.stringify(got)}, expected ${JSON.stringify(v.expected)}`);
  }
  return problems;
}

describe('vector files', () => {
  it('exist and match their case files (regenerate with npx tsx test/vectors/generate.ts)', async () => {
    const cases = await loadCases();
    expect(files.map((f) => f.transform).sort()).toEqual(cases.map((c) => c.transform).sort());
    for (const { transform, cases: cs } of cases) {
      const file = files.find((f) => f.transform === transform)!;
      expect(file.vectors.map((v) => [v.name, v.fn, v.args]), `${transform}.json is stale`).toEqual(cs.map((c) => [c.name, c.fn, c.args]));
    }
  });
});

for (const file of files) {
  describe(`vectors: ${file.transform}`, () => {
    it('(1) TypeScript reference in Node', () => {
      const problems: string[] = [];
      for (const v of file.vectors) {
        const resolved = resolveCase(registry, v);
        if (resolved === null) {
          problems.push(`${v.name}: no registered plv8 signature for ${describeCall(v)}`);
          continue;
        }
        const got = evaluateTs(implementations, resolved, v);
        if (got !== v.expected) problems.push(`${v.name}: gave ${JSON.stringify(got)}, expected ${JSON.stringify(v.expected)}`);
      }
      expect(problems).toEqual([]);
      ran(file.transform, `(1) TypeScript ✓ ${file.vectors.length}`);
    });

    it('(2) compiled PLV8 install SQL in the sandbox', () => {
      const problems: string[] = [];
      for (const v of file.vectors) {
        const resolved = resolveCase(registry, v)!;
        const args = v.args.map((a) => (isBoundaryType(a.type) ? jsArgument(a) : a.value === null ? null : String(a.value)));
        let got: string | null;
        try {
          got = resultText(sandbox.call(`pgmask.${v.fn}`, args, { types: resolved.argTypes }), resolved.returns);
        } catch (e) {
          problems.push(`${v.name}: ${describeCall(v)} threw ${(e as Error).message}`);
          continue;
        }
        if (got !== v.expected) problems.push(`${v.name}: gave ${JSON.stringify(got)}, expected ${JSON.stringify(v.expected)}`);
      }
      expect(problems).toEqual([]);
      ran(file.transform, `(2) sandbox ✓ ${file.vectors.length}`);
    });

    const sqlRuntime = file.vectors.every((v) => resolveCase(registry, v)?.transform.runtimes.includes('sql') ?? false);
    it.skipIf(!sqlRuntime)('(3) sql runtime on the real PostgreSQL', async () => {
      // non-boundary arguments must already be in PostgreSQL's output form, or the
      // TypeScript and sandbox checks would feed the JavaScript other text than PLV8 does
      const notCanonical: string[] = [];
      for (const v of file.vectors) {
        for (const a of v.args) {
          if (a.value === null || isBoundaryType(a.type)) continue;
          const out = (await client.query<{ t: string }>(`SELECT $1::${a.type}::text AS t`, [String(a.value)])).rows[0]!.t;
          if (out !== String(a.value)) notCanonical.push(`${v.name}: ${a.type} ${JSON.stringify(a.value)} is not PostgreSQL's output form ${JSON.stringify(out)}`);
        }
      }
      expect(notCanonical).toEqual([]);
      expect(await sqlCheck(file)).toEqual([]);
      ran(file.transform, `(3) sql runtime ✓ ${file.vectors.length}`);
    });

    it.skipIf(!realPlv8)('(4) real PLV8', async () => {
      await client.query('CREATE EXTENSION IF NOT EXISTS plv8');
      await client.query(await plv8RuntimeInstall(registry));
      try {
        expect(await sqlCheck(file)).toEqual([]);
        ran(file.transform, `(4) real PLV8 ✓ ${file.vectors.length}`);
      } finally {
        // back to the sql runtime for the next file's (3)
        await client.query(sqlRuntimeInstall(registry));
      }
    });
  });
}
