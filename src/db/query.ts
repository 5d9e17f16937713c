import type pg from 'pg';
import { compile, ident, sql, type Sql } from '../sql/index.ts';

/**
 * The one way pgmask runs a query: an `Sql` (never a string), compiled to text and
 * bound values here, so no caller writes `$1` or passes `.text` around.
 *
 * @example
 *   const rows = await queryRows<{ n: number }>(client, sql`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${param(role)}`);
 */

/** A pg Client, PoolClient or Pool. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

let statementLog: ((text: string, values: number) => void) | null = null;

/**
 * `--verbose`: every statement run through this helper is passed to `log` before it runs —
 * its text and how many values are bound, never the values (they may be raw data or secrets).
 */
export function logStatements(log: ((text: string, values: number) => void) | null): void {
  statementLog = log;
}

export async function query<R extends pg.QueryResultRow = any>(db: Queryable, statement: Sql): Promise<pg.QueryResult<R>> {
  const { text, values } = compile(statement);
  statementLog?.(text, values.length);
  // no values: the simple protocol, so a statement may hold several commands (migrations)
  return values.length === 0 ? db.query<R>(text) : db.query<R>(text, values as unknown[]);
}

export async function queryRows<R extends pg.QueryResultRow = any>(db: Queryable, statement: Sql): Promise<R[]> {
  return (await query<R>(db, statement)).rows;
}

let savepointSerial = 0;

/**
 * Runs `fn` inside a savepoint of the client's open transaction: when `fn` throws, what
 * it did is rolled back and the transaction stays usable; with `{ rollback: true }` it is
 * rolled back also when `fn` succeeds (a probe that must leave nothing behind).
 */
export async function savepoint<T>(client: Queryable, fn: () => Promise<T>, opts: { readonly rollback?: boolean } = {}): Promise<T> {
  const name = ident(`pgmask_savepoint_${++savepointSerial}`);
  await query(client, sql`SAVEPOINT ${name}`);
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await query(client, sql`ROLLBACK TO SAVEPOINT ${name}`);
    await query(client, sql`RELEASE SAVEPOINT ${name}`);
    throw err;
  }
  if (opts.rollback) await query(client, sql`ROLLBACK TO SAVEPOINT ${name}`);
  await query(client, sql`RELEASE SAVEPOINT ${name}`);
  return result;
}

/**
 * Runs `fn` in a READ ONLY transaction that is always rolled back: the server, not this
 * code, guarantees that nothing is changed. `snapshot: true` gives one consistent view
 * of the database (REPEATABLE READ) for every query of `fn`.
 */
export async function readOnly<T>(client: Queryable, fn: () => Promise<T>, opts: { readonly snapshot?: boolean } = {}): Promise<T> {
  await query(client, opts.snapshot ? sql`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` : sql`BEGIN READ ONLY`);
  try {
    return await fn();
  } finally {
    await query(client, sql`ROLLBACK`);
  }
}
