/**
 * Transform throughput: each plv8 signature in Node (the JavaScript implementation), on
 * the sql runtime (SELECT over generate_series on the embedded server, or DATABASE_URL),
 * and on PLV8 when the server has it, printed side by side as ratios; the headline is
 * pseudonymize over 1M rows, plv8 vs sql. Also the Node-side rate of the shipped
 * HMAC-SHA256 against @noble/hashes. Not a test: run `npx tsx bench/transforms.ts`
 * (`--rows N` for the SQL row count, default 200000; `--quick` for a smoke run).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import pg from 'pg';
import { registry } from '../src/transforms/registry.ts';
import { implementations } from '../src/transforms/js/index.ts';
import { hmacSha256, hmacSha256TextInto } from '../src/transforms/js/hmac.ts';
import { utf8Encode } from '../src/transforms/js/utf8.ts';
import { plv8RuntimeInstall, sqlRuntimeInstall } from '../src/runtime/runtime-install.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { withDatabase } from '../src/db/connection.ts';
import { query } from '../src/db/query.ts';
import { ident, literal, param, sql, typeName, type Sql } from '../src/sql/index.ts';
import { jsArgument, resolveCase, sqlParameter, VECTOR_SESSION } from '../test/vectors/vector-eval.ts';
import type { Vector, VectorFile } from '../test/vectors/vector-case.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const rowsArg = args.indexOf('--rows');
const ROWS = rowsArg >= 0 ? Number(args[rowsArg + 1]) : quick ? 2000 : 200_000;
const HEADLINE_ROWS = quick ? 5000 : 1_000_000;
const NODE_CALLS = quick ? 2000 : 200_000;

const out = (line = '') => process.stdout.write(`${line}\n`);
const fmt = (us: number) => (us < 10 ? us.toFixed(2) : us.toFixed(1)).padStart(8);

/** µs per call of f, after a warm-up */
function nodeRate(calls: number, f: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(10_000, calls); i++) f(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) f(i);
  return Number(process.hrtime.bigint() - t) / 1000 / calls;
}

function hmacRates(): void {
  const key = new Uint8Array(32).fill(7);
  const te = new TextEncoder();
  const digest = new Uint8Array(32);
  const noble = nodeRate(NODE_CALLS, (i) => hmac(sha256, key, te.encode(`MRN${i}`)));
  const mine = nodeRate(NODE_CALLS * 5, (i) => hmacSha256(key, utf8Encode(`MRN${i}`)));
  const mineText = nodeRate(NODE_CALLS * 5, (i) => hmacSha256TextInto(key, `MRN${i}`, digest, 0));
  const freshKey = nodeRate(NODE_CALLS * 5, (i) => hmacSha256TextInto(new Uint8Array(key), `MRN${i}`, digest, 0));
  out('HMAC-SHA256 of short strings in Node (µs per call, calls per second):');
  out(`  @noble/hashes hmac(sha256)                 ${fmt(noble)} µs  ${Math.round(1e6 / noble).toLocaleString('en')}/s`);
  out(`  shipped hmacSha256 (+ utf8Encode)          ${fmt(mine)} µs  ${Math.round(1e6 / mine).toLocaleString('en')}/s  (${(noble / mine).toFixed(1)}x noble)`);
  out(`  shipped hmacSha256TextInto (no allocation) ${fmt(mineText)} µs  ${Math.round(1e6 / mineText).toLocaleString('en')}/s  (${(noble / mineText).toFixed(1)}x noble)`);
  out(`  same, new key buffer each call (as PLV8)   ${fmt(freshKey)} µs  ${Math.round(1e6 / freshKey).toLocaleString('en')}/s  (${(noble / freshKey).toFixed(1)}x noble)`);
  out();
}

/** One sample call per plv8 signature: the first vector with no NULL argument. */
function samples(): Vector[] {
  const dir = fileURLToPath(new URL('../test/vectors/', import.meta.url));
  const byFn = new Map<string, Vector>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const file = JSON.parse(readFileSync(join(dir, f), 'utf8')) as VectorFile;
    for (const v of file.vectors) {
      const id = `${v.fn}(${v.args.map((a) => a.type).join(',')})`;
      if (!byFn.has(id) && v.args.every((a) => a.value !== null) && v.expected !== null) byFn.set(id, v);
    }
  }
  return [...byFn.values()];
}

/** µs per row of `SELECT count(expr) FROM generate_series(1, rows)`, minus the same loop over `base` (the arguments without the call). */
async function sqlRate(client: pg.Client, expr: Sql, base: Sql, rows: number): Promise<number> {
  const time = async (e: Sql) => {
    const t = process.hrtime.bigint();
    await query(client, sql`SELECT count(${e}) FROM generate_series(1, ${literal(rows)}) i`);
    return Number(process.hrtime.bigint() - t) / 1000;
  };
  await time(expr); // warm-up: plan, PLV8 init
  const baseUs = await time(base);
  return Math.max(0, (await time(expr)) - baseUs) / rows;
}

/** Each argument made row-dependent, so PostgreSQL cannot fold an IMMUTABLE call into a constant. */
function sqlArgs(v: Vector, params: readonly unknown[]): Sql {
  return sql`${v.args.map((a, i) => sql`(CASE WHEN i > 0 THEN ${param(params[i])}::${typeName(a.type)} END)`)}`;
}

async function main(): Promise<void> {
  hmacRates();

  let server: EmbeddedServer | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    server = await startEmbeddedPostgres();
    adminUrl = server.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const plv8 = (await admin.query("SELECT 1 FROM pg_available_extensions WHERE name = 'plv8'")).rowCount! > 0;
  // unique names: a smoke run in the test suite may share the server with a real bench run
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const dbs = [`pgmask_bench_sql_${suffix}`, ...(plv8 ? [`pgmask_bench_plv8_${suffix}`] : [])];
  for (const name of dbs) {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  }
  const connect = async (name: string) => {
    const c = new pg.Client({ connectionString: withDatabase(adminUrl!, name) });
    await c.connect();
    for (const [k, v] of Object.entries(VECTOR_SESSION)) await query(c, sql`SELECT set_config(${param(k)}, ${param(v)}, false)`);
    await c.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    await c.query('CREATE SCHEMA IF NOT EXISTS pgmask');
    await c.query(sqlRuntimeInstall(registry));
    return c;
  };
  const sqlDb = await connect(dbs[0]!);
  let plv8Db: pg.Client | undefined;
  if (plv8) {
    plv8Db = await connect(dbs[1]!);
    await plv8Db.query('CREATE EXTENSION IF NOT EXISTS plv8');
    await plv8Db.query(await plv8RuntimeInstall(registry));
  }

  try {
    const key = Buffer.alloc(32, 7);
    const headline = sql`pgmask.pseudonymize('MRN' || i, ${param(key)}, '{}')`;
    out(`pseudonymize over ${HEADLINE_ROWS.toLocaleString('en')} rows (SELECT count(pgmask.pseudonymize('MRN' || i, key, '{}')) FROM generate_series):`);
    const headlineBase = sql`CASE WHEN ${param(key)}::bytea IS NOT NULL THEN 'MRN' || i END`;
    const sqlUs = await sqlRate(sqlDb, headline, headlineBase, HEADLINE_ROWS);
    const nodeUs = nodeRate(NODE_CALLS, (i) => implementations.pseudonymize_text!(`MRN${i}`, new Uint8Array(key), {}));
    out(`  sql runtime (pgcrypto)   ${fmt(sqlUs)} µs/row   ${(sqlUs * HEADLINE_ROWS / 1e6).toFixed(2)} s`);
    out(`  JavaScript in Node       ${fmt(nodeUs)} µs/call  (Node/sql ${(nodeUs / sqlUs).toFixed(2)})`);
    if (plv8Db) {
      const plv8Us = await sqlRate(plv8Db, headline, headlineBase, HEADLINE_ROWS);
      out(`  plv8 runtime             ${fmt(plv8Us)} µs/row   ${(plv8Us * HEADLINE_ROWS / 1e6).toFixed(2)} s`);
      out(`  pseudonymize plv8/sql ratio: ${(plv8Us / sqlUs).toFixed(2)} (target ≤ 2)`);
    } else {
      out('  plv8 runtime             PLV8 is absent on this server (pg_available_extensions has no plv8): no plv8/sql ratio');
    }
    out();

    out(`Per transform function (${ROWS.toLocaleString('en')} rows in SQL, ${NODE_CALLS.toLocaleString('en')} calls in Node; µs per call):`);
    out(`  ${'function'.padEnd(58)} ${'node'.padStart(8)} ${'sql'.padStart(8)} ${plv8Db ? `${'plv8'.padStart(8)} ${'plv8/sql'.padStart(8)}` : ''} ${'sql/node'.padStart(8)}`);
    for (const v of samples()) {
      const resolved = resolveCase(registry, v);
      if (!resolved) continue;
      const impl = implementations[resolved.signature.js];
      const jsArgs = v.args.map(jsArgument);
      const node = impl ? nodeRate(NODE_CALLS, () => impl(...jsArgs)) : NaN;
      const params = v.args.map(sqlParameter);
      const label = `${v.fn}(${v.args.map((a) => a.type).join(', ')})`.padEnd(58);
      let sqlCell = '       -';
      let sqlUsRow = NaN;
      if (resolved.transform.runtimes.includes('sql')) {
        try {
          sqlUsRow = await sqlRate(sqlDb, sql`${ident('pgmask', v.fn)}(${sqlArgs(v, params)})`, sql`ROW(${sqlArgs(v, params)})`, ROWS);
          sqlCell = fmt(sqlUsRow);
        } catch (e) {
          sqlCell = '   error';
          out(`  (sql ${v.fn}: ${(e as Error).message})`);
        }
      }
      let plv8Cells = '';
      if (plv8Db) {
        const p = await sqlRate(plv8Db, sql`${ident('pgmask', v.fn)}(${sqlArgs(v, params)})`, sql`ROW(${sqlArgs(v, params)})`, ROWS).catch(() => NaN);
        plv8Cells = `${fmt(p)} ${(p / sqlUsRow).toFixed(2).padStart(8)}`;
      }
      out(`  ${label} ${fmt(node)} ${sqlCell} ${plv8Cells} ${(sqlUsRow / node).toFixed(1).padStart(8)}`);
    }
    if (!plv8Db) out('  (plv8 columns omitted: PLV8 is absent on this server)');
  } finally {
    await sqlDb.end();
    await plv8Db?.end();
    for (const name of dbs) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await server?.stop();
  }
}

await main();
