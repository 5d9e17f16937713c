import type { Readable } from 'node:stream';
import { ident, join, literal, sql, typeName, type Sql } from '../sql/index.ts';
import type { CopyFormat } from '../db/copy-stream.ts';
import type { ExtractPlan, ExtractTable } from './extract-plan.ts';

/** What an extract records about itself: never a key, only what a recipient needs to check it. */
export interface ExtractManifest {
  readonly format: 'pgmask-extract/1';
  readonly pgmaskVersion: string;
  readonly policyHash: string;
  readonly role: string;
  readonly createdAt: string;
  /** the subset asked for, or null for everything the role sees */
  readonly subset: { readonly fraction: number | null; readonly seed: string; readonly where: string | null } | null;
  /** the key versions the views use: a fingerprint (as `pgmask keys list` shows it) identifies a key without revealing it */
  readonly keys: readonly { readonly name: string; readonly version: number; readonly fingerprint: string }[];
  readonly tables: readonly ExtractedTable[];
}

export interface ExtractedTable {
  /** the table in the output: its schema (database, SQL file) and name */
  readonly schema: string;
  readonly name: string;
  /** the masked view its rows were read from, as the analyst queries it */
  readonly view: string;
  readonly rows: number;
  readonly bytes: number;
  /** the file the rows are in (csv), or null */
  readonly file: string | null;
  /** sha256 of that file, or null */
  readonly sha256: string | null;
}

/** Writes one table's rows; one writer per parallel worker. */
export interface TableWriter {
  write(table: ExtractTable, rows: Readable): Promise<ExtractedTable>;
  close(): Promise<void>;
}

/** A destination: another database, one SQL file, or a directory of CSV files. */
export interface ExtractSink {
  /** for messages */
  readonly description: string;
  /** the COPY format the rows must arrive in */
  readonly format: CopyFormat;
  /** how many writers may run at once */
  readonly maxWriters: number;
  /** refuses a destination that already holds an extract (unless replacing); writes nothing */
  check(plan: ExtractPlan): Promise<void>;
  /** from here on the destination is written to */
  begin(plan: ExtractPlan): Promise<void>;
  openWriter(): Promise<TableWriter>;
  /** keys, indexes and comments, then the manifest last: a destination without it is not a finished extract */
  finish(plan: ExtractPlan, manifest: ExtractManifest): Promise<void>;
  /** after a failure: removes what can be removed, marks the rest as partial */
  abort(): Promise<void>;
}

/** The table that marks a finished extract in a database or SQL file (written last). */
export const MANIFEST_TABLE = 'pgmask_extract';

/** The manifest table's schema: the output's first. */
export function manifestSchema(plan: ExtractPlan): string {
  return plan.schemas[0]!;
}

/** What the manifest says of a table before its rows are counted. */
export function extractedTable(table: ExtractTable, counted: { rows: number; bytes: number; file: string | null; sha256: string | null }): ExtractedTable {
  return { schema: table.schema, name: table.name, view: `${table.maskedSchema}.${table.name}`, ...counted };
}

export function createSchemasSql(plan: ExtractPlan): Sql[] {
  return plan.schemas.map((s) => sql`CREATE SCHEMA IF NOT EXISTS ${ident(s)};`);
}

export function createTableSql(table: ExtractTable): Sql {
  const cols = table.columns.map((c) => sql`${ident(c.name)} ${typeName(c.type)}`);
  return sql`CREATE TABLE ${ident(table.schema, table.name)} (\n  ${join(cols, ',\n  ')}\n);`;
}

/** Primary keys, foreign keys (validated against the loaded rows, across schemas too), indexes on foreign keys, comments. */
export function finishingSql(plan: ExtractPlan): Sql[] {
  const out: Sql[] = [];
  for (const t of plan.tables) {
    if (t.primaryKey) out.push(sql`ALTER TABLE ${ident(t.schema, t.name)} ADD PRIMARY KEY (${join(t.primaryKey.map((c) => ident(c)))});`);
  }
  for (const t of plan.tables) {
    const table = ident(t.schema, t.name);
    for (const fk of t.foreignKeys) {
      out.push(
        sql`ALTER TABLE ${table} ADD CONSTRAINT ${ident(fk.name)} FOREIGN KEY (${join(fk.columns.map((c) => ident(c)))}) REFERENCES ${ident(fk.refSchema, fk.refTable)} (${join(fk.refColumns.map((c) => ident(c)))});`,
      );
      out.push(sql`CREATE INDEX ON ${table} (${join(fk.columns.map((c) => ident(c)))});`);
    }
    if (t.comment !== null) out.push(sql`COMMENT ON TABLE ${table} IS ${literal(t.comment)};`);
    for (const c of t.columns) if (c.comment !== null) out.push(sql`COMMENT ON COLUMN ${ident(t.schema, t.name, c.name)} IS ${literal(c.comment)};`);
  }
  return out;
}

export function manifestTableSql(schema: string, manifest: ExtractManifest): Sql {
  return sql`CREATE TABLE ${ident(schema, MANIFEST_TABLE)} (manifest jsonb NOT NULL);
INSERT INTO ${ident(schema, MANIFEST_TABLE)} VALUES (${literal(JSON.stringify(manifest))}::jsonb);
COMMENT ON TABLE ${ident(schema, MANIFEST_TABLE)} IS 'pgmask: written last; a database without it holds an unfinished extract';`;
}
