import type { CatalogTable } from '../catalog/catalog-snapshot.ts';
import { databaseError } from '../errors.ts';
import { ident, literal, sql, textLiteral, type Sql } from '../sql/index.ts';
import { query, type Queryable } from '../db/query.ts';


export type SampleMethod = 'limit' | 'bernoulli' | 'system';

export interface TableSample {
  /** how the rows were read */
  readonly method: SampleMethod;
  /** the TABLESAMPLE percentage, or null for a plain LIMIT read */
  readonly percent: number | null;
  /** the row estimate the choice was based on */
  readonly estimatedRows: number;
  readonly rowsRead: number;
  /** per column name: its non-NULL sampled values as text (bytea as hex of the first 16 bytes) */
  readonly values: ReadonlyMap<string, readonly string[]>;
}

/** Above this many (estimated) rows BERNOULLI would read every page: use block sampling instead. */
const bernoulliMaxRows = 50_000;
/** How many characters of one value the classifier needs: enough for a note's first sentences. */
const maxValueChars = 400;
/** Sample twice the target so LIMIT, not sampling luck, decides how many rows come back. */
const oversample = 2;
/** Rows per 8 kB page assumed when a table was never analyzed (a conservative, narrow-row guess). */
const assumedRowsPerPage = 60;

/**
 * Reads about `rows` rows of one table, never the whole of a large one:
 *
 * - a table the planner estimates at most `rows`·2 rows is read with `LIMIT rows`;
 * - up to 50,000 rows: `TABLESAMPLE BERNOULLI (p)` (row-level, unbiased);
 * - larger: `TABLESAMPLE SYSTEM (p)` (page-level: reads only p% of the pages);
 *
 * with p chosen from `reltuples` so about 2·`rows` rows qualify, always followed by
 * `LIMIT rows`, and `REPEATABLE (0)` so a re-scan sees the same rows. A table never
 * analyzed (reltuples −1) is probed with a bounded `LIMIT rows+1` count, then sized
 * from its pages. Identifiers go through ident(); nothing is written.
 *
 * @example
 *   // SELECT left(CAST("mrn" AS text), 400) AS "c0", … FROM "public"."patients"
 *   //   TABLESAMPLE SYSTEM (0.2) REPEATABLE (0) LIMIT 1000
 */
export async function sampleTable(db: Queryable, table: CatalogTable, rows: number): Promise<TableSample> {
  const target = ident(table.schema, table.name);
  try {
    const estimate = await estimateRows(db, table, target, rows);
    let method: SampleMethod = 'limit';
    let percent: number | null = null;
    if (estimate > rows * oversample) {
      percent = roundPercent((100 * rows * oversample) / estimate);
      method = estimate <= bernoulliMaxRows ? 'bernoulli' : 'system';
    }
    let result = await query(db, sampleQuery(table, target, rows, method, percent));
    // block sampling of a table with few, wide pages can come back nearly empty: fall back to a bounded read
    if (method !== 'limit' && result.rows.length < Math.min(rows, estimate) / 4) {
      method = 'limit';
      percent = null;
      result = await query(db, sampleQuery(table, target, rows, method, percent));
    }
    const values = new Map<string, string[]>();
    table.columns.forEach((c, i) => {
      const list: string[] = [];
      for (const row of result.rows) {
        const v = row[`c${i}`];
        if (v !== null && v !== undefined) list.push(String(v));
      }
      values.set(c.name, list);
    });
    return { method, percent, estimatedRows: estimate, rowsRead: result.rows.length, values };
  } catch (cause) {
    throw databaseError(cause, `cannot sample table ${table.schema}.${table.name}`, 'scan needs SELECT on every table of the scanned schemas; grant it or leave the schema out with --schema');
  }
}

/** The SELECT that reads the sample: every column as bounded text, aliased c0, c1, … */
export function sampleQuery(table: CatalogTable, target: Sql, rows: number, method: SampleMethod, percent: number | null): Sql {
  const columns = table.columns.map((c, i) => {
    const col = ident(c.name);
    const expr = c.family === 'bytea' ? sql`encode(substring(${col} FROM 1 FOR 16), 'hex')` : sql`left(CAST(${col} AS text), ${literal(maxValueChars)})`;
    return sql`${expr} AS ${ident(`c${i}`)}`;
  });
  const list = columns.length > 0 ? columns : [sql`1 AS "c"`];
  const sampling =
    method === 'limit' || percent === null
      ? sql``
      : method === 'bernoulli'
        ? sql` TABLESAMPLE BERNOULLI (${literal(percent)}) REPEATABLE (0)`
        : sql` TABLESAMPLE SYSTEM (${literal(percent)}) REPEATABLE (0)`;
  return sql`SELECT ${list} FROM ${target}${sampling} LIMIT ${literal(rows)}`;
}

async function estimateRows(db: Queryable, table: CatalogTable, target: Sql, rows: number): Promise<number> {
  if (table.estimatedRows >= 0) return table.estimatedRows;
  const probe = await query<{ n: string }>(db, sql`SELECT count(*) AS n FROM (SELECT 1 FROM ${target} LIMIT ${literal(rows * oversample + 1)}) AS probe`);
  const counted = Number(probe.rows[0]?.n ?? 0);
  if (counted <= rows * oversample) return counted;
  const size = await query<{ pages: string }>(db,
    sql`SELECT pg_relation_size(${textLiteral(target)}::regclass) / current_setting('block_size')::int AS pages`,
  );
  return Math.max(counted, Number(size.rows[0]?.pages ?? 0) * assumedRowsPerPage);
}

function roundPercent(p: number): number {
  if (p >= 100) return 100;
  // four significant digits keep the SQL short and deterministic
  return Math.max(0.0001, Number(p.toPrecision(4)));
}
