/**
 * Per-subject work once per subject (issue 12). Not a test: run `npx tsx bench/subject-once.ts`
 * (embedded server, or DATABASE_URL). Two tables of `--rows` visits (id, patient_id, admitted,
 * discharged, followup, ward), the rules patient_id pseudonymize and three dates shift_date
 * by the subject:
 *
 * - `visits`: `--per-subject` visits per patient (default 50): subjects repeat;
 * - `sparse`: 1.2 visits per patient: subjects barely repeat (Memoize rarely hits).
 *
 * Against each, the view a careful DBA writes by hand: every column its own HMAC, written
 * inline on every row (as bench/dba-baseline.sql writes shift_date), and the raw table. Rounds
 * interleave the three relations; the medians of `--runs` are printed side by side, with the
 * ratio pgmask / hand-written (below 1: pgmask does less work).
 */
import { applyPolicy } from '../src/cli/pipeline.ts';
import { withScratchDatabase } from './scratch-database.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROWS = opt('rows', 200_000);
const PER_SUBJECT = opt('per-subject', 50);
const RUNS = opt('runs', 5);
const out = (line = '') => process.stdout.write(`${line}\n`);

const policy = `version: 1
source_schema: public
masked_schema: masked
runtime: sql
keys: [default]
subject: patient_id
roles:
  bench_subject_once: {}
tables:
${['visits', 'sparse']
  .map(
    (t) => `  ${t}:
    row_order: storage
    columns:
      id: keep
      patient_id: pseudonymize
      admitted: { shift_date: { max_days: 60 } }
      discharged: { shift_date: { max_days: 60 } }
      followup: { shift_date: { max_days: 60 } }
      ward: keep
`,
  )
  .join('')}`;

/**
 * By hand: the pseudonym as pgmask's documented construction (the first 10 bytes of
 * HMAC-SHA256 of the value, in hex), the offset as bench/dba-baseline.sql writes it (the first
 * 4 bytes of an HMAC of a label and the subject, mod 2·60, picking from a ±1…60 table, never 0),
 * inline for each column, the key and the table read once per query (cross joins).
 */
const hand = (t: string) => {
  const days = `s.offsets[1 + (('x' || encode(substr(pgmask.hmac('\\x73686966745f6461746500'::bytea || convert_to(v.patient_id, 'UTF8'), k.key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint % 120)::int]`;
  return `CREATE VIEW hand.${t} AS
SELECT v.id,
       encode(substr(pgmask.hmac(convert_to(v.patient_id, 'UTF8'), k.key, 'sha256'), 1, 10), 'hex') AS patient_id,
       v.admitted + ${days} AS admitted,
       v.discharged + ${days} AS discharged,
       v.followup + ${days} AS followup,
       v.ward
  FROM public.${t} v
 CROSS JOIN (SELECT key FROM pgmask_private.keys WHERE name = 'default' AND version = 1) k
 CROSS JOIN (SELECT array_agg(CASE WHEN d < 60 THEN -(d + 1) ELSE d - 59 END ORDER BY d) AS offsets FROM generate_series(0, 119) d) s;`;
};

const shapes: readonly { name: string; sql: (rel: string) => string }[] = [
  { name: 'three shifted dates, one aggregate', sql: (r) => `SELECT sum(admitted - date '2000-01-01'), sum(discharged - date '2000-01-01'), sum(followup - date '2000-01-01') FROM ${r}` },
  { name: 'one shifted date', sql: (r) => `SELECT sum(admitted - date '2000-01-01') FROM ${r}` },
  { name: 'patients per ward (pseudonym)', sql: (r) => `SELECT ward, count(DISTINCT patient_id) FROM ${r} GROUP BY ward` },
  { name: 'no per-subject column', sql: (r) => `SELECT ward, count(*), max(id) FROM ${r} GROUP BY ward` },
  { name: 'fetch 10k rows', sql: (r) => `SELECT * FROM ${r} LIMIT 10000` },
];

await withScratchDatabase('pgmask_bench_subject', ['bench_subject_once'], async (url, client) => {
  out(`server ${(await client.query('SHOW server_version')).rows[0].server_version}; ${ROWS.toLocaleString('en')} rows per table; median of ${RUNS} interleaved runs`);
  for (const [t, perSubject] of [['visits', PER_SUBJECT], ['sparse', 1.2]] as const) {
    const subjects = Math.max(1, Math.round(ROWS / perSubject));
    await client.query(`CREATE TABLE ${t} (id int PRIMARY KEY, patient_id text NOT NULL, admitted date, discharged date, followup date, ward text)`);
    await client.query(`INSERT INTO ${t} SELECT g, 'P' || (hashint4(g) & 2147483647) % ${subjects}, date '2020-01-01' + g % 1000, date '2020-01-04' + g % 1000, date '2020-03-01' + g % 900, 'w' || g % 30 FROM generate_series(1, ${ROWS}) g`);
    await client.query(`VACUUM ANALYZE ${t}`);
  }
  await applyPolicy(url, policy, { file: 'bench-subject-once.yaml' });
  await client.query('CREATE SCHEMA hand');
  await client.query(hand('visits'));
  await client.query(hand('sparse'));
  for (const t of ['visits', 'sparse']) {
    const diff = await client.query(`SELECT count(*)::int AS n FROM (SELECT * FROM masked.${t} EXCEPT ALL SELECT * FROM hand.${t}) x`);
    if (diff.rows[0].n !== 0) throw new Error(`masked.${t} and hand.${t} differ in ${diff.rows[0].n} rows: the comparison would not be of the same work`);
  }
  for (const t of ['visits', 'sparse']) {
    const distinct = (await client.query(`SELECT count(DISTINCT patient_id)::int AS n FROM ${t}`)).rows[0].n;
    out();
    out(`${t}: ${(ROWS / distinct).toFixed(1)} rows per subject                 raw ms    hand ms  pgmask ms  pgmask/hand`);
    for (const shape of shapes) {
      const times: Record<'raw' | 'hand' | 'masked', number[]> = { raw: [], hand: [], masked: [] };
      for (let i = 0; i <= RUNS; i++) {
        for (const schema of ['masked', 'hand', 'raw'] as const) {
          const started = process.hrtime.bigint();
          await client.query(shape.sql(`${schema === 'raw' ? 'public' : schema}.${t}`));
          // the first round warms the cache and is not counted
          if (i > 0) times[schema].push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const [raw, handMs, masked] = [median(times.raw), median(times.hand), median(times.masked)];
      out(`  ${shape.name.padEnd(38)} ${raw.toFixed(0).padStart(8)} ${handMs.toFixed(0).padStart(10)} ${masked.toFixed(0).padStart(10)} ${(masked / handMs).toFixed(2).padStart(12)}`);
    }
  }
});
