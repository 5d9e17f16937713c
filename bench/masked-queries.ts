import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { redactUrl, withDatabase } from '../src/db/connection.ts';
import { clinicalRowCounts, createClinicalSchema, loadClinicalData, parseScale } from '../src/demo/synthetic.ts';
import { registry } from '../src/transforms/registry.ts';
import { ident, sql } from '../src/sql/index.ts';
import { PgmaskError } from '../src/errors.ts';
import { benchSources, SourceUnavailable, type BenchContext, type BenchSource, type PipelineApi } from './bench-sources.ts';
import { queryShapes, type QueryShape } from './query-shapes.ts';
import { dbaShapes, dbaSources, loadPeople } from './dba-baseline.ts';
import { median, renderBenchMarkdown, type BenchCell, type BenchMachine, type BenchResult, type BenchTarget } from './bench-report.ts';
import { query } from '../src/db/query.ts';

/**
 * `npm run bench -- --scale 1m`: loads the synthetic clinical data once, prepares
 * every source (raw tables, hand-written pgcrypto views, pgmask with each runtime,
 * pgmask materialized), then times the four query shapes against all of them in
 * the same run and prints a markdown table for docs/performance.md.
 *
 * @example
 *   npm run bench -- --scale 100k --runs 5
 *   DATABASE_URL=postgres://… npm run bench -- --scale 1m --out bench/results.md
 */
export interface BenchOptions {
  /** rows per large table (see loadClinicalData) */
  readonly scale: number;
  /** timed runs per shape × source (default 5) */
  readonly runs?: number;
  /** untimed warm-up rounds (default 1) */
  readonly warmups?: number;
  readonly seed?: number;
  /** superuser URL of the server to use; default $DATABASE_URL, else an embedded PostgreSQL */
  readonly databaseUrl?: string;
  readonly sources?: readonly BenchSource[];
  readonly shapes?: readonly QueryShape[];
  /**
   * `clinic` (default): the synthetic clinic and bench/hand-written-views.sql; `people`: the
   * one-table benchmark of issue 12 against the DBA's view of bench/dba-baseline.sql
   */
  readonly dataset?: 'clinic' | 'people';
  /** progress lines (stderr in the CLI) */
  readonly log?: (line: string) => void;
}

const MIN_SAMPLE_MS = 20;
const MAX_REPEATS = 50;

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? (() => {});
  const runs = opts.runs ?? 5;
  const warmups = opts.warmups ?? 1;
  const seed = opts.seed ?? 1;
  const people = opts.dataset === 'people';
  const shapes = opts.shapes ?? (people ? dbaShapes : queryShapes);
  const sources = opts.sources ?? (people ? dbaSources : benchSources);
  if (!Number.isInteger(runs) || runs < 1) throw new PgmaskError({ code: 'INVALID_RUNS', message: `--runs must be a whole number ≥ 1, got ${runs}`, exitCode: 2 });
  const counts = clinicalRowCounts(opts.scale);

  let server: EmbeddedServer | undefined;
  let adminUrl = opts.databaseUrl ?? process.env.DATABASE_URL;
  const serverLabel = adminUrl ? `DATABASE_URL ${redactUrl(adminUrl)}` : 'embedded';
  if (!adminUrl) {
    log('starting an embedded PostgreSQL…');
    server = await startEmbeddedPostgres();
    adminUrl = server.url;
  }
  const suffix = randomBytes(4).toString('hex');
  const mainDb = `pgmask_bench_${suffix}`;
  const role = `pgmask_bench_analyst_${suffix}`;
  const databases: string[] = [];
  const clients: pg.Client[] = [];
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'pgmask-bench' });
  await admin.connect();
  const notes: string[] = [];

  try {
    await query(admin, sql`CREATE DATABASE ${ident(mainDb)} TEMPLATE template0 ENCODING 'UTF8'`);
    databases.push(mainDb);
    const mainUrl = withDatabase(adminUrl, mainDb);
    let main = await openClient(mainUrl);

    log(`loading ${counts.encounters.toLocaleString('en-US')} rows per large table (seed ${seed})…`);
    const t0 = performance.now();
    if (people) {
      await loadPeople(main, opts.scale, seed);
    } else {
      await createClinicalSchema(main);
      await loadClinicalData(main, { scale: opts.scale, seed });
    }
    const loadMs = performance.now() - t0;
    log(`loaded in ${(loadMs / 1000).toFixed(1)} s`);

    const machine = await describeMachine(main, serverLabel);
    const plv8Available = (await main.query("SELECT 1 FROM pg_available_extensions WHERE name = 'plv8'")).rowCount! > 0;
    const { pipeline, problem } = await loadPipeline();

    let mainChanged = false;
    const context: BenchContext = {
      get client() {
        return main;
      },
      url: mainUrl,
      plv8Available,
      pipeline,
      pipelineProblem: problem,
      transforms: new Set(registry.names()),
      role,
      note: (line) => notes.push(line),
      async cloneDatabase(purpose) {
        if (mainChanged) throw new Error('cloneDatabase: the loaded database was already changed by another source');
        const name = `${mainDb}_${purpose}`;
        // CREATE DATABASE … TEMPLATE needs the template to have no other session
        await main.end();
        try {
          await cloneWithRetry(admin, name, mainDb, machine.postgres);
          databases.push(name);
        } finally {
          main = await openClient(mainUrl);
        }
        return withDatabase(adminUrl!, name);
      },
    };

    // sources with their own database first: they copy the data before anything changes it
    const setupOrder = [...sources.filter((s) => s.ownDatabase), ...sources.filter((s) => !s.ownDatabase)];
    const ready = new Map<BenchSource, string>();
    const unavailable: { source: string; reason: string }[] = [];
    for (const source of setupOrder) {
      log(`setting up ${source.name}…`);
      try {
        const url = await source.setup(context);
        if (!source.ownDatabase) mainChanged = true;
        ready.set(source, url);
      } catch (e) {
        if (!source.ownDatabase) mainChanged = true;
        const reason = e instanceof SourceUnavailable ? e.message : `set-up failed: ${describeError(e)}`;
        log(`  ${source.name}: ${reason}`);
        unavailable.push({ source: source.name, reason });
      }
    }
    await main.end();

    const running = sources.filter((s) => ready.has(s));
    const connections = new Map<BenchSource, pg.Client>();
    for (const source of running) {
      const client = await openClient(ready.get(source)!);
      clients.push(client);
      connections.set(source, client);
    }
    const parameters = new Map<string, unknown[]>();
    for (const source of running) {
      for (const shape of shapes) parameters.set(`${shape.name}\u0000${source.name}`, await shape.parameters(connections.get(source)!, source.schema));
    }

    const timed: BenchMachine = { ...machine, loadAverage: loadavg()[0] ?? 0 };
    const samples = new Map<string, number[]>();
    const rowCounts = new Map<string, number>();
    const repeats = new Map<string, number>();
    const rounds = warmups + runs;
    for (let round = 0; round < rounds; round++) {
      log(round < warmups ? `warm-up round ${round + 1}/${warmups}…` : `run ${round - warmups + 1}/${runs}…`);
      for (const shape of shapes) {
        // rotate the order every round so no source always runs first (cold) or last
        for (let k = 0; k < running.length; k++) {
          const source = running[(k + round) % running.length]!;
          const key = `${shape.name}\u0000${source.name}`;
          const client = connections.get(source)!;
          const statement = shape.query(source.schema, parameters.get(key)!);
          // a sub-20 ms query is timed over several back-to-back executions (mean per call), so timer
          // and scheduling jitter do not decide a ratio between two ~1 ms lookups
          const reps = repeats.get(key) ?? 1;
          const start = process.hrtime.bigint();
          let result = await query(client, statement);
          for (let r = 1; r < reps; r++) result = await query(client, statement);
          const elapsed = Number(process.hrtime.bigint() - start) / 1e6 / reps;
          if (round < warmups) {
            repeats.set(key, elapsed < MIN_SAMPLE_MS ? Math.min(MAX_REPEATS, Math.ceil(MIN_SAMPLE_MS / Math.max(elapsed, 0.01))) : 1);
          } else {
            samples.set(key, [...(samples.get(key) ?? []), elapsed]);
            rowCounts.set(key, result.rowCount ?? result.rows.length);
          }
        }
      }
    }

    const cells: BenchCell[] = [];
    for (const shape of shapes) {
      const rawMedian = medianOf(samples, shape, running.find((s) => s.schema === 'public'));
      const handMedian = medianOf(samples, shape, running.find((s) => s.schema === 'hand_masked'));
      for (const source of running) {
        const values = samples.get(`${shape.name}\u0000${source.name}`)!;
        const m = median(values);
        cells.push({
          shape: shape.name,
          source: source.name,
          samplesMs: values,
          medianMs: m,
          minMs: Math.min(...values),
          maxMs: Math.max(...values),
          rows: rowCounts.get(`${shape.name}\u0000${source.name}`)!,
          ratioToRaw: rawMedian ? m / rawMedian : null,
          ratioToHandWritten: handMedian ? m / handMedian : null,
        });
      }
    }
    checkRowCounts(cells, shapes, notes);
    const targets = evaluateTargets(cells, shapes);
    const partial: Omit<BenchResult, 'markdown'> = {
      scale: opts.scale,
      seed,
      runs,
      warmups,
      counts,
      ...(people ? { dataLabel: `one table of ${opts.scale.toLocaleString('en-US')} people (id bigint, mrn, birth_date, zip, sex, weight numeric(5,1)), generated in SQL` } : {}),
      loadMs,
      machine: timed,
      minSampleMs: warmups > 0 ? MIN_SAMPLE_MS : 0,
      shapes: shapes.map((s) => s.name),
      sources: running.map((s) => s.name),
      unavailable: sources.flatMap((s) => unavailable.filter((u) => u.source === s.name)),
      cells,
      targets,
      notes,
    };
    return { ...partial, markdown: renderBenchMarkdown(partial) };
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    for (const db of databases.reverse()) await query(admin, sql`DROP DATABASE IF EXISTS ${ident(db)} WITH (FORCE)`).catch(() => {});
    await query(admin, sql`DROP ROLE IF EXISTS ${ident(role)}`).catch(() => {});
    await admin.end();
    await server?.stop();
  }
}

async function openClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'pgmask-bench' });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function cloneWithRetry(admin: pg.Client, name: string, template: string, version: string): Promise<void> {
  // FILE_COPY copies the files instead of WAL-logging every block: much faster for a large template (PostgreSQL 15+)
  const strategy = Number.parseInt(version, 10) >= 15 ? sql` STRATEGY FILE_COPY` : sql``;
  for (let attempt = 0; ; attempt++) {
    try {
      await query(admin, sql`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}${strategy}`);
      return;
    } catch (e) {
      // autovacuum may still be visiting the freshly loaded template
      if ((e as { code?: string }).code !== '55006' || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function loadPipeline(): Promise<{ pipeline: PipelineApi | null; problem: string | null }> {
  try {
    const mod = (await import(new URL('../src/cli/pipeline.ts', import.meta.url).href)) as Partial<PipelineApi>;
    if (typeof mod.applyPolicy !== 'function' || typeof mod.loadPolicyText !== 'function') {
      return { pipeline: null, problem: 'src/cli/pipeline.ts does not export applyPolicy and loadPolicyText' };
    }
    return { pipeline: mod as PipelineApi, problem: null };
  } catch (e) {
    return { pipeline: null, problem: `cannot import src/cli/pipeline.ts: ${describeError(e)}` };
  }
}

async function describeMachine(client: pg.ClientBase, server: string): Promise<BenchMachine> {
  const setting = async (name: string) => (await client.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)).rows[0]!.v;
  const settings: Record<string, string> = {};
  for (const name of ['shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit']) settings[name] = await setting(name);
  return {
    date: new Date().toISOString().replace(/:\d\d\.\d+Z$/, ' UTC').replace('T', ' '),
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() || 'unknown CPU',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg()[0] ?? 0,
    postgres: await setting('server_version'),
    server,
    settings,
  };
}

function medianOf(samples: Map<string, number[]>, shape: QueryShape, source: BenchSource | undefined): number | null {
  if (!source) return null;
  const values = samples.get(`${shape.name}\u0000${source.name}`);
  return values ? median(values) : null;
}

/** The masked sources answer the same question, so they must return as many rows; the bench says when they do not. */
function checkRowCounts(cells: readonly BenchCell[], shapes: readonly QueryShape[], notes: string[]): void {
  for (const shape of shapes) {
    const masked = cells.filter((c) => c.shape === shape.name && c.source !== 'raw tables');
    const distinct = new Set(masked.map((c) => c.rows));
    if (distinct.size > 1) notes.push(`${shape.name}: the masked sources returned different row counts (${masked.map((c) => `${c.source} ${c.rows}`).join(', ')})`);
  }
}

function evaluateTargets(cells: readonly BenchCell[], shapes: readonly QueryShape[]): BenchTarget[] {
  const targets: BenchTarget[] = [];
  const cell = (shape: string, source: string) => cells.find((c) => c.shape === shape && c.source === source);
  for (const shape of shapes) {
    const hand = cell(shape.name, 'hand-written pgcrypto view');
    const sqlRuntime = cell(shape.name, 'pgmask sql runtime');
    const plv8 = cell(shape.name, 'pgmask plv8 runtime');
    const raw = cell(shape.name, 'raw tables');
    const mat = cell(shape.name, 'pgmask materialized');
    if (hand && sqlRuntime) {
      const r = sqlRuntime.medianMs / hand.medianMs;
      targets.push({ description: `${shape.name}: sql runtime ≤ 1.2× hand-written`, value: `${r.toFixed(2)}×`, met: r <= 1.2 });
    }
    const handNoJit = cell(shape.name, 'hand-written, jit off');
    const sqlNoJit = cell(shape.name, 'pgmask sql runtime, jit off');
    if (handNoJit && sqlNoJit) {
      const r = sqlNoJit.medianMs / handNoJit.medianMs;
      targets.push({ description: `${shape.name}: sql runtime ≤ 1.2× hand-written, both with jit off`, value: `${r.toFixed(2)}×`, met: r <= 1.2 });
    }
    if (sqlRuntime && plv8) {
      const r = plv8.medianMs / sqlRuntime.medianMs;
      targets.push({ description: `${shape.name}: plv8 runtime ≤ 2× sql runtime`, value: `${r.toFixed(2)}×`, met: r <= 2 });
    }
    if (raw && mat) {
      const r = mat.medianMs / raw.medianMs;
      targets.push({ description: `${shape.name}: materialized ≤ 1.1× raw`, value: `${r.toFixed(2)}×`, met: r <= 1.1 });
    }
    if (mat && shape.name === 'point lookup by pseudonym') {
      targets.push({ description: 'materialized point lookup by pseudonym < 5 ms', value: `${mat.medianMs.toFixed(2)} ms`, met: mat.medianMs < 5 });
    }
  }
  return targets;
}

function describeError(e: unknown): string {
  if (e instanceof PgmaskError) return `${e.code}: ${e.message}${e.details.length ? ` (${e.details.map((d) => d.message).join('; ')})` : ''}`;
  return e instanceof Error ? e.message : String(e);
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scale: { type: 'string', default: '100k' },
      runs: { type: 'string', default: '5' },
      warmups: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      dataset: { type: 'string', default: 'clinic' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--dataset clinic|people] [--scale 100k] [--runs 5] [--warmups 1] [--seed 1] [--out FILE.md] [--json]\n' +
        '--dataset people: the one-table benchmark of issue 12 against a DBA\'s hand-written view (bench/dba-baseline.sql), per transform and per query shape.\n' +
        'Times four query shapes against raw tables, hand-written pgcrypto views and pgmask views on the same data.\n' +
        'Uses $DATABASE_URL (a superuser URL) when set, otherwise an embedded PostgreSQL.\n',
    );
    return;
  }
  if (values.dataset !== 'clinic' && values.dataset !== 'people') throw new PgmaskError({ code: 'INVALID_DATASET', message: `--dataset must be clinic or people, got ${values.dataset}`, exitCode: 2 });
  const result = await runBench({
    scale: parseScale(values.scale),
    runs: Number(values.runs),
    warmups: Number(values.warmups),
    seed: Number(values.seed),
    dataset: values.dataset === 'people' ? 'people' : 'clinic',
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (values.out) await writeFile(values.out, result.markdown);
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : result.markdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`error: ${describeError(e)}\n`);
    if (e instanceof PgmaskError && e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    process.exitCode = e instanceof PgmaskError ? e.exitCode : 1;
  });
}
