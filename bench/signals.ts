/**
 * Biosignals (issue 17). Not a test: run `npx tsx bench/signals.ts` (embedded server, or
 * DATABASE_URL). Two measurements:
 *
 * 1. A long time series (subject, channel, ts timestamptz, value real; one row per sample):
 *    pgmask's view with `ts: shift_date` and `value: noise` against a hand-written view doing
 *    the same work (one HMAC per row for the subject's offset, one for the value's noise, the key
 *    read once), both in storage order, read in full by one aggregate. The ratio is
 *    pgmask / hand-written (target ≤ 1.2).
 * 2. ECGs (one real[] lead of 5,000 samples per row) through `signal_noise`: ms per ECG.
 *
 * Options: `--rows N` (default 200000), `--ecgs N` (default 1000), `--runs N` (default 3),
 * `--ecg-runs N` (default `--runs`; the ECG read is long at full scale).
 * The full scale (10M rows, 100k ECGs) needs a quiet machine: about 50x this run's
 * time and 2 GB of disk; do not run it on a shared one.
 */
import pg from 'pg';
import { applyPolicy } from '../src/cli/pipeline.ts';
import { withScratchDatabase } from './scratch-database.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROWS = opt('rows', 200_000);
const ECGS = opt('ecgs', 1000);
const RUNS = opt('runs', 3);
const SAMPLES = 5000;
const out = (line = '') => process.stdout.write(`${line}\n`);

const seriesPolicy = `version: 1
source_schema: public
masked_schema: masked
runtime: sql
keys: [default]
subject: subject
roles:
  bench_signals: {}
tables:
  series:
    row_order: storage
    columns:
      subject: pseudonymize
      channel: keep
      ts: { shift_date: { max_days: 60 } }
      value: { noise: { relative: 0.05 } }
  ecg:
    row_order: storage
    columns:
      id: keep
      subject: pseudonymize
      ecg_time: { shift_date: { max_days: 60 } }
      lead_ii: { signal_noise: { snr_db: 30 } }
`;

/** the same work by hand (pgcrypto lives in schema pgmask when pgmask created it): HMAC per row for the offset (first 4 bytes mod 120, never 0), HMAC per row for the noise factor */
const handWritten = `
CREATE SCHEMA hand;
CREATE VIEW hand.series AS
SELECT encode(substr(pgmask.hmac(convert_to(s.subject, 'UTF8'), k.key, 'sha256'), 1, 10), 'hex') AS subject,
       s.channel,
       s.ts + make_interval(days => (CASE WHEN d.n % 120 < 60 THEN -(d.n % 120 + 1) ELSE d.n % 120 - 59 END)::int) AS ts,
       (s.value * (1 + 0.05 * (((('x' || encode(substr(pgmask.hmac(convert_to(encode(float4send(s.value), 'hex') || ':' || s.subject, 'UTF8'), k.key, 'sha256'), 1, 7), 'hex'))::bit(56)::bigint >> 4) * 2 + 1)::float8 / 2251799813685248 - 2)))::real AS value
  FROM public.series s
 CROSS JOIN (SELECT key FROM pgmask_private.keys WHERE name = 'default' AND version = 1) k
 CROSS JOIN LATERAL (SELECT ('x' || encode(substr(pgmask.hmac('\\x73686966745f6461746500'::bytea || convert_to(s.subject, 'UTF8'), k.key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint AS n) d;
`;

async function interleaved(client: pg.Client, texts: readonly string[]): Promise<number[]> {
  const times: number[][] = texts.map(() => []);
  for (let i = 0; i <= RUNS; i++) {
    for (const [j, text] of texts.entries()) {
      const t = process.hrtime.bigint();
      await client.query(text);
      if (i > 0) times[j]!.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  return times.map((ts) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]!);
}

async function timed(client: pg.Client, text: string, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await client.query(text);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

await withScratchDatabase('pgmask_bench_signals', ['bench_signals'], async (url, client) => {
  out(`server ${(await client.query('SHOW server_version')).rows[0].server_version}; ${ROWS.toLocaleString('en')} series rows, ${ECGS.toLocaleString('en')} ECGs of ${SAMPLES} samples; median of ${RUNS} runs`);
  await client.query(`CREATE TABLE series (subject text NOT NULL, channel text NOT NULL, ts timestamptz NOT NULL, value real, PRIMARY KEY (subject, channel, ts))`);
  await client.query(`INSERT INTO series SELECT 'S' || (g % 500), 'ch' || (g % 4), timestamptz '2024-01-01' + (g / 2000) * interval '4 ms' + (g % 2000) * interval '1 second', (sin(g / 50.0) * 100)::real FROM generate_series(1, ${ROWS}) g`);
  await client.query(`CREATE TABLE ecg (id int PRIMARY KEY, subject text NOT NULL, ecg_time timestamptz NOT NULL, lead_ii real[])`);
  await client.query(`INSERT INTO ecg SELECT g, 'S' || (g % 500), timestamptz '2024-01-01' + g * interval '1 hour', ARRAY(SELECT (sin(i / (5.0 + g % 7)) + 0.3 * cos(i / 2.1))::real FROM generate_series(1, ${SAMPLES}) i) FROM generate_series(1, ${ECGS}) g`);
  await client.query('VACUUM ANALYZE series');
  await client.query('VACUUM ANALYZE ecg');
  await applyPolicy(url, seriesPolicy, { file: 'bench-signals.yaml' });
  await client.query(handWritten);
  const read = (schema: string) => `SELECT count(*), sum(extract(epoch FROM ts)), sum(value::float8), count(DISTINCT subject) FROM ${schema}.series`;
  // both views agree on the shift (the same construction); the check keeps the comparison honest
  const same = await client.query(`SELECT count(*)::int AS n FROM (SELECT ts FROM masked.series EXCEPT ALL SELECT ts FROM hand.series) x`);
  // rounds interleave the three relations (a noisy machine slows all three alike); the first warms the cache
  const [pgmaskMs, handMs, rawMs] = (await interleaved(client, [read('masked'), read('hand'), read('public')])) as [number, number, number];
  out();
  out(`long time series, shift + noise, full read by one aggregate:`);
  out(`  raw table        ${rawMs.toFixed(0).padStart(7)} ms`);
  out(`  hand-written     ${handMs.toFixed(0).padStart(7)} ms`);
  out(`  pgmask           ${pgmaskMs.toFixed(0).padStart(7)} ms   ratio pgmask / hand-written = ${(pgmaskMs / handMs).toFixed(2)}  (shifted timestamps differing from the hand-written view's: ${same.rows[0].n})`);
  const ecgRuns = opt('ecg-runs', RUNS);
  const ecgMs = await timed(client, `SELECT sum(lead_ii[1]::float8), sum(cardinality(lead_ii)) FROM masked.ecg`, ecgRuns);
  const ecgRawMs = await timed(client, `SELECT sum(lead_ii[1]::float8), sum(cardinality(lead_ii)) FROM public.ecg`, ecgRuns);
  out();
  out(`ECGs through signal_noise (sql runtime): ${ecgMs.toFixed(0)} ms for ${ECGS} → ${(ecgMs / ECGS).toFixed(2)} ms per ECG of ${SAMPLES} samples (raw read ${ecgRawMs.toFixed(0)} ms)`);
  if (ECGS < 100_000) out(`  at 100k ECGs: about ${((ecgMs / ECGS) * 100_000 / 60_000).toFixed(0)} min on one core (extrapolated; --ecgs 100000 measures it)`);
});
