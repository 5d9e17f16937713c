import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { databaseError } from '../errors.ts';

// int8 and numeric stay strings (no precision lost); dates stay text so no time zone is applied in Node
pg.types.setTypeParser(1082, (v) => v); // date
pg.types.setTypeParser(1114, (v) => v); // timestamp
pg.types.setTypeParser(1184, (v) => v); // timestamptz

export type Pool = pg.Pool;
export type Client = pg.PoolClient | pg.Client;

export function createPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'pgmask' });
  // an idle client that loses its server must not crash the process
  pool.on('error', () => {});
  return pool;
}

/** A kysely instance over a pool; the schema type is unknown because we only read catalogs. */
export function createKysely(pool: pg.Pool): Kysely<any> {
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
}

/** Connects once to check the URL and the server, turning failures into a database error (exit 4). */
/** A pool (hands out clients) rather than one connected client; duck-typed too, for a pool from another copy of pg. */
export function isPool(conn: pg.Pool | pg.ClientBase): conn is pg.Pool {
  return conn instanceof pg.Pool || typeof (conn as { totalCount?: unknown }).totalCount === 'number';
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'pgmask' });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (cause) {
    throw databaseError(cause, `cannot connect to ${redactUrl(url)}`, 'check --database-url / DATABASE_URL and that the server is running');
  }
  return client;
}

/** The URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

/** Same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Same server and database, another user and password. */
export function withUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** A WARNING or NOTICE the server sent (RAISE, a Citus remark, a deprecation), as the user should see it. */
export interface ServerNotice {
  readonly severity: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/**
 * Passes the server's WARNING and NOTICE messages on `client` to `onNotice`, except the
 * "… already exists, skipping" / "… does not exist, skipping" of pgmask's own idempotent
 * DDL (IF [NOT] EXISTS), which say only that a re-run found its work done. Returns the
 * function that stops forwarding.
 */
export function forwardNotices(client: pg.ClientBase, onNotice: (notice: ServerNotice) => void): () => void {
  const listener = (n: { severity?: string; message?: string; detail?: string; hint?: string }) => {
    const message = n.message ?? '';
    if (n.severity === 'NOTICE' && /, skipping$/.test(message)) return;
    onNotice({ severity: n.severity ?? 'NOTICE', message, ...(n.detail ? { detail: n.detail } : {}), ...(n.hint ? { hint: n.hint } : {}) });
  };
  client.on('notice', listener);
  return () => void client.off('notice', listener);
}

/** A notice as one or more lines for stderr. */
export function formatNotice(n: ServerNotice): string {
  return [`server ${n.severity}: ${n.message}`, ...(n.detail ? [`  detail: ${n.detail}`] : []), ...(n.hint ? [`  hint: ${n.hint}`] : [])].join('\n');
}
