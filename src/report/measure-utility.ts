import { SIGNAL_TRANSFORMS } from './signal-fidelity.ts';
import type pg from 'pg';
import type { CatalogColumn, TypeFamily } from '../catalog/catalog-snapshot.ts';
import type { PolicyTable } from '../policy/policy.ts';
import type { CreateMaskedView } from '../plan/nodes.ts';
import { ident, join, literal, sql, sqlExpression, type Sql } from '../sql/index.ts';
import type { ColumnUtility, CorrelationPair, Technique } from './report.ts';
import { queryRows } from '../db/query.ts';

/** Transforms that keep, remove or replace a value outright: nothing to measure as fidelity. */
const NOT_MEASURED: ReadonlySet<string> = new Set(['keep', 'redact', 'pseudonymize', 'fake', 'json', ...SIGNAL_TRANSFORMS]);
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
  return c.maskedType === c.source.sqlType && (NUMERIC.has(c.source.family) || TEMPORAL.has(c.source.family));
}

function fromSource(input: TableUtilityInput): Sql {
  const where = input.view.filter === null ? sql`` : sql` WHERE ${sqlExpression(input.view.filter)}`;
  return sql`FROM ${ident(input.view.sourceSchema, input.view.sourceTable)} AS src${where}`;
}

/** Columns whose pairwise correlations are compared: numeric or date on both sides, not keys, masked or kept. */
function correlationPairs(input: TableUtilityInput, all: readonly MeasuredColumn[]): [MeasuredColumn, MeasuredColumn][] {
  const eligible = all.filter((c) => comparable(c) && !input.keyColumns.includes(c.source.name) && (c.transform === 'keep' || isMeasuredTransform(c.transform)));
  const ordered = [...eligible.filter((c) => c.transform !== 'keep'), ...eligible.filter((c) => c.transform === 'keep')].slice(0, MAX_CORRELATED_COLUMNS);
  const pairs: [MeasuredColumn, MeasuredColumn][] = [];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = i + 1; j < ordered.length; j++) {
      // kept × kept is equal by construction
      if (ordered[i]!.transform !== 'keep' || ordered[j]!.transform !== 'keep') pairs.push([ordered[i]!, ordered[j]!]);
    }
  }
  return pairs;
}

export interface TableUtilityQuery {
  readonly statement: Sql;
  /** the perturbed and generalized columns */
  readonly measured: readonly MeasuredColumn[];
  readonly pairs: readonly [MeasuredColumn, MeasuredColumn][];
  /** every column the CTE projects (measured ones, then kept ones of a pair): `c<i>_…` indexes into this */
  readonly projected: readonly MeasuredColumn[];
}

/**
 * The fidelity query of one table: one statement, one row of aggregates. Each
 * masked value is computed once, by the view's own expression, next to the raw
 * value in the same source row (the pairing a join on the primary key would
 * give, without recomputing pseudonyms to join on), into a materialized CTE;
 * errors, medians, spreads, distinct counts, histograms and correlations are
 * then aggregated from it. Nothing row-sized leaves the server.
 *
 * @example
 *   // noise on weight_kg:
 *   // WITH p AS MATERIALIZED (SELECT (src."weight_kg")::float8 AS "r0", (CAST(pgmask.noise(…) AS numeric(5,1)))::float8 AS "m0" FROM "public"."patients" AS src WHERE (NOT research_opt_out)),
 *   //      b AS (SELECT min("r0") AS "lo0", … FROM p), h0 AS (… GROUPING SETS …)
 *   // SELECT count(*) AS "rows", avg("e0") AS "c0_mean", … FROM (SELECT *, abs("m0" - "r0") / nullif(abs("r0"), 0) AS "e0" FROM p) x
 */
export function tableUtilityQuery(input: TableUtilityInput): TableUtilityQuery | null {
  const all = measuredColumns(input);
  const measured = all.filter((c) => isMeasuredTransform(c.transform));
  const pairs = correlationPairs(input, all);
  const inP = [...measured, ...pairs.flat().filter((c) => c.transform === 'keep')].filter((c, i, list) => list.indexOf(c) === i);
  if (inP.length === 0) return null;
  const at = (c: MeasuredColumn) => inP.indexOf(c);
  const r = (c: MeasuredColumn) => ident(`r${at(c)}`);
  // a kept column is its own masked value
  const m = (c: MeasuredColumn) => (c.transform === 'keep' ? r(c) : ident(`m${at(c)}`));
  const out = (c: MeasuredColumn, what: string) => ident(`c${at(c)}_${what}`);

  const projections = inP.flatMap((c) => {
    const raw = sql`src.${ident(c.source.name)}`;
    const numeric = comparable(c);
    const rp = numeric ? asNumber(raw, c.source.family)! : sql`(${raw})::text`;
    const mp = numeric ? asNumber(c.expression, c.source.family)! : sql`(${c.expression})::text`;
    return c.transform === 'keep' ? [sql`${rp} AS ${r(c)}`] : [sql`${rp} AS ${r(c)}`, sql`${mp} AS ${m(c)}`];
  });
  const numericMeasured = measured.filter(comparable);
  const bins = literal(HISTOGRAM_BINS);
  const ctes: Sql[] = [sql`p AS MATERIALIZED (SELECT ${join(projections)} ${fromSource(input)})`];
  if (numericMeasured.length > 0) {
    ctes.push(
      sql`b AS (SELECT ${join(
        numericMeasured.flatMap((c) => [
          sql`min(${r(c)}) AS ${ident(`lo${at(c)}`)}`,
          sql`CASE WHEN max(${r(c)}) > min(${r(c)}) THEN max(${r(c)}) ELSE min(${r(c)}) + 1 END AS ${ident(`hi${at(c)}`)}`,
          sql`nullif(count(${r(c)}), 0)::float8 AS ${ident(`nr${at(c)}`)}`,
          sql`nullif(count(${m(c)}), 0)::float8 AS ${ident(`nm${at(c)}`)}`,
        ]),
      )} FROM p)`,
    );
    for (const c of numericMeasured) {
      const i = at(c);
      // greatest() ignores NULLs: a NULL value must stay out of every bin, not land in the first
      const bin = (v: Sql) => sql`CASE WHEN ${v} IS NOT NULL THEN least(greatest(width_bucket(${v}, b.${ident(`lo${i}`)}, b.${ident(`hi${i}`)}, ${bins}), 1), ${bins}) END`;
      // both sides binned in one pass (two grouping sets) over the raw range's 20 equal bins
      ctes.push(sql`${ident(`h${i}`)} AS (
  SELECT GROUPING(br) AS masked_side, coalesce(br, bm) AS bin, count(*)::float8 AS n
  FROM (SELECT ${bin(sql`p.${r(c)}`)} AS br, ${bin(sql`p.${m(c)}`)} AS bm FROM p, b) z
  GROUP BY GROUPING SETS ((br), (bm))
  HAVING coalesce(br, bm) IS NOT NULL
)`);
    }
  }
  const aggregates: Sql[] = [sql`count(*) AS "rows"`];
  for (const c of measured) {
    const i = at(c);
    if (techniqueOf(c.transform) === 'generalized') {
      // distinct counts (two sorts) only where they mean something: values merged by a generalization
      aggregates.push(sql`count(DISTINCT ${r(c)}) AS ${out(c, 'distinct_raw')}`, sql`count(DISTINCT ${m(c)}) AS ${out(c, 'distinct_masked')}`);
    }
    aggregates.push(sql`coalesce(avg(CASE WHEN ${r(c)} IS NOT DISTINCT FROM ${m(c)} THEN 1.0 ELSE 0.0 END), 0)::float8 AS ${out(c, 'unchanged')}`);
    if (!comparable(c)) continue;
    const e = ident(`e${i}`);
    aggregates.push(
      sql`avg(${e}) AS ${out(c, 'mean')}`,
      sql`percentile_cont(0.5) WITHIN GROUP (ORDER BY ${e}) AS ${out(c, 'median')}`,
      sql`stddev_samp(${m(c)}) / nullif(stddev_samp(${r(c)}), 0) AS ${out(c, 'sd_ratio')}`,
      sql`(SELECT sum(least(coalesce(hr.n, 0) / b.${ident(`nr${i}`)}, coalesce(hm.n, 0) / b.${ident(`nm${i}`)}))
    FROM (SELECT bin, n FROM ${ident(`h${i}`)} WHERE masked_side = 0) hr FULL JOIN (SELECT bin, n FROM ${ident(`h${i}`)} WHERE masked_side = 1) hm USING (bin), b) AS ${out(c, 'overlap')}`,
    );
  }
  pairs.forEach(([a, bcol], k) => {
    aggregates.push(sql`corr(${r(a)}, ${r(bcol)}) AS ${ident(`raw${k}`)}`, sql`corr(${m(a)}, ${m(bcol)}) AS ${ident(`masked${k}`)}`);
  });
  const errors = numericMeasured.map((c) => {
    const e = NUMERIC.has(c.source.family) ? sql`abs(${m(c)} - ${r(c)}) / nullif(abs(${r(c)}), 0)` : sql`abs(${m(c)} - ${r(c)})`;
    return sql`${e} AS ${ident(`e${at(c)}`)}`;
  });
  const from = errors.length > 0 ? sql`(SELECT *, ${join(errors)} FROM p) x` : sql`p`;
  return {
    statement: sql`WITH ${join(ctes, ',\n')}
SELECT ${join(aggregates, ',\n  ')}
FROM ${from}`,
    measured,
    pairs,
    projected: inP,
  };
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Fidelity of every perturbed or generalized column of one table, and the
 * correlations between its numeric columns, computed on a session that reads
 * the source and the keys (the admin connection, inside a read-only
 * transaction whose search_path resolves the row filter).
 */
export async function measureTableUtility(client: pg.ClientBase, input: TableUtilityInput): Promise<{ columns: ColumnUtility[]; correlations: CorrelationPair[] }> {
  const query = tableUtilityQuery(input);
  if (query === null) return { columns: [], correlations: [] };
  const row = (await queryRows<Record<string, unknown>>(client, query.statement))[0]!;
  const get = (c: MeasuredColumn, what: string) => row[`c${query.projected.indexOf(c)}_${what}`];
  const columns: ColumnUtility[] = query.measured.map((c) => {
    const numeric = comparable(c);
    const distinctRaw = num(get(c, 'distinct_raw'));
    const distinctMasked = num(get(c, 'distinct_masked'));
    return {
      table: input.policyTable.name,
      column: c.source.name,
      transform: c.transform,
      rule: c.rule,
      technique: techniqueOf(c.transform),
      family: c.source.family,
      rows: Number(row.rows),
      distinctRaw,
      distinctMasked,
      informationLoss: distinctRaw === null || distinctMasked === null ? null : distinctRaw === 0 ? 0 : 1 - distinctMasked / distinctRaw,
      unchangedShare: Number(get(c, 'unchanged')),
      error: numeric ? { unit: NUMERIC.has(c.source.family) ? 'relative' : 'days', mean: num(get(c, 'mean')), median: num(get(c, 'median')) } : null,
      sdRatio: numeric ? num(get(c, 'sd_ratio')) : null,
      histogramOverlap: numeric ? num(get(c, 'overlap')) : null,
    };
  });
  const correlations: CorrelationPair[] = query.pairs.map(([a, b], k) => {
    const raw = num(row[`raw${k}`]);
    const masked = num(row[`masked${k}`]);
    return { table: input.policyTable.name, a: a.source.name, b: b.source.name, raw, masked, difference: raw === null || masked === null ? null : Math.abs(masked - raw) };
  });
  return { columns, correlations };
}
