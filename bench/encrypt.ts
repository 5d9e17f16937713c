/**
 * encrypt vs pseudonymize: per-row cost over N rows on the sql runtime (SELECT over
 * generate_series of 10-digit MRN-like text), and in Node (the plv8 runtime's JavaScript).
 * PLV8 itself is measured only when the server has it. Not a test:
 *   npx tsx bench/encrypt.ts                 # 1,000,000 rows (format-preserving: --fpe-rows, default 20,000)
 *   npx tsx bench/encrypt.ts --rows 100000 --fpe-rows 5000
 * DATABASE_URL (a superuser) or an embedded server.
 */
import pg from 'pg';
import { registry } from '../src/transforms/registry.ts';
import { sqlRuntimeInstall } from '../src/runtime/runtime-install.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { encryptFpe, encryptText } from '../src/transforms/js/encrypt.ts';
import { pseudonymizeText } from '../src/transforms/js/pseudonymize.ts';

const args = process.argv.slice(2);
const num = (flag: string, fallback: number) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : fallback);
const ROWS = num('--rows', 1_000_000);
const FPE_ROWS = num('--fpe-rows', 20_000);
const out = (line = '') => process.stdout.write(`${line}\n`);

async function timed(client: pg.Client, expr: string, rows: number): Promise<number> {
  // count(expr) forces every value; the same query over the bare value is subtracted
  const q = (e: string) => `SELECT count(${e}) FROM generate_series(1, ${rows}) AS g(i), LATERAL (SELECT lpad((i::bigint * 7919)::text, 10, '0') AS v) AS x`;
  await client.query(q(expr).replace(String(rows), String(Math.min(rows, 1000))));
  const t0 = process.hrtime.bigint();
  await client.query(q('x.v'));
  const base = Number(process.hrtime.bigint() - t0);
  const t1 = process.hrtime.bigint();
  await client.query(q(expr));
  return (Number(process.hrtime.bigint() - t1) - base) / 1000 / rows;
}

let server: EmbeddedServer | undefined;
let url = process.env.DATABASE_URL;
if (!url) {
  server = await startEmbeddedPostgres();
  url = server.url;
}
const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  await client.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
  await client.query('CREATE SCHEMA IF NOT EXISTS pgmask');
  const pgcrypto = (await client.query<{ s: string }>("SELECT extnamespace::regnamespace::text AS s FROM pg_extension WHERE extname = 'pgcrypto'")).rows[0]!.s;
  await client.query(`SET search_path = pgmask, ${pgcrypto}, pg_catalog`);
  await client.query(sqlRuntimeInstall(registry));
  await client.query('SET search_path = pg_catalog');
  const key = `decode(repeat('5a', 32), 'hex')`;
  const version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const plv8 = (await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'plv8'")).rowCount! > 0;
  out(`PostgreSQL ${version}; sql runtime; µs per row (value cost subtracted)`);
  const pseudo = await timed(client, `pgmask.pseudonymize(x.v, ${key}, '{}'::jsonb)`, ROWS);
  out(`  pseudonymize                     ${pseudo.toFixed(2).padStart(8)} µs  (${ROWS.toLocaleString('en')} rows)`);
  const enc = await timed(client, `pgmask.encrypt(x.v, ${key}, 1)`, ROWS);
  out(`  encrypt                          ${enc.toFixed(2).padStart(8)} µs  (${ROWS.toLocaleString('en')} rows)  ${(enc / pseudo).toFixed(1)}x pseudonymize`);
  const fpe = await timed(client, `pgmask.encrypt_fpe(x.v, ${key})`, FPE_ROWS);
  out(`  encrypt preserve_format (FF1)    ${fpe.toFixed(2).padStart(8)} µs  (${FPE_ROWS.toLocaleString('en')} rows)  ${(fpe / pseudo).toFixed(1)}x pseudonymize`);
  out(plv8 ? '  plv8: install the plv8 runtime and rerun with DATABASE_URL to time it' : '  plv8 runtime: PLV8 absent on this server (JavaScript timed in Node below)');
  const k = new Uint8Array(32).fill(0x5a);
  const node = (f: (v: string) => unknown, n: number) => {
    for (let i = 0; i < Math.min(n, 2000); i++) f(String(i).padStart(10, '0'));
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(String(i * 7919).padStart(10, '0'));
    return Number(process.hrtime.bigint() - t) / 1000 / n;
  };
  const nodeRows = Math.min(ROWS, 200_000);
  const jsPseudo = node((v) => pseudonymizeText(v, k, null), nodeRows);
  out(`Node (the plv8 runtime's JavaScript), µs per call:`);
  out(`  pseudonymize                     ${jsPseudo.toFixed(2).padStart(8)} µs`);
  out(`  encrypt                          ${node((v) => encryptText(v, k, 1), nodeRows).toFixed(2).padStart(8)} µs`);
  out(`  encrypt preserve_format (FF1)    ${node((v) => encryptFpe(v, k), Math.min(FPE_ROWS, 20_000)).toFixed(2).padStart(8)} µs`);
} finally {
  await client.end();
  await server?.stop();
}
