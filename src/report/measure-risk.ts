import type pg from 'pg';
import { ident, join, literal, sql, type Sql } from '../sql/index.ts';
import {
  CLASS_SIZE_BUCKETS,
  FAILING_CLASSES_CAP,
  SMALL_CELL_THRESHOLD,
  type DeclaredTableRisk,
  type FailingClass,
  type LDiversity,
  type SmallCells,
} from './report.ts';
import { queryRows } from '../db/query.ts';

export interface TableRiskInput {
  readonly maskedSchema: string;
  readonly table: string;
  readonly quasiIdentifiers: readonly string[];
  readonly sensitive: readonly string[];
  /** classes below this size are "at risk" and listed */
  readonly threshold: number;
  /** --min-k, or null */
  readonly minK: number | null;
  /** the rows to measure as a FROM item, when not the whole view (an extract's subset) */
  readonly rows?: Sql;
}

/** The bucket index (0-based, CLASS_SIZE_BUCKETS order) of a class size, as SQL. */
function bucketOf(size: Sql): Sql {
  const whens = CLASS_SIZE_BUCKETS.flatMap((b, i) => (b.max === null ? [] : [sql`WHEN ${size} <= ${literal(b.max)} THEN ${literal(i)}`]));
  return sql`CASE ${join(whens, ' ')} ELSE ${literal(CLASS_SIZE_BUCKETS.length - 1)} END`;
}

/**
 * The risk query of one table: one statement over the masked view, read once
 * into a materialized CTE (so each transform runs once per row), then grouped
 * for the classes, the l-diversity of each sensitive column and the small cells
 * of each quasi-identifier. Returns one row of JSON aggregates: nothing
 * row-sized crosses into Node.
 *
 * @example
 *   riskQuery({ maskedSchema: 'masked', table: 'patients', quasiIdentifiers: ['birth_date', 'zip'], sensitive: [], threshold: 5, minK: 5 })
 *   // WITH v AS MATERIALIZED (SELECT "birth_date" AS "q0", "zip" AS "q1" FROM "masked"."patients"),
 *   //      cls AS MATERIALIZED (SELECT "q0", "q1", count(*) AS size FROM v GROUP BY "q0", "q1") SELECT …
 */
export function riskQuery(input: TableRiskInput): Sql {
  const view = ident(input.maskedSchema, input.table);
  // short aliases: a column may be both a quasi-identifier and sensitive, and names may be hostile
  const q = input.quasiIdentifiers.map((_, i) => ident(`q${i}`));
  const extra = input.sensitive.filter((c) => !input.quasiIdentifiers.includes(c));
  const alias = (column: string): Sql => {
    const qi = input.quasiIdentifiers.indexOf(column);
    return qi >= 0 ? ident(`q${qi}`) : ident(`s${extra.indexOf(column)}`);
  };
  const selected = [
    ...input.quasiIdentifiers.map((c, i) => sql`${ident(c)} AS ${q[i]!}`),
    ...extra.map((c, i) => sql`${ident(c)} AS ${ident(`s${i}`)}`),
  ];
  const threshold = literal(input.threshold);
  const parts: Sql[] = [
    sql`(SELECT json_build_object(
    'records', coalesce(sum(size), 0),
    'classes', count(*),
    'k', coalesce(min(size), 0),
    'uniqueRecords', count(*) FILTER (WHERE size = 1),
    'atRiskClasses', count(*) FILTER (WHERE size < ${threshold}),
    'atRiskRecords', coalesce(sum(size) FILTER (WHERE size < ${threshold}), 0)
  ) FROM cls) AS summary`,
    sql`(SELECT coalesce(json_agg(json_build_array(b, n, r)), '[]') FROM (SELECT ${bucketOf(sql`size`)} AS b, count(*) AS n, sum(size) AS r FROM cls GROUP BY 1) h) AS histogram`,
    sql`(SELECT coalesce(json_agg(json_build_array(json_build_array(${join(q.map((c) => sql`f.${c}::text`))}), f.size) ORDER BY f.size, ${join(q.map((c) => sql`f.${c}`))}), '[]') FROM (
    SELECT * FROM cls WHERE size < ${threshold} ORDER BY size, ${join(q)} LIMIT ${literal(FAILING_CLASSES_CAP)}
  ) f) AS failing`,
    ...input.sensitive.map(
      (c, i) => sql`(SELECT json_build_array(min(l), exp(min(h)), count(*) FILTER (WHERE l = 1)) FROM (
    SELECT count(*) AS l, ln(sum(n)) - sum(n * ln(n)) / sum(n) AS h FROM (
      SELECT ${join(q)}, count(*)::float8 AS n FROM v GROUP BY ${join(q)}, ${alias(c)}
    ) per_value GROUP BY ${join(q)}
  ) per_class) AS ${ident(`l${i}`)}`,
    ),
    ...q.map(
      (c, i) => sql`(SELECT json_build_array(count(*), count(*) FILTER (WHERE n < ${literal(SMALL_CELL_THRESHOLD)}), coalesce(sum(n) FILTER (WHERE n < ${literal(SMALL_CELL_THRESHOLD)}), 0))
  FROM (SELECT count(*) AS n FROM v GROUP BY ${c}) cells) AS ${ident(`c${i}`)}`,
    ),
  ];
  return sql`WITH v AS MATERIALIZED (SELECT ${join(selected)} FROM ${input.rows ?? view}),
cls AS MATERIALIZED (SELECT ${join(q)}, count(*) AS size FROM v GROUP BY ${join(q)})
SELECT
  ${join(parts, ',\n  ')}`;
}

/**
 * Measures one table's re-identification risk on the given session, which must
 * already be the masking role (see runReport): k-anonymity over the declared
 * quasi-identifiers, the class-size histogram, records at risk, sample
 * uniqueness, l-diversity of sensitive columns and small cells.
 */
export async function measureTableRisk(client: pg.ClientBase, input: TableRiskInput): Promise<DeclaredTableRisk> {
  const row = (await queryRows<Record<string, unknown>>(client, riskQuery(input)))[0]!;
  const summary = row.summary as { records: number; classes: number; k: number; uniqueRecords: number; atRiskClasses: number; atRiskRecords: number };
  const histogramRows = row.histogram as [number, number, number][];
  const failingRows = row.failing as [(string | null)[], number][];
  const records = Number(summary.records);
  const share = (n: number) => (records === 0 ? 0 : n / records);
  const failingClasses: FailingClass[] = failingRows.map(([values, size]) => ({
    values: Object.fromEntries(input.quasiIdentifiers.map((c, i) => [c, values[i] ?? null])),
    size: Number(size),
  }));
  const lDiversity: LDiversity[] = input.sensitive.map((column, i) => {
    const [l, entropyL, one] = row[`l${i}`] as [number | null, number | null, number];
    return { column, distinctL: Number(l ?? 0), entropyL: Number(entropyL ?? 0), classesWithOneValue: Number(one) };
  });
  const smallCells: SmallCells[] = input.quasiIdentifiers.map((column, i) => {
    const [distinctValues, cells, inCells] = row[`c${i}`] as [number, number, number];
    return { column, distinctValues: Number(distinctValues), smallCells: Number(cells), records: Number(inCells) };
  });
  const k = Number(summary.k);
  return {
    table: input.table,
    status: 'measured',
    quasiIdentifiers: [...input.quasiIdentifiers],
    sensitive: [...input.sensitive],
    records,
    classes: Number(summary.classes),
    k,
    histogram: CLASS_SIZE_BUCKETS.map((b, i) => {
      const hit = histogramRows.find(([index]) => Number(index) === i);
      return { label: b.label, min: b.min, max: b.max, classes: Number(hit?.[1] ?? 0), records: Number(hit?.[2] ?? 0) };
    }),
    atRisk: {
      threshold: input.threshold,
      classes: Number(summary.atRiskClasses),
      records: Number(summary.atRiskRecords),
      percent: 100 * share(Number(summary.atRiskRecords)),
    },
    sampleUniqueness: { records: Number(summary.uniqueRecords), share: share(Number(summary.uniqueRecords)) },
    lDiversity,
    smallCells,
    meetsMinK: input.minK === null ? null : records === 0 || k >= input.minK,
    failingClasses,
    failingClassesTruncated: Number(summary.atRiskClasses) > failingClasses.length,
  };
}
