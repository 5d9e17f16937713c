import type pg from 'pg';
import type { CatalogColumn, TypeFamily } from '../db/catalog-snapshot.ts';
import type { PolicyTable } from '../policy/policy.ts';
import type { CreateMaskedView } from '../plan/nodes.ts';
import { ident, join, literal, sql, sqlExpression, type Sql } from '../sql/index.ts';
import type { ColumnUtility, CorrelationPair, Technique } from './report.ts';

/** Transforms that keep, remove or replace a value outright: nothing to measure as fidelity. */
const NOT_MEASURED: ReadonlySet<string> = new Set(['keep', 'redact', 'pseudonymize', 'fake']);
/** Transforms that move a value by a (keyed) random amount; every other measured transform coarsens it. */
const PERTURBING: ReadonlySet<string> = new Set(['noise', 'shift_date']);
/** Columns whose pairwise correlations are compared, at most (pairs grow quadratically). */
const MAX_CORRELATED_COLUMNS = 8;
const HISTOGRAM_BINS = 20;

const NUMERIC: ReadonlySet<TypeFamily> = new Set(['integer', 'numeric', 'float']);
const TEMPORAL: ReadonlySet<TypeFamily> = new Set(['date', 'timestamp', 'timestamptz']);

export function isMeasuredTransform(transform: string): boolean {
  return !NOT_MEASURED.has(transform);
}

export function techniqueOf(transform: string): Technique {
  return PERTURBING.has(transform) ? 'perturbed' : 'generalized';
}

/**
 * A value as a number to compare: itself for numbers, days since the epoch for
 * dates and timestamps (so errors read in days), null when not comparable.
 */
function asNumber(value: Sql, family: TypeFamily): Sql | null {
  if (NUMERIC.has(family)) return sql`(${value})::float8`;
  if (TEMPORAL.has(family)) return sql`(extract(epoch FROM ${value})::float8 / 86400)`;
  return null;
}

/** One masked column of the plan, next to its source column and rule. */
export interface MeasuredColumn {
  readonly source: CatalogColumn;
  /** the view's expression over `src` (the planner's, cast to the output type) */
  readonly expression: Sql;
  /** the masked column's SQL type */
  readonly maskedType: string;
  readonly transform: string;
  readonly rule: string;
}

export interface TableUtilityInput {
  readonly view: CreateMaskedView;
  readonly policyTable: PolicyTable;
  readonly columns: readonly CatalogColumn[];
  /** primary and foreign key columns: identifiers, not measurements, so left out of correlations */
  readonly keyColumns: readonly string[];
}

function measuredColumns(input: TableUtilityInput): MeasuredColumn[] {
  return input.view.columns.flatMap((vc) => {
    const source = input.columns.find((c) => c.name === vc.name);
    const rule = input.policyTable.columns.find((c) => c.name === vc.name)?.rule;
    if (!source) return [];
    return [{ source, expression: vc.expression, maskedType: vc.type, transform: rule?.transform ?? 'redact', rule: rule?.display ?? 'redact (unlisted column)' }];
  });
}

/** The masked value compares as a number only when masking kept the column's type. */
function comparable(c: MeasuredColumn): boolean {
  return c.maskedType === c.source.sqlType && asNumber(sql`x`, c.source.family) !== null;
}

function fromSource(input: TableUtilityInput): Sql {
  const where = input.view.filter === null ? sql`` : sql` WHERE ${sqlExpression(input.view.filter)}`;
  return sql`FROM ${ident(input.view.sourceSchema, input.view.sourceTable)} AS src${where}`;
}

/**
 * The fidelity query of one column. The masked value is computed by the view's
 * own expression next to the raw value in the same row of the source table
 * (the pairing a join on the primary key would give, without recomputing
 * pseudonyms to join on), and every figure is an aggregate.
 */
export function columnUtilityQuery(input: TableUtilityInput, c: MeasuredColumn): Sql {
  const numeric = comparable(c);
  const raw = sql`src.${ident(c.source.name)}`;
  const r = numeric ? asNumber(raw, c.source.family)! : sql`(${raw})::text`;
  const m = numeric ? asNumber(c.expression, c.source.family)! : sql`(${c.expression})::text`;
  const base = sql`WITH p AS MATERIALIZED (SELECT ${r} AS r, ${m} AS m ${fromSource(input)})`;
  const common = sql`count(*) AS rows, count(DISTINCT r) AS distinct_raw, count(DISTINCT m) AS distinct_masked,
  coalesce(avg(CASE WHEN r IS NOT DISTINCT FROM m THEN 1.0 ELSE 0.0 END), 0)::float8 AS unchanged`;
  if (!numeric) return sql`${base} SELECT ${common} FROM p`;
  const relative = NUMERIC.has(c.source.family);
  const error = relative ? sql`abs(m - r) / nullif(abs(r), 0)` : sql`abs(m - r)`;
  const bins = literal(HISTOGRAM_BINS);
  return sql`${base},
bounds AS (SELECT min(r) AS lo, CASE WHEN max(r) > min(r) THEN max(r) ELSE min(r) + 1 END AS hi, nullif(count(r), 0)::float8 AS nr, nullif(count(m), 0)::float8 AS nm FROM p),
bins AS (
  SELECT least(greatest(width_bucket(u.v, b.lo, b.hi, ${bins}), 1), ${bins}) AS bin, u.side
  FROM (SELECT r AS v, 0 AS side FROM p WHERE r IS NOT NULL UNION ALL SELECT m, 1 FROM p WHERE m IS NOT NULL) u, bounds b
)
SELECT ${common},
  avg(e) AS error_mean,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY e) AS error_median,
  stddev_samp(m) / nullif(stddev_samp(r), 0) AS sd_ratio,
  (SELECT sum(least(g.raw / b.nr, g.masked / b.nm)) FROM (
     SELECT bin, count(*) FILTER (WHERE side = 0)::float8 AS raw, count(*) FILTER (WHERE side = 1)::float8 AS masked FROM bins GROUP BY bin
   ) g, bounds b) AS overlap
FROM (SELECT r, m, ${error} AS e FROM p) x`;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Fidelity of every perturbed or generalized column of one table, computed on
 * a session that reads the source and the keys (the admin connection, inside a
 * read-only transaction whose search_path resolves the row filter).
 */
export async function measureTableUtility(client: pg.ClientBase, input: TableUtilityInput): Promise<{ columns: ColumnUtility[]; correlations: CorrelationPair[] }> {
  const all = measuredColumns(input);
  const columns: ColumnUtility[] = [];
  for (const c of all.filter((x) => isMeasuredTransform(x.transform))) {
    const row = (await client.query<Record<string, unknown>>(columnUtilityQuery(input, c).text)).rows[0]!;
    const numeric = comparable(c);
    const distinctRaw = Number(row.distinct_raw);
    const distinctMasked = Number(row.distinct_masked);
    columns.push({
      table: input.policyTable.name,
      column: c.source.name,
      transform: c.transform,
      rule: c.rule,
      technique: techniqueOf(c.transform),
      family: c.source.family,
      rows: Number(row.rows),
      distinctRaw,
      distinctMasked,
      informationLoss: techniqueOf(c.transform) === 'perturbed' ? null : distinctRaw === 0 ? 0 : 1 - distinctMasked / distinctRaw,
      unchangedShare: Number(row.unchanged),
      error: numeric ? { unit: NUMERIC.has(c.source.family) ? 'relative' : 'days', mean: num(row.error_mean), median: num(row.error_median) } : null,
      sdRatio: numeric ? num(row.sd_ratio) : null,
      histogramOverlap: numeric ? num(row.overlap) : null,
    });
  }
  return { columns, correlations: await measureCorrelations(client, input, all) };
}

/**
 * corr() of every pair of numeric/date columns, raw and masked, in one scan;
 * only pairs where masking changed at least one side (kept pairs are equal by
 * construction).
 */
async function measureCorrelations(client: pg.ClientBase, input: TableUtilityInput, all: readonly MeasuredColumn[]): Promise<CorrelationPair[]> {
  const eligible = all.filter((c) => comparable(c) && !input.keyColumns.includes(c.source.name) && (c.transform === 'keep' || isMeasuredTransform(c.transform)));
  const ordered = [...eligible.filter((c) => c.transform !== 'keep'), ...eligible.filter((c) => c.transform === 'keep')].slice(0, MAX_CORRELATED_COLUMNS);
  const pairs: [MeasuredColumn, MeasuredColumn][] = [];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = i + 1; j < ordered.length; j++) {
      if (ordered[i]!.transform !== 'keep' || ordered[j]!.transform !== 'keep') pairs.push([ordered[i]!, ordered[j]!]);
    }
  }
  if (pairs.length === 0) return [];
  const index = (c: MeasuredColumn) => ordered.indexOf(c);
  const projections = ordered.flatMap((c, i) => [
    sql`${asNumber(sql`src.${ident(c.source.name)}`, c.source.family)!} AS ${ident(`r${i}`)}`,
    sql`${asNumber(c.expression, c.source.family)!} AS ${ident(`m${i}`)}`,
  ]);
  const aggregates = pairs.flatMap(([a, b], i) => [
    sql`corr(${ident(`r${index(a)}`)}, ${ident(`r${index(b)}`)}) AS ${ident(`raw${i}`)}`,
    sql`corr(${ident(`m${index(a)}`)}, ${ident(`m${index(b)}`)}) AS ${ident(`masked${i}`)}`,
  ]);
  const row = (await client.query<Record<string, unknown>>(sql`SELECT ${join(aggregates)} FROM (SELECT ${join(projections)} ${fromSource(input)}) t`.text)).rows[0]!;
  return pairs.map(([a, b], i) => {
    const raw = num(row[`raw${i}`]);
    const masked = num(row[`masked${i}`]);
    return { table: input.policyTable.name, a: a.source.name, b: b.source.name, raw, masked, difference: raw === null || masked === null ? null : Math.abs(masked - raw) };
  });
}
