import type pg from 'pg';
import type { CatalogColumn } from '../catalog/catalog-snapshot.ts';
import type { CreateMaskedView } from '../plan/nodes.ts';
import type { PolicyTable } from '../policy/policy.ts';
import { ident, literal, sql, sqlExpression, type Sql } from '../sql/index.ts';
import type { SignalFidelity } from './report.ts';
import { queryRows } from '../db/query.ts';

/** Transforms whose columns are signals: measured here, not as single values. */
export const SIGNAL_TRANSFORMS: ReadonlySet<string> = new Set(['signal_noise', 'resample']);
/** Signals sampled per column (the first ones with samples, in the table's order). */
export const SIGNAL_SAMPLE = 20;
/** Samples of a signal compared (SNR, correlation). */
const MAX_SAMPLES = 4096;
/** The spectrum is estimated on the first samples of each signal at SPECTRUM_POINTS frequencies of (0, Nyquist]. */
const SPECTRUM_SAMPLES = 1024;
const SPECTRUM_POINTS = 64;
/**
 * Bands as fractions of the Nyquist frequency (the sampling rate is not in the catalog): octaves
 * from 1/16 of Nyquist up. At 256 Hz (EEG) they are 4–8, 8–16, 16–32, 32–64 Hz and 64–128 Hz:
 * roughly theta, alpha, beta, gamma and what lies above.
 */
export const BANDS: readonly { readonly label: string; readonly from: number; readonly to: number }[] = [
  { label: '1/16–1/8 Nyquist', from: 1 / 16, to: 1 / 8 },
  { label: '1/8–1/4 Nyquist', from: 1 / 8, to: 1 / 4 },
  { label: '1/4–1/2 Nyquist', from: 1 / 4, to: 1 / 2 },
  { label: '1/2–1 Nyquist', from: 1 / 2, to: 1 },
];

/**
 * The fidelity query of one signal column: for up to SIGNAL_SAMPLE signals, the raw signal next
 * to the view's own expression over the same source row (computed in the database: no raw
 * value leaves it), the achieved SNR (dB) and the correlation of the masked with the raw
 * samples, and the relative error of the power in each band of a DFT at 64 frequencies on the
 * first 1,024 samples. A resampled signal is compared with the raw one by repeating each mean
 * `factor` times (what detail the averaging removed).
 */
export function signalFidelityQuery(view: CreateMaskedView, column: CatalogColumn, expression: Sql, factor: number | null): Sql {
  const where = sql` WHERE src.${ident(column.name)} IS NOT NULL${view.filter === null ? sql`` : sql` AND (${sqlExpression(view.filter)})`}`;
  const index = factor === null ? sql`u.i` : sql`((u.i - 1) / ${literal(factor)} + 1)`;
  const bandSums = BANDS.map((b, n) => {
    const lo = literal(Math.round(b.from * SPECTRUM_POINTS));
    const hi = literal(Math.round(b.to * SPECTRUM_POINTS));
    return sql`sum(d.pr) FILTER (WHERE d.k > ${lo} AND d.k <= ${hi}) AS ${ident(`pr${n}`)}, sum(d.pm) FILTER (WHERE d.k > ${lo} AND d.k <= ${hi}) AS ${ident(`pm${n}`)}`;
  });
  const bandErrors = BANDS.map((_, n) => sql`avg(abs(b.${ident(`pm${n}`)} - b.${ident(`pr${n}`)}) / nullif(b.${ident(`pr${n}`)}, 0)) AS ${ident(`band${n}`)}`);
  const sep = (parts: Sql[]) => parts.reduce((a, p) => sql`${a}, ${p}`);
  return sql`WITH s AS MATERIALIZED (
  SELECT row_number() OVER () AS sid, src.${ident(column.name)}::float8[] AS r, (${expression})::float8[] AS m
  FROM ${ident(view.sourceSchema, view.sourceTable)} AS src${where} LIMIT ${literal(SIGNAL_SAMPLE)}
), p AS MATERIALIZED (
  SELECT s.sid, u.i::int AS i, u.x AS r, s.m[${index}] AS y
  FROM s, unnest(s.r) WITH ORDINALITY AS u(x, i)
  WHERE u.i <= ${literal(MAX_SAMPLES)} AND u.x IS NOT NULL AND abs(u.x) < 1e150
), q AS (
  SELECT sid, 10 * log(sum(r * r) / nullif(sum((y - r) * (y - r)), 0)) AS snr, corr(r, y) AS c
  FROM p WHERE y IS NOT NULL AND abs(y) < 1e150 GROUP BY sid
), d AS (
  SELECT p.sid, k, (sum(p.r * cos(pi() * k * p.i / ${literal(SPECTRUM_POINTS)})) ^ 2 + sum(p.r * sin(pi() * k * p.i / ${literal(SPECTRUM_POINTS)})) ^ 2) AS pr,
         (sum(coalesce(p.y, 0) * cos(pi() * k * p.i / ${literal(SPECTRUM_POINTS)})) ^ 2 + sum(coalesce(p.y, 0) * sin(pi() * k * p.i / ${literal(SPECTRUM_POINTS)})) ^ 2) AS pm
  FROM p, generate_series(1, ${literal(SPECTRUM_POINTS)}) AS k
  WHERE p.i <= ${literal(SPECTRUM_SAMPLES)} AND (p.y IS NULL OR abs(p.y) < 1e150)
  GROUP BY p.sid, k
), b AS (
  SELECT d.sid, ${sep(bandSums)} FROM d GROUP BY d.sid
)
SELECT (SELECT count(*) FROM s)::int AS signals,
       (SELECT avg(snr) FROM q) AS snr_mean, (SELECT min(snr) FROM q) AS snr_min, (SELECT max(snr) FROM q) AS snr_max,
       (SELECT avg(c) FROM q) AS corr_mean, (SELECT min(c) FROM q) AS corr_min,
       ${sep(bandErrors)}
FROM b`;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Signal fidelity of every signal_noise / resample column of one masked view. */
export async function measureSignalFidelity(client: pg.ClientBase, view: CreateMaskedView, policyTable: PolicyTable, columns: readonly CatalogColumn[]): Promise<SignalFidelity[]> {
  const out: SignalFidelity[] = [];
  for (const vc of view.columns) {
    const rule = policyTable.columns.find((c) => c.name === vc.name)?.rule;
    const column = columns.find((c) => c.name === vc.name);
    if (!rule || !column || !SIGNAL_TRANSFORMS.has(rule.transform)) continue;
    const factor = rule.transform === 'resample' ? Number(rule.params.factor) : null;
    const row = (await queryRows<Record<string, unknown>>(client, signalFidelityQuery(view, column, vc.expression, factor)))[0]!;
    out.push({
      table: policyTable.name,
      column: column.name,
      transform: rule.transform,
      rule: rule.display,
      signals: Number(row.signals ?? 0),
      snrDb: { mean: num(row.snr_mean), min: num(row.snr_min), max: num(row.snr_max) },
      correlation: { mean: num(row.corr_mean), min: num(row.corr_min) },
      bandPowerError: BANDS.map((b, n) => ({ band: b.label, meanRelativeError: num(row[`band${n}`]) })),
    });
  }
  return out;
}
