import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { withDatabase } from '../src/db/connection.ts';
import { createClinicalSchema, loadClinicalData, parseScale } from '../src/demo/synthetic.ts';
import { applyPolicy, loadPolicyText, snapshotFor } from '../src/cli/pipeline.ts';
import { refreshMaterialized } from '../src/db/refresh.ts';
import { ident, sql, type Sql } from '../src/sql/index.ts';
import { biAggregate, fullFetch } from './query-shapes.ts';
import { query } from '../src/db/query.ts';

/**
 * What keyed row order costs and what it buys (issue 10, leak 1).
 *
 * Cost: the clinic at --scale, masked twice with examples/clinic.yaml (sql
 * runtime): schema `masked` with the default keyed order (ORDER BY a keyed hash in
 * each dynamic view), schema `masked_storage` with `row_order: storage` on every
 * table (pgmask 0.1's storage order). The BI aggregate and the 10,000-row fetch of
 * bench/query-shapes.ts run against both; median of --runs.
 *
 * Effect: an insertion-ordered table of --scale rows, materialized; Spearman's ρ
 * between read position and raw id after migrate, after REFRESH … CONCURRENTLY
 * with 10% new rows, and after pgmask refresh (which CLUSTERs on the masked key).
 *
 * @example
 *   npx tsx bench/row-order.ts --scale 100k --runs 5
 *   DATABASE_URL=postgres://… npx tsx bench/row-order.ts --scale 1m --runs 3
 */
const { values } = parseArgs({ options: { scale: { type: 'string', default: '100k' }, runs: { type: 'string', default: '5' } } });
const scale = parseScale(values.scale!);
const runs = Number(values.runs);
const log = (line: string) => process.stderr.write(`${line}\n`);

let server: EmbeddedServer | undefined;
let adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  server = await startEmbeddedPostgres();
  adminUrl = server.url;
}
const dbName = `pgmask_bench_order_${randomBytes(4).toString('hex')}`;
const root = new pg.Client({ connectionString: adminUrl });
await root.connect();
await query(root, sql`CREATE DATABASE ${ident(dbName)} TEMPLATE template0`);
const url = withDatabase(adminUrl, dbName);
const client = new pg.Client({ connectionString: url });
await client.connect();

async function median(statement: Sql): Promise<number> {
  await query(client, statement); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await query(client, statement);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function rho(view: string): Promise<number> {
  const r = await client.query(`SELECT corr(pos, rk) AS r FROM (SELECT pos, rank() OVER (ORDER BY raw_id) AS rk
                                  FROM (SELECT row_number() OVER () AS pos, raw_id FROM ${view}) AS read) AS ranked`);
  return Number(r.rows[0].r);
}

try {
  log(`loading the clinic at scale ${scale.toLocaleString('en-US')}…`);
  await createClinicalSchema(client);
  await loadClinicalData(client, { scale });
  await client.query('ANALYZE');
  const clinic = readFileSync(join(import.meta.dirname, '..', 'examples', 'clinic.yaml'), 'utf8').replace('runtime: auto', 'runtime: sql').replace(/roles:\n(  .*\n)+/, '');
  const storage = clinic.replace('masked_schema: masked', 'masked_schema: masked_storage').replace(/\n {4}columns:\n/g, '\n    row_order: storage\n    columns:\n');
  log('migrating both schemas…');
  await applyPolicy(url, clinic, { file: 'clinic.yaml' });
  await applyPolicy(url, storage, { file: 'clinic-storage.yaml' });
  await client.query('SET max_parallel_workers_per_gather = 0');

  const rows: string[] = [];
  for (const shape of [biAggregate, fullFetch]) {
    const keyed = await median(shape.query('masked', []));
    const plain = await median(shape.query('masked_storage', []));
    rows.push(`| ${shape.name} | ${plain.toFixed(0)} ms | ${keyed.toFixed(0)} ms | ${(keyed / plain).toFixed(2)}x |`);
    log(rows[rows.length - 1]!);
  }

  log('materialized: an insertion-ordered table…');
  await client.query(`CREATE TABLE admissions (admission_id bigint PRIMARY KEY, raw_id bigint NOT NULL);
    INSERT INTO admissions SELECT g, g FROM generate_series(1, ${scale}) g`);
  const mat = `version: 1\nruntime: sql\nmasked_schema: masked_mat\nmaterialize: true\ntables:\n  admissions:\n    columns: { admission_id: pseudonymize, raw_id: keep }\n`;
  await applyPolicy(url, mat, { file: 'mat.yaml' });
  const initial = await rho('masked_mat.admissions');
  const added = Math.floor(scale / 10);
  await client.query(`INSERT INTO admissions SELECT g, g FROM generate_series(${scale + 1}, ${scale + added}) g`);
  await client.query('REFRESH MATERIALIZED VIEW CONCURRENTLY masked_mat.admissions');
  const concurrentOnly = await rho('masked_mat.admissions');
  await client.query(`INSERT INTO admissions SELECT g, g FROM generate_series(${scale + added + 1}, ${scale + 2 * added}) g`);
  const { policy } = await loadPolicyText(mat, 'mat.yaml');
  const t = performance.now();
  await refreshMaterialized(client, policy, await snapshotFor(client, policy));
  const refreshMs = performance.now() - t;
  const afterRefresh = await rho('masked_mat.admissions');

  process.stdout.write(`pgmask row order, clinic scale ${scale.toLocaleString('en-US')}, sql runtime, median of ${runs}, no parallel workers

| query shape | row_order: storage | keyed (default) | cost |
|---|---|---|---|
${rows.join('\n')}

Materialized, ${scale.toLocaleString('en-US')} insertion-ordered rows, Spearman ρ(read position, raw id):
after migrate ${initial.toFixed(4)}; after REFRESH … CONCURRENTLY with ${added.toLocaleString('en-US')} new rows ${concurrentOnly.toFixed(4)};
after pgmask refresh (REFRESH CONCURRENTLY + CLUSTER, ${added.toLocaleString('en-US')} more rows, ${refreshMs.toFixed(0)} ms) ${afterRefresh.toFixed(4)}
`);
} finally {
  await client.end();
  await query(root, sql`DROP DATABASE IF EXISTS ${ident(dbName)} WITH (FORCE)`).catch(() => {});
  await root.end();
  await server?.stop();
}
