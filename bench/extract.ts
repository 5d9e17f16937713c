/**
 * Extract throughput against pg_dump of the raw tables, on the same machine and
 * server, side by side in one run (not a test).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/extract.ts --scale 1m
 *
 * The server must be a superuser connection. pg_dump must be of the server's
 * major version: --pg-dump PATH, else /usr/lib/postgresql/<major>/bin/pg_dump
 * (Debian's layout), else the pg_dump on PATH when its version matches (the
 * embedded server ships no pg_dump, so run against an installed one). The baseline is what a
 * DBA runs to hand the raw tables over: pg_dump in plain format, and pg_dump in
 * directory format with --jobs 2. pgmask does more work per row (the masked
 * views' transforms), so the target is a ratio, not parity: ≤ 1.5× pg_dump's time
 * with --jobs 2 on the sql runtime. Peak RSS is the extract process's VmHWM.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyPolicy } from '../src/cli/pipeline.ts';
import { createClinicalSchema, loadClinicalData, parseScale } from '../src/demo/synthetic.ts';
import { withDatabase } from '../src/db/connection.ts';
import { ident, sql } from '../src/sql/index.ts';
import { query } from '../src/db/query.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const scale = parseScale(arg('--scale', '100k'));
const url = arg('--database-url', process.env.DATABASE_URL ?? '');
if (!url) {
  console.error("bench/extract.ts needs --database-url or DATABASE_URL (a superuser of a server with a pg_dump of its major version: --pg-dump PATH, /usr/lib/postgresql/<major>/bin, or PATH)");
  process.exit(2);
}
const TABLES = ['patients', 'encounters', 'observations', 'notes'];
const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'pgmask-bench-extract-'));
const dbName = `pgmask_bench_extract_${process.pid}`;
const targetName = `${dbName}_target`;
const role = `bench_extract_${process.pid}`;

interface Run {
  readonly seconds: number;
  readonly peakRssMb: number | null;
  /** bytes written to files, or null (a target database) */
  readonly bytes: number | null;
}

/** The major version a `pg_dump --version` reports, or null when it does not run. */
function dumpMajor(binary: string): string | null {
  try {
    return /(\d+)(?:\.\d+)?/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** A pg_dump of the server's major version: an older one refuses a newer server, a newer one dumps differently. */
function pgDumpFor(serverMajor: string): string {
  const candidates = [arg('--pg-dump', ''), `/usr/lib/postgresql/${serverMajor}/bin/pg_dump`, 'pg_dump'].filter((c) => c && (c === 'pg_dump' || existsSync(c)));
  for (const c of candidates) if (dumpMajor(c) === serverMajor) return c;
  throw new Error(`no pg_dump of major version ${serverMajor} (tried ${candidates.join(', ')}): pass --pg-dump PATH, or run against a server of the installed pg_dump's version`);
}

/** Runs a command, polling /proc for its peak resident set (VmHWM) while it runs. */
function timed(cmd: string, cmdArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<Omit<Run, 'bytes'>> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, cmdArgs, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peak: number | null = null;
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak ?? 0, Number(m[1]) / 1024);
      } catch {
        // exited between polls
      }
    }, 50);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`${cmd} ${cmdArgs.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ seconds: (performance.now() - started) / 1000, peakRssMb: peak });
    });
  });
}

function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0);
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const server = (await admin.query('SHOW server_version_num')).rows[0].server_version_num as string;
  const pgDump = pgDumpFor(String(Math.floor(Number(server) / 10000)));
  console.log(`server ${server}, ${pgDump}`);
  await query(admin, sql`CREATE DATABASE ${ident(dbName)}`);
  await query(admin, sql`CREATE DATABASE ${ident(targetName)}`);
  const dbUrl = withDatabase(url, dbName);
  try {
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    const loadStart = performance.now();
    await createClinicalSchema(c);
    const counts = await loadClinicalData(c, { scale, seed: 1 });
    await c.query('ANALYZE');
    await c.end();
    const rows = Object.values(counts).reduce((a: number, b: number) => a + b, 0);
    console.log(`loaded ${rows} rows (${JSON.stringify(counts)}) in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
    const policy = readFileSync(join(root, 'examples', 'clinic.yaml'), 'utf8')
      .replace('runtime: auto', 'runtime: sql')
      .replace('analyst:', `${role}:`)
      .replace('members: [metabase_reader]', 'members: []');
    const policyFile = join(work, 'clinic.yaml');
    writeFileSync(policyFile, policy);
    await applyPolicy(dbUrl, policy, { file: 'clinic.yaml' });

    const pgmask = (extra: string[]) => timed(process.execPath, [join(root, 'bin', 'pgmask.js'), 'extract', '--policy', policyFile, '--database-url', dbUrl, ...extra]);
    const tableArgs = TABLES.flatMap((t) => ['-t', `public.${t}`]);
    const results: [string, Run][] = [];
    const record = async (label: string, out: string | null, run: () => Promise<Omit<Run, 'bytes'>>) => {
      const r = await run();
      results.push([label, { ...r, bytes: out === null ? null : sizeOf(out) }]);
      console.log(`${label}: ${r.seconds.toFixed(1)} s`);
    };
    await record('pg_dump plain (raw tables)', join(work, 'raw.sql'), () => timed(pgDump, ['-d', dbUrl, ...tableArgs, '-f', join(work, 'raw.sql')]));
    await record('pg_dump -Fd --jobs 2 (raw tables)', join(work, 'raw.dir'), () => timed(pgDump, ['-d', dbUrl, ...tableArgs, '-Fd', '-j', '2', '-f', join(work, 'raw.dir')]));
    // the directory format compresses by default; the extract writes uncompressed, so this is the like-for-like one
    await record('pg_dump -Fd --jobs 2 -Z 0 (raw tables)', join(work, 'raw0.dir'), () => timed(pgDump, ['-d', dbUrl, ...tableArgs, '-Fd', '-j', '2', '-Z', '0', '-f', join(work, 'raw0.dir')]));
    // the masking work alone, without pgmask: the server reads every masked view (what an analyst's
    // SELECT * computes), one after another, and throws the rows away
    await record('masked views read on the server (COPY … TO /dev/null, serial)', null, async () => {
      const started = performance.now();
      const v = new pg.Client({ connectionString: dbUrl });
      await v.connect();
      for (const t of TABLES) await query(v, sql`COPY (SELECT * FROM ${ident('masked', t)}) TO '/dev/null'`);
      await v.end();
      return { seconds: (performance.now() - started) / 1000, peakRssMb: null };
    });
    // what every pgmask run pays before any row (node, the TypeScript loader of a clone): weighs at small scales only
    await record('pgmask --version (start-up only)', null, () => timed(process.execPath, [join(root, 'bin', 'pgmask.js'), '--version']));
    await record('pgmask extract --out FILE.sql', join(work, 'masked.sql'), () => pgmask(['--out', join(work, 'masked.sql')]));
    await record('pgmask extract --format csv --jobs 2', join(work, 'masked-csv'), () => pgmask(['--format', 'csv', '--out', join(work, 'masked-csv'), '--jobs', '2']));
    await record('pgmask extract --to DB --jobs 2', null, () => pgmask(['--to', withDatabase(url, targetName), '--jobs', '2']));
    const base = results[0]![1].seconds;
    // the fastest pg_dump with two jobs (compressed or not) is the baseline of the target
    const baseJobs = Math.min(results[1]![1].seconds, results[2]![1].seconds);
    console.log(`\nscale ${scale}: ${rows} rows, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    console.log('| run | seconds | ÷ pg_dump plain | ÷ fastest pg_dump -j 2 | MB written | peak RSS MB |');
    console.log('|---|---|---|---|---|---|');
    for (const [label, r] of results) {
      console.log(`| ${label} | ${r.seconds.toFixed(1)} | ${(r.seconds / base).toFixed(2)} | ${(r.seconds / baseJobs).toFixed(2)} | ${r.bytes === null ? '—' : (r.bytes / 1e6).toFixed(0)} | ${r.peakRssMb === null ? '—' : r.peakRssMb.toFixed(0)} |`);
    }
    // the targets, side by side: the best --jobs 2 extract against pg_dump -j 2, and the extract's peak memory
    const jobs2 = results.filter(([label]) => label.startsWith('pgmask') && label.includes('--jobs 2'));
    const [bestLabel, best] = jobs2.reduce((a, b) => (b[1].seconds < a[1].seconds ? b : a));
    const peak = Math.max(...results.filter(([label]) => label.startsWith('pgmask')).map(([, r]) => r.peakRssMb ?? 0));
    console.log(`\nextract --jobs 2: ${best.seconds.toFixed(1)} s (${bestLabel}) vs the fastest pg_dump -j 2: ${baseJobs.toFixed(1)} s, pg_dump plain: ${base.toFixed(1)} s → ${(best.seconds / baseJobs).toFixed(2)}× (target ≤ 1.5×)`);
    console.log(`extract peak RSS: ${peak.toFixed(0)} MB (target < 200 MB)`);
  } finally {
    await query(admin, sql`DROP DATABASE IF EXISTS ${ident(dbName)} WITH (FORCE)`).catch(() => {});
    await query(admin, sql`DROP DATABASE IF EXISTS ${ident(targetName)} WITH (FORCE)`).catch(() => {});
    await query(admin, sql`DROP ROLE IF EXISTS ${ident(role)}`).catch(() => {});
    await admin.end();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
