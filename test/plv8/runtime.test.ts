/**
 * The PLV8 runtime machinery: the install SQL plv8/ generates, run in the sandbox (and on
 * the real server when it has PLV8). Bundle once per role, version-tag re-init, STRICT,
 * bare globals, every registered signature installed.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/transforms/registry.ts';
import { plv8RuntimeInstall, sqlRuntimeInstall } from '../../src/runtime/runtime-install.ts';
import { bundleRuntime } from '../../plv8/bundle-runtime.ts';
import { compilePlv8Install } from '../../plv8/compile-install.ts';
import { createTestDatabase, plv8Available, type TestDatabase } from '../support/db.ts';
import { createPlv8Sandbox, type Plv8Sandbox } from '../support/plv8-sandbox.ts';
import { canonicalSqlType } from '../../plv8/sql-types.ts';

const KEY = new Uint8Array(randomBytes(32));
let install: string;
let sandbox: Plv8Sandbox;

beforeAll(async () => {
  install = await plv8RuntimeInstall(registry);
  sandbox = createPlv8Sandbox(install);
});

describe('plv8 install SQL', () => {
  it('carries the bundle once, in pgmask._plv8_init(), and is deterministic', async () => {
    expect(install.match(/var __pgmask_bundle = /g)).toHaveLength(1);
    expect(install.match(/CREATE OR REPLACE FUNCTION "pgmask"\."_plv8_init"\(\)/g)).toHaveLength(1);
    expect(await plv8RuntimeInstall(registry)).toBe(install);
    // the bundle does not depend on the working directory (generated SQL must be the same bytes everywhere)
    const cwd = process.cwd();
    try {
      process.chdir(tmpdir());
      expect(await plv8RuntimeInstall(registry)).toBe(install);
    } finally {
      process.chdir(cwd);
    }
  });

  it('makes every transform function STRICT PARALLEL SAFE and IMMUTABLE (STABLE only for a wrapper casting date/time text), and installs every registered plv8 signature', () => {
    const headers = [...install.matchAll(/CREATE OR REPLACE FUNCTION "pgmask"\."(\w+)"\(([^)]*)\)\n {2}RETURNS (\w+)\n {2}LANGUAGE (\w+) ([A-Z ]+)\n/g)];
    expect(headers.length).toBeGreaterThan(5);
    for (const [, name, args, returns, language, attrs] of headers) {
      if (name === '_plv8_init') expect(attrs).toBe('VOLATILE PARALLEL SAFE');
      else if (language === 'sql' && /\b(date|timestamp|timestamptz|interval)\b/.test(`${args} ${returns}`)) expect(attrs, name).toBe('STABLE STRICT PARALLEL SAFE');
      else expect(attrs, name).toBe('IMMUTABLE STRICT PARALLEL SAFE');
    }
    const defined = new Set(sandbox.functions());
    for (const t of registry.all()) {
      if (!t.runtimes.includes('plv8')) continue;
      for (const sig of t.plv8 ?? []) {
        expect(defined.has(`pgmask.${sig.sqlName}(${sig.args.map(([, type]) => canonicalSqlType(type)).join(',')})`), `${t.name}: pgmask.${sig.sqlName}`).toBe(true);
      }
    }
  });

  it('passes non-boundary types as text through a casting SQL wrapper', () => {
    expect(install).toContain(`CREATE OR REPLACE FUNCTION "pgmask"."pseudonymize_int8"("value" int8, "key" bytea, "opts" jsonb)
  RETURNS int8
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN "pgmask"."_js_pseudonymize_int8"("value"::text, "key", "opts")::int8;`);
    expect(install).toContain(`CREATE OR REPLACE FUNCTION "pgmask"."_js_pseudonymize_int8"("value" text, "key" bytea, "opts" jsonb)
  RETURNS text
  LANGUAGE plv8 IMMUTABLE STRICT PARALLEL SAFE`);
  });

  it('refuses a signature whose JavaScript implementation does not exist', async () => {
    const broken = registry.with([
      {
        name: 'ghost',
        description: 'no implementation',
        params: registry.get('keep')!.params,
        types: ['text'],
        runtimes: ['plv8'],
        immutable: true,
        usesKey: false,
        render: (ctx) => ctx.value,
        sqlFile: null,
        plv8: [{ sqlName: 'ghost', args: [['value', 'text']], returns: 'text', js: 'ghost_impl' }],
      },
    ]);
    await expect(plv8RuntimeInstall(broken)).rejects.toMatchObject({ code: 'PLV8_IMPLEMENTATION_MISSING' });
  });
});

describe('plv8 runtime in the sandbox', () => {
  it('runs init once per role, however many calls, and each role gets its own context', () => {
    const fresh = createPlv8Sandbox(install);
    const results = new Set<unknown>();
    for (let i = 0; i < 1000; i++) results.add(fresh.call('pgmask.pseudonymize', [`MRN${i % 10}`, KEY, {}]));
    expect(results.size).toBe(10);
    expect(fresh.initRuns('postgres')).toBe(1);
    expect(fresh.initRuns('analyst')).toBe(0);
    const a = fresh.call('pgmask.pseudonymize', ['MRN1', KEY, {}], { role: 'analyst' });
    expect(a).toBe(fresh.call('pgmask.pseudonymize', ['MRN1', KEY, {}]));
    expect(fresh.initRuns('analyst')).toBe(1);
    expect(fresh.evaluate('typeof globalThis.__pgmask_runtime', 'nobody')).toBe('undefined');
  });

  it('re-runs init when the version tag on globalThis is stale (a reinstall in the same session)', () => {
    const fresh = createPlv8Sandbox(install);
    fresh.call('pgmask.pseudonymize_int4', [1, KEY, {}]);
    fresh.evaluate(`globalThis.__pgmask_runtime.version = 'older'; globalThis.__pgmask_runtime.impl = {}`);
    expect(fresh.call('pgmask.pseudonymize_int4', [1, KEY, {}])).toBe(sandbox.call('pgmask.pseudonymize_int4', [1, KEY, {}]));
    expect(fresh.initRuns()).toBe(2);
  });

  it('shares the JS context with the role\'s own PLV8 code: a planted runtime would receive the key, so masking roles must not have USAGE on plv8', () => {
    // PLV8 runs a view's transform in the querying role's context. A role that may run its
    // own PLV8 code (USAGE on the trusted language, granted to PUBLIC by CREATE EXTENSION
    // plv8: a DO block is enough) can plant globals before it queries a masked view. This
    // pins down that threat; the defence is privilege-based (REVOKE USAGE ON LANGUAGE plv8
    // FROM PUBLIC and from masking roles), not something JavaScript in the same context can do.
    const fresh = createPlv8Sandbox(install);
    const tag = /rt\.version !== "(\w+)"/.exec(install)![1]!;
    fresh.evaluate(
      `globalThis.stolen = []; globalThis.__pgmask_runtime = { version: ${JSON.stringify(tag)}, impl: { pseudonymize_text: (v, key) => { globalThis.stolen.push(Array.from(key)); return 'x'; } } };`,
      'analyst',
    );
    fresh.call('pgmask.pseudonymize', ['A1', KEY, {}], { role: 'analyst' });
    expect(fresh.evaluate('globalThis.stolen[0]', 'analyst')).toEqual(Array.from(KEY));
    // another role's context is untouched
    expect(fresh.call('pgmask.pseudonymize', ['A1', KEY, {}], { role: 'other' })).toBe(sandbox.call('pgmask.pseudonymize', ['A1', KEY, {}]));
  });

  it('is STRICT: a NULL argument gives NULL without running anything', () => {
    const fresh = createPlv8Sandbox(install);
    expect(fresh.call('pgmask.pseudonymize', [null, KEY, {}])).toBeNull();
    expect(fresh.call('pgmask.pseudonymize_int8', ['5', null, {}])).toBeNull();
    expect(fresh.initRuns()).toBe(0);
  });

  it('has PLV8 globals only: no TextEncoder, Buffer, crypto, console, timers, structuredClone, atob', () => {
    const absent = ['TextEncoder', 'TextDecoder', 'Buffer', 'crypto', 'console', 'setTimeout', 'queueMicrotask', 'structuredClone', 'atob', 'btoa', 'require', 'process', 'fetch'];
    for (const name of absent) expect(sandbox.evaluate(`typeof ${name}`), name).toBe('undefined');
    for (const name of ['BigInt', 'Intl', 'WebAssembly', 'plv8']) expect(sandbox.evaluate(`typeof ${name}`), name).not.toBe('undefined');
  });

  it('catches a bundle that uses a Node global at call time', async () => {
    const bad = fileURLToPath(new URL('./fixtures/uses-buffer.ts', import.meta.url));
    const bundle = await bundleRuntime([bad]);
    const sb = createPlv8Sandbox(compilePlv8Install(bundle, [{ sqlName: 'custom_uses_buffer', args: [['value', 'text'], ['params', 'jsonb']], returns: 'text', js: 'custom_uses_buffer' }]));
    expect(() => sb.call('pgmask.custom_uses_buffer', ['x', {}])).toThrow(/Buffer is not defined/);
  });
});

describe('plv8 install SQL on the real PostgreSQL, with a stand-in plv8 language', () => {
  // Without PLV8 the JavaScript cannot run here, but everything around it can be checked on
  // the real server: a language named plv8 whose handler is never called (plpgsql's, no
  // validator) lets PostgreSQL create the functions, bind the SQL wrappers to the _js_
  // functions, and replace the sql runtime's functions in place (same names, argument
  // names and return types), with a view that uses them surviving both switches.
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it.skipIf(plv8Available())('switches sql → plv8 → sql → plv8 over the same functions, and a view keeps working', async () => {
    db = await createTestDatabase('pgmask_plv8_switch');
    await db.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    await db.query('CREATE SCHEMA pgmask');
    await db.query('CREATE LANGUAGE plv8 HANDLER plpgsql_call_handler');
    await db.query(sqlRuntimeInstall(registry));
    await db.query(`CREATE TABLE t (id int8, u uuid, mrn text)`);
    await db.query(`INSERT INTO t VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A1')`);
    await db.query(
      `CREATE VIEW v AS SELECT pgmask.pseudonymize_int8(id, '\\x01'::bytea, '{}') AS id, pgmask.pseudonymize_uuid(u, '\\x01'::bytea, '{}') AS u, pgmask.pseudonymize(mrn, '\\x01'::bytea, '{}') AS mrn FROM t`,
    );
    const before = (await db.query('SELECT id::text, u::text, mrn FROM v')).rows;
    const languages = async () =>
      (
        await db!.query<{ sig: string; lang: string }>(
          `SELECT p.oid::regprocedure::text AS sig, l.lanname AS lang FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
           WHERE p.pronamespace = 'pgmask'::regnamespace AND p.proname IN ('pseudonymize', 'pseudonymize_int8', '_js_pseudonymize_int8') ORDER BY 1`,
        )
      ).rows;
    await db.query(install);
    expect(await languages()).toEqual([
      { sig: 'pgmask._js_pseudonymize_int8(text,bytea,jsonb)', lang: 'plv8' },
      { sig: 'pgmask.pseudonymize(text,bytea,jsonb)', lang: 'plv8' },
      { sig: 'pgmask.pseudonymize_int8(bigint,bytea,jsonb)', lang: 'sql' },
    ]);
    // the wrapper is bound to the plv8 function (a SQL-standard body records the dependency)
    const dep = await db.query(
      `SELECT 1 FROM pg_depend WHERE objid = 'pgmask.pseudonymize_int8(int8,bytea,jsonb)'::regprocedure AND refobjid = 'pgmask._js_pseudonymize_int8(text,bytea,jsonb)'::regprocedure`,
    );
    expect(dep.rowCount).toBe(1);
    await db.query(sqlRuntimeInstall(registry));
    expect((await db.query('SELECT id::text, u::text, mrn FROM v')).rows).toEqual(before);
    await db.query(install);
    expect((await languages()).find((r) => r.sig.startsWith('pgmask.pseudonymize('))?.lang).toBe('plv8');
  });
});

describe('plv8 runtime on the real server', () => {
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it.skipIf(!plv8Available())('installs and returns the sql runtime values, for a second role too', async () => {
    db = await createTestDatabase('pgmask_plv8');
    await db.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    await db.query('CREATE EXTENSION IF NOT EXISTS plv8');
    await db.query('CREATE SCHEMA pgmask');
    await db.query(sqlRuntimeInstall(registry));
    const q = `SELECT pgmask.pseudonymize('MRN1', $1, '{"prefix":"P-"}') AS t, pgmask.pseudonymize_int4(42, $1, '{}') AS i,
                      pgmask.pseudonymize_int8(-9223372036854775808, $1, '{}')::text AS b, pgmask.pseudonymize_uuid('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', $1, '{}')::text AS u`;
    const viaSql = (await db.query(q, [Buffer.from(KEY)])).rows[0];
    await db.query(install);
    const viaPlv8 = (await db.query(q, [Buffer.from(KEY)])).rows[0];
    expect(viaPlv8).toEqual(viaSql);
  });
});
