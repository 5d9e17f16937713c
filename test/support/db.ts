import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase, withUser, createPool } from '../../src/db/connection.ts';
import { ident, literal, sql, type Sql } from '../../src/sql/index.ts';
import { query } from '../../src/db/query.ts';

export interface TestDatabase {
  /** superuser URL of this file's own database */
  readonly url: string;
  readonly name: string;
  /** superuser pool on this database */
  readonly pool: pg.Pool;
  query<R extends pg.QueryResultRow = any>(text: string | Sql, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** creates a LOGIN role with a password (cluster-wide, dropped at the end) and returns a URL to this database as that role */
  createLoginRole(name: string): Promise<string>;
  /** registers a cluster-wide role to drop when the file ends */
  trackRole(name: string): void;
  drop(): Promise<void>;
}

/** A short random suffix: roles are cluster-wide, so each test file uses its own names. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export function adminUrl(): string {
  return inject('adminUrl');
}

export function plv8Available(): boolean {
  return inject('plv8Available');
}

/** Creates a fresh database for one test file (each file gets its own). */
export async function createTestDatabase(prefix = 'pgmask_test'): Promise<TestDatabase> {
  const admin = adminUrl();
  const name = `${prefix}_${uniqueSuffix()}`;
  const root = new pg.Client({ connectionString: admin });
  await root.connect();
  await root.query(sql`CREATE DATABASE ${ident(name)} TEMPLATE template0 ENCODING 'UTF8'`.text);
  await root.end();
  const url = withDatabase(admin, name);
  const pool = createPool(url, 4);
  const roles = new Set<string>();
  return {
    url,
    name,
    pool,
    query: (text, params) => (typeof text === 'string' ? pool.query(text, params as unknown[]) : query(pool, text)),
    async createLoginRole(role) {
      roles.add(role);
      const password = `pw_${uniqueSuffix()}`;
      await pool.query(sql`DROP ROLE IF EXISTS ${ident(role)}`.text);
      await pool.query(sql`CREATE ROLE ${ident(role)} LOGIN PASSWORD ${literal(password)}`.text);
      return withUser(url, role, password);
    },
    trackRole(role) {
      roles.add(role);
    },
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(sql`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`.text);
      for (const role of roles) {
        // a role may own objects in other test databases only if a test leaked it; ignore failures
        await c.query(sql`DROP ROLE IF EXISTS ${ident(role)}`.text).catch(() => {});
      }
      await c.end();
    },
  };
}

/** Runs one query as a given login URL and returns the rows (or throws the PostgreSQL error). */
export async function queryAs<R extends pg.QueryResultRow = any>(url: string, text: string, params?: unknown[]): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}
