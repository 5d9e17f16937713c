import type pg from 'pg';
import type { Readable, Writable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { compile, sql, type Sql } from '../sql/index.ts';

/**
 * COPY streams over one connection, built only from `Sql`: rows flow through
 * without ever being held in memory as a whole table.
 */
export type CopyFormat = 'text' | 'csv';

function formatOptions(format: CopyFormat, header: boolean): Sql {
  return format === 'csv' ? (header ? sql`(FORMAT csv, HEADER true)` : sql`(FORMAT csv)`) : sql`(FORMAT text)`;
}

/** COPY takes no bound parameters: the statement must be all text */
function copyText(statement: Sql): string {
  const { text, values } = compile(statement);
  if (values.length > 0) throw new Error('COPY cannot take bound values: build its query with literal(), not param()');
  return text;
}

/** `COPY (query) TO STDOUT`: a readable stream of the rows; `rowCount` is set once it ends. */
export function copyOut(client: pg.ClientBase, query: Sql, format: CopyFormat, header = false): Readable & { rowCount: number } {
  return copyStatementOut(client, sql`COPY (${query}) TO STDOUT WITH ${formatOptions(format, header)}`);
}

/** A whole `COPY … TO STDOUT` statement as written (verify tries `COPY table TO STDOUT` too). */
export function copyStatementOut(client: pg.ClientBase, statement: Sql): Readable & { rowCount: number } {
  return client.query(copyStreams.to(copyText(statement)));
}

/** `COPY table (columns) FROM STDIN`: a writable stream; `rowCount` is set once it finishes. */
export function copyIn(client: pg.ClientBase, table: Sql, columns: readonly Sql[], format: CopyFormat): Writable & { rowCount: number } {
  return client.query(copyStreams.from(copyText(sql`COPY ${table} (${columns}) FROM STDIN WITH ${formatOptions(format, false)}`)));
}
