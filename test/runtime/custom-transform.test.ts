/**
 * Custom transforms from directories outside src/: type-checked against PLV8's globals,
 * bundled into the PLV8 runtime, installed (sandbox here; real PLV8 when present) and used
 * the way a masked view uses them.
 */
import { renderTransform } from '../support/render-transform.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomTransformDefinition } from '../../src/transforms/custom.ts';
import { loadCustomTransforms } from '../../src/runtime/load-custom-transforms.ts';
import { registry } from '../../src/transforms/registry.ts';
import { plv8RuntimeInstall, sqlRuntimeInstall } from '../../src/runtime/runtime-install.ts';
import { sql } from '../../src/sql/index.ts';
import type { CatalogColumn, CatalogTable } from '../../src/catalog/catalog-snapshot.ts';
import { createTestDatabase, plv8Available, type TestDatabase } from '../support/db.ts';
import { createPlv8Sandbox } from '../support/plv8-sandbox.ts';
import { runPgmask } from '../support/cli.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/transforms/', import.meta.url));

let tmp: string;
let db: TestDatabase;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pgmask-custom-'));
  db = await createTestDatabase('pgmask_custom');
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await db?.drop();
});

function dir(name: string, files: Record<string, string>): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
}

const column = (name: string, typeName: string, family: CatalogColumn['family'], sqlType: string): CatalogColumn => ({ name, position: 1, sqlType, typeName, typeSchema: 'pg_catalog', family, nullable: true, comment: null });
const table = { schema: 'public', name: 'patients' } as CatalogTable;

describe('the example round_weight transform (examples/transforms, outside src/)', () => {
  let defs: CustomTransformDefinition[];
  beforeAll(async () => {
    defs = await loadCustomTransforms(EXAMPLES);
  });

  it('loads as a plv8-only transform with a params schema', () => {
    expect(defs.map((d) => d.name)).toEqual(['round_weight']);
    const d = defs[0]!;
    expect(d.runtimes).toEqual(['plv8']);
    expect(d.types).toEqual(['float', 'numeric', 'integer']);
    expect(d.params.safeParse({}).data).toEqual({ step: 5 });
    expect(d.params.safeParse({ step: 100 }).success).toBe(false);
    expect(d.params.safeParse({ stpe: 2 }).success).toBe(false);
    expect(d.plv8).toEqual([{ sqlName: 'custom_round_weight', args: [['value', 'float8'], ['params', 'jsonb']], returns: 'float8', js: 'custom_round_weight' }]);
  });

  it('is compiled into the PLV8 runtime and masks rows of a real table like a view column would', async () => {
    const withCustom = registry.with(defs);
    const install = await plv8RuntimeInstall(withCustom);
    // the sql runtime is unchanged: a custom transform has no SQL twin
    expect(sqlRuntimeInstall(withCustom)).toBe(sqlRuntimeInstall(registry));
    const sandbox = createPlv8Sandbox(install);

    await db.query('CREATE TABLE patients (id int PRIMARY KEY, weight_kg numeric(5,1))');
    await db.query('INSERT INTO patients VALUES (1, 72.4), (2, 80.9), (3, NULL), (4, 3.2)');
    const col = column('weight_kg', 'numeric', 'numeric', 'numeric(5,1)');
    const params = defs[0]!.params.parse({ step: 2 });
    const expr = renderTransform(defs[0]!, { value: sql`src."weight_kg"`, column: col, table, params, key: sql`NULL`, subject: null, rowKey: null });
    expect(expr.text).toBe(`"pgmask"."custom_round_weight"(src."weight_kg"::float8, '{"step":2}'::jsonb)`);

    // evaluate the view expression per row: the cast to float8 by PostgreSQL, the function in
    // the sandbox, the cast back to the column type by PostgreSQL
    const rows = (await db.query<{ id: number; v: number | null }>('SELECT id, weight_kg::float8 AS v FROM patients ORDER BY id')).rows;
    const masked: (string | null)[] = [];
    for (const r of rows) {
      const out = sandbox.call('pgmask.custom_round_weight', [r.v, params], { role: 'analyst' });
      masked.push(out === null ? null : (await db.query<{ t: string }>('SELECT $1::float8::numeric(5,1)::text AS t', [out])).rows[0]!.t);
    }
    expect(masked).toEqual(['72.0', '80.0', null, '4.0']);
  });

  it.skipIf(!plv8Available())('works on the real PLV8 server in a view', async () => {
    const withCustom = registry.with(defs);
    await db.query('CREATE EXTENSION IF NOT EXISTS plv8');
    await db.query('CREATE SCHEMA IF NOT EXISTS pgmask');
    await db.query(await plv8RuntimeInstall(withCustom));
    await db.query(`CREATE VIEW masked_patients AS SELECT id, pgmask.custom_round_weight(weight_kg::float8, '{"step":2}'::jsonb)::numeric(5,1) AS weight_kg FROM patients`);
    const r = await db.query('SELECT weight_kg::text AS w FROM masked_patients ORDER BY id');
    expect(r.rows.map((x) => x.w)).toEqual(['72.0', '80.0', null, '4.0']);
  });
});

describe('custom transforms in a temporary directory', () => {
  it('date transforms cross as text through a casting wrapper', async () => {
    const d = dir('dates', {
      'first-of-month.ts': `import { defineCustomTransform } from 'pgmask';
export const firstOfMonth = defineCustomTransform({
  name: 'first_of_month',
  description: 'first day of the month',
  types: ['date'],
  fn: (value: string) => value.slice(0, 8) + '01',
});
`,
    });
    const defs = await loadCustomTransforms(d);
    const install = await plv8RuntimeInstall(registry.with(defs));
    // the date spelled from extract() (to_char would cast it to a timestamp, which ends in 294276 AD)
    expect(install).toContain(
      `RETURN "pgmask"."_js_custom_first_of_month"((CASE WHEN isfinite("value") THEN lpad(abs(extract(year FROM "value"))::int::text, greatest(4, length(abs(extract(year FROM "value"))::int::text)), '0') || '-' || lpad(extract(month FROM "value")::int::text, 2, '0') || '-' || lpad(extract(day FROM "value")::int::text, 2, '0') || CASE WHEN extract(year FROM "value") < 0 THEN ' BC' ELSE '' END ELSE "value"::text END), "params")::date;`,
    );
    const sandbox = createPlv8Sandbox(install);
    expect(sandbox.call('pgmask.custom_first_of_month', ['2020-02-29', {}])).toBe('2020-02-01');
  });

  it('refuses a file that does not type-check, with file:line:column', async () => {
    const d = dir('type-error', {
      'bad.ts': `import { defineCustomTransform } from 'pgmask';
export default defineCustomTransform({
  name: 'bad',
  description: 'returns a number where a string is used',
  types: ['text'],
  fn: (value: string) => value.toFixed(2),
});
`,
    });
    const err = await loadCustomTransforms(d).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CUSTOM_TRANSFORM_TYPE_ERROR' });
    const detail = (err as { details: { location?: { file: string; line: number } }[] }).details[0]!;
    expect(detail.location).toMatchObject({ file: join(d, 'bad.ts'), line: 6 });
  });

  it('refuses TextEncoder, which PLV8 does not have (type-checked against ES2020 without DOM)', async () => {
    const d = dir('globals', {
      'enc.ts': `import { defineCustomTransform } from 'pgmask';
export default defineCustomTransform({
  name: 'enc',
  description: 'byte length',
  types: ['text'],
  fn: (value: string) => String(new TextEncoder().encode(value).length),
});
`,
    });
    await expect(loadCustomTransforms(d)).rejects.toMatchObject({ code: 'CUSTOM_TRANSFORM_TYPE_ERROR', message: expect.stringContaining('TextEncoder') });
  });

  it('refuses a Node module import even when it type-checks', async () => {
    const d = dir('node-import', {
      'fs.ts': `import { defineCustomTransform } from 'pgmask';
// @ts-ignore: the type-check does not know node:fs; the bundler must still refuse it
import { readFileSync } from 'node:fs';
export default defineCustomTransform({
  name: 'reads_files',
  description: 'reads a file',
  types: ['text'],
  fn: (value: string) => String(readFileSync(value)),
});
`,
    });
    await expect(loadCustomTransforms(d)).rejects.toMatchObject({ code: 'CUSTOM_TRANSFORM_BUNDLE_FAILED' });
  });

  it('a custom transform named like a built-in (redact) is a coded policy error from the CLI: exit 3, not an internal error', async () => {
    const d = dir('clash-cli', {
      'redact.ts': `import { defineCustomTransform } from 'pgmask';
export default defineCustomTransform({ name: 'redact', description: 'mine', types: ['text'], fn: (v: string) => v });
`,
    });
    const policy = join(d, 'pgmask.yaml');
    writeFileSync(policy, 'version: 1\nruntime: plv8\nroles:\n  analyst: {}\ntables:\n  t:\n    columns:\n      x: redact\n');
    // the policy is loaded before any connection: an unreachable URL shows nothing else was tried
    const r = await runPgmask(['generate', '--policy', policy, '--transforms', d, '--database-url', 'postgres://nobody@127.0.0.1:1/none']);
    expect(r.stderr).toMatch(/error\[CUSTOM_TRANSFORM_NAME_CLASH\]: custom transform redact \(.*redact\.ts\) has the name of a built-in transform/);
    expect(r.stderr).toMatch(/rename it \(e\.g\. my_redact\)/);
    expect(r.code).toBe(3);
  });

  it('refuses a name clash with a built-in when added to the registry, and invalid metadata', async () => {
    const d = dir('clash', {
      'p.ts': `import { defineCustomTransform } from 'pgmask';
export default defineCustomTransform({ name: 'pseudonymize', description: 'clash', types: ['text'], fn: (v: string) => v });
`,
    });
    const defs = await loadCustomTransforms(d);
    expect(() => registry.with(defs)).toThrow(expect.objectContaining({ code: 'CUSTOM_TRANSFORM_NAME_CLASH', exitCode: 3 }));
    const bad = dir('bad-meta', {
      'm.ts': `import { defineCustomTransform } from 'pgmask';
export default defineCustomTransform({ name: 'Has-Caps', description: 'x', types: ['text'], fn: (v: string) => v });
`,
    });
    await expect(loadCustomTransforms(bad)).rejects.toMatchObject({ code: 'CUSTOM_TRANSFORM_INVALID' });
  });
});
