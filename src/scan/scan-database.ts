import type pg from 'pg';
import type { CatalogSnapshot, CatalogTable, TypeFamily } from '../catalog/catalog-snapshot.ts';
import { introspect } from '../db/introspect.ts';
import { PgmaskError, usageError } from '../errors.ts';
import { query } from '../db/query.ts';
import { sql } from '../sql/index.ts';
import { classifyColumn, vocabularyTablesOf, type Classification, type VocabularyTables } from './classify.ts';
import { detectSubject, type SubjectDetection } from './detect-subject.ts';
import { sampleTable, type SampleMethod } from './sample.ts';

export interface ScanOptions {
  readonly schemas: readonly string[];
  /** rows to read per table (default 1,000) */
  readonly sampleRows?: number;
  /** parallel sampling connections (default 4) */
  readonly concurrency?: number;
  /** called after each table is sampled, for a progress line on a TTY */
  readonly onTable?: (done: number, total: number, table: string) => void;
}

export interface ColumnScan {
  readonly name: string;
  readonly sqlType: string;
  readonly family: TypeFamily;
  readonly classification: Classification;
  /** up to 200 distinct sampled values (for checks of what a rule would show), empty when not sampled */
  readonly distinctValues: readonly string[];
}

export interface TableScan {
  readonly schema: string;
  readonly name: string;
  readonly sample: {
    readonly method: SampleMethod;
    readonly percent: number | null;
    readonly rowsRead: number;
    readonly estimatedRows: number;
    /** why the table could not be sampled (classified from its catalog entry alone), or null */
    readonly error: string | null;
  };
  /** the column holding the patient key in this table, or null */
  readonly subjectColumn: string | null;
  readonly columns: readonly ColumnScan[];
}

export interface ScanResult {
  readonly database: string;
  readonly schemas: readonly string[];
  readonly subject: SubjectDetection;
  readonly tables: readonly TableScan[];
  readonly snapshot: CatalogSnapshot;
  readonly elapsedMs: number;
}

export const defaultSampleRows = 1000;
const maxDistinctKept = 200;

/**
 * Classifies every column of every table (and partitioned table) of `schemas`:
 * introspects the catalog once, finds the patient table, samples each table
 * (bounded, see sampleTable) on up to `concurrency` pooled connections in
 * read-only sessions, and classifies each column. Returns data; never prints.
 */
export async function scanDatabase(pool: pg.Pool, options: ScanOptions): Promise<ScanResult> {
  const started = performance.now();
  const rows = options.sampleRows ?? defaultSampleRows;
  const snapshot = await introspect(pool, options.schemas);
  const subject = detectSubject(snapshot);
  const tables = snapshot.tables.filter((t) => t.kind === 'table' || t.kind === 'partitioned table');
  if (tables.length === 0) throw await noTablesError(pool, options.schemas);

  const vocabulary = vocabularyTablesOf(tables);
  const results: TableScan[] = new Array(tables.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    const client = await pool.connect();
    try {
      // the scan only reads: make the session say so, so a bug can never write
      await query(client, sql`SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`);
      while (next < tables.length) {
        const i = next++;
        const table = tables[i]!;
        try {
          const sample = await sampleTable(client, table, rows);
          results[i] = classifyTable(table, subject, sample.values, {
            method: sample.method,
            percent: sample.percent,
            rowsRead: sample.rowsRead,
            estimatedRows: sample.estimatedRows,
            error: null,
          }, vocabulary);
        } catch (error) {
          // one table we may not read should not stop the scan: it is classified from names, types and keys alone
          if (!(error instanceof PgmaskError) || error.code !== 'DB_42501') throw error;
          results[i] = classifyTable(table, subject, null, { method: 'limit', percent: null, rowsRead: 0, estimatedRows: table.estimatedRows, error: error.message }, vocabulary);
        }
        options.onTable?.(++done, tables.length, `${table.schema}.${table.name}`);
      }
    } finally {
      await query(client, sql`SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE`).catch(() => {});
      client.release();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, tables.length)) }, worker));

  return { database: snapshot.database, schemas: options.schemas, subject, tables: results, snapshot, elapsedMs: performance.now() - started };
}

/** A scan of schemas without tables is a mistake (a wrong --schema): say which schemas do have tables. */
async function noTablesError(pool: pg.Pool, schemas: readonly string[]): Promise<PgmaskError> {
  const found = await query<{ schema: string; tables: string }>(
    pool,
    sql`SELECT n.nspname AS schema, count(*) AS tables FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT LIKE 'pgmask%'
       AND has_schema_privilege(n.oid, 'USAGE')
     GROUP BY n.nspname ORDER BY count(*) DESC, n.nspname LIMIT 20`,
  );
  const list = found.rows.map((r) => `${r.schema} (${r.tables})`).join(', ');
  return usageError(
    'SCAN_NO_TABLES',
    `schema${schemas.length === 1 ? '' : 's'} ${schemas.join(', ')} ${schemas.length === 1 ? 'has' : 'have'} no tables to scan`,
    found.rows.length > 0 ? `schemas with tables: ${list}; pass them with --schema NAME (repeatable)` : 'this database has no tables in any schema you may read: check --database-url',
  );
}

/** Classifies the columns of one sampled table (pure). */
export function classifyTable(
  table: CatalogTable,
  subject: SubjectDetection,
  values: ReadonlyMap<string, readonly string[]> | null,
  sample: TableScan['sample'],
  vocabulary?: VocabularyTables,
): TableScan {
  const subjectColumns = subject.columns.filter((c) => c.schema === table.schema && c.table === table.name);
  const columns = table.columns.map((column): ColumnScan => {
    const fk = table.foreignKeys.find((k) => k.columns.length === 1 && k.columns[0] === column.name);
    const key = subjectColumns.find((c) => c.column === column.name);
    const classification = classifyColumn({
      table: table.name,
      column: column.name,
      family: column.family,
      typeName: column.typeName,
      comment: column.comment,
      primaryKey: table.primaryKey?.length === 1 && table.primaryKey[0] === column.name,
      references: fk ? { table: fk.refTable, column: fk.refColumns[0]! } : null,
      subjectKey: key ? { confidence: key.confidence, reason: key.reason } : null,
      samples: values ? (values.get(column.name) ?? []) : null,
      vocabulary,
    });
    const distinctValues = [...new Set(values?.get(column.name) ?? [])].slice(0, maxDistinctKept);
    return { name: column.name, sqlType: column.sqlType, family: column.family, classification, distinctValues };
  });
  const subjectColumn =
    subjectColumns.find((c) => c.column === subject.defaultColumn)?.column ??
    [...subjectColumns].sort((a, b) => b.confidence - a.confidence)[0]?.column ??
    null;
  return { schema: table.schema, name: table.name, sample, subjectColumn, columns };
}
