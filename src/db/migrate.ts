import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ExitCode, PgmaskError, databaseError, type ErrorDetail } from '../errors.ts';
import { byCodePoint } from './introspect.ts';
import { ensureOwnerRoleMembership } from './migrate-privileges.ts';

/** One of pgmask's own schema migrations (a file under `migrations/`). */
export interface OwnMigration {
  readonly name: string;
  readonly sql: string;
  readonly sha256: string;
}

export interface PolicyMigration {
  /** the policy hash the renderer put in the header */
  readonly hash: string;
  /** the rendered policy SQL; it runs inside the runner's transaction and must not open or commit one */
  readonly sql: string;
  readonly maskedSchema: string;
}

export interface MigrationResult {
  /** every own migration in order; with dryRun, 'applied' means "would be applied" */
  readonly own: readonly { readonly name: string; readonly status: 'applied' | 'unchanged' }[];
  /** 'none' when no policy was given; with dryRun, 'applied' means "would be applied" */
  readonly policy: 'applied' | 'unchanged' | 'none';
  /** everything that was run (or, with dryRun, would be run): pending own migrations, then the policy SQL */
  readonly sql: string;
  /** the migrating role when this migrate made it a member of pgmask_owner (a non-superuser's first migrate), else null */
  readonly ownerRoleGrantedTo: string | null;
}

export interface ApplyOptions {
  readonly policy?: PolicyMigration;
  readonly pgmaskVersion: string;
  readonly dryRun?: boolean;
}

/**
 * Every pgmask migration takes this transaction-level advisory lock first, so
 * two `pgmask migrate` on one database run one after the other ('pgmask' in ASCII).
 */
export const MIGRATION_LOCK_KEY = '123589519045483';

/** Created before anything else, so the record of what ran exists before anything runs. */
const bootstrapSql = `CREATE SCHEMA IF NOT EXISTS pgmask;
CREATE TABLE IF NOT EXISTS pgmask.schema_migrations (
  name text PRIMARY KEY,
  sha256 text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON pgmask.schema_migrations FROM PUBLIC;`;

let cachedMigrations: readonly OwnMigration[] | undefined;

/**
 * pgmask's own migrations, read from the package's `migrations/` directory and
 * sorted by file name. The directory is found from this module's location, so
 * it works from a clone, from `npx pgmask` and from a bundle one level deeper.
 */
export function ownMigrations(): readonly OwnMigration[] {
  if (cachedMigrations) return cachedMigrations;
  const dir = migrationsDirectory();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort(byCodePoint);
  cachedMigrations = Object.freeze(
    files.map((name) => {
      // CRLF → LF: a checkout with autocrlf must not look like an edited migration
      const sql = readFileSync(join(dir, name), 'utf8').replace(/\r\n/g, '\n');
      return Object.freeze({ name, sql, sha256: sha256(sql) });
    }),
  );
  return cachedMigrations;
}

function migrationsDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return join(dir, 'migrations');
    const parent = dirname(dir);
    if (parent === dir) {
      throw new PgmaskError({
        code: 'MIGRATIONS_MISSING',
        message: `cannot find pgmask's migrations/ directory above ${dirname(fileURLToPath(import.meta.url))}`,
        hint: 'reinstall pgmask: the package is incomplete',
        exitCode: ExitCode.internal,
      });
    }
    dir = parent;
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Applies pgmask's own migrations that are not applied yet, then the policy
 * migration unless the newest recorded one has the same policy hash and SQL
 * checksum. Everything runs in one transaction on one connection under an
 * advisory lock: concurrent runs serialize, and any error rolls back all of it
 * (the database is exactly as before) and surfaces as a database error (exit 4)
 * naming the migration and, when PostgreSQL reports one, the line and column.
 *
 * With `dryRun` nothing that changes state is executed: the applied migrations
 * are only read (when pgmask.schema_migrations exists), and `sql` holds what
 * would run.
 *
 * @example
 *   const r = await applyMigrations(pool, { pgmaskVersion: '0.1.0', policy: { hash, sql, maskedSchema: 'masked' } });
 *   // { own: [{ name: '0001_init.sql', status: 'applied' }], policy: 'applied', sql: '-- pgmask migration 0001_init.sql\n…' }
 */
export async function applyMigrations(conn: pg.Pool | pg.Client, opts: ApplyOptions): Promise<MigrationResult> {
  const migrations = ownMigrations();
  if (conn instanceof pg.Pool || typeof (conn as { totalCount?: unknown }).totalCount === 'number') {
    const client = await (conn as pg.Pool).connect();
    let broken: Error | undefined;
    try {
      return await runOn(client, migrations, opts);
    } catch (err) {
      // a connection whose ROLLBACK failed must not go back into the pool
      if (err instanceof RollbackFailed) broken = err;
      throw unwrap(err);
    } finally {
      client.release(broken);
    }
  }
  try {
    return await runOn(conn, migrations, opts);
  } catch (err) {
    throw unwrap(err);
  }
}

class RollbackFailed extends Error {
  constructor(readonly original: unknown) {
    super('ROLLBACK failed');
  }
}

function unwrap(err: unknown): unknown {
  return err instanceof RollbackFailed ? err.original : err;
}

interface Step {
  /** what is running, for error messages: `pgmask migration 0001_init.sql` */
  readonly label: string;
  /** file name for error locations */
  readonly file: string;
  readonly sql: string;
}

async function runOn(client: pg.PoolClient | pg.Client, migrations: readonly OwnMigration[], opts: ApplyOptions): Promise<MigrationResult> {
  try {
    // READ ONLY makes "a dry run changes nothing" a guarantee of the server, not of this code
    await client.query(opts.dryRun ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
  } catch (cause) {
    throw databaseError(cause, 'cannot start the migration transaction');
  }
  try {
    const result = await migrateInTransaction(client, migrations, opts);
    await client.query(opts.dryRun ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      throw new RollbackFailed(err);
    }
    throw err;
  }
}

async function migrateInTransaction(client: pg.PoolClient | pg.Client, migrations: readonly OwnMigration[], opts: ApplyOptions): Promise<MigrationResult> {
  const check: Check = async <R extends pg.QueryResultRow>(what: string, text: string, params?: unknown[]) => {
    try {
      return (await client.query<R>(text, params)).rows;
    } catch (cause) {
      throw databaseError(cause, what);
    }
  };

  // names in pgmask's own SQL are bound at run time: nothing may come from the caller's search_path
  await check('cannot prepare the migration transaction', 'SET LOCAL search_path = pg_catalog, pg_temp');
  if (!opts.dryRun) {
    await check('cannot take the pgmask migration lock', 'SELECT pg_catalog.pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
  }
  // a read-only (dry run) transaction gets no transaction id and needs none: it cannot commit anything
  const txid = opts.dryRun ? undefined : await transactionId(check);

  const { bootstrapped, policiesTable } = (
    await check<{ bootstrapped: boolean; policiesTable: boolean }>(
      'cannot read pgmask.schema_migrations',
      `SELECT pg_catalog.to_regclass('pgmask.schema_migrations') IS NOT NULL AS "bootstrapped",
              pg_catalog.to_regclass('pgmask.applied_policies') IS NOT NULL AS "policiesTable"`,
    )
  )[0]!;

  const applied = new Map<string, string>();
  if (bootstrapped) {
    const rows = await check<{ name: string; sha256: string }>('cannot read pgmask.schema_migrations', 'SELECT name, sha256 FROM pgmask.schema_migrations');
    for (const r of rows) applied.set(r.name, r.sha256);
  } else if (!opts.dryRun) {
    await execute(client, { label: 'pgmask bootstrap (schema pgmask, table pgmask.schema_migrations)', file: 'bootstrap', sql: bootstrapSql });
  }

  for (const m of migrations) {
    const recorded = applied.get(m.name);
    if (recorded !== undefined && recorded !== m.sha256) {
      throw new PgmaskError({
        code: 'MIGRATION_CHANGED',
        message: `pgmask migration ${m.name} was applied to this database with sha256 ${recorded}, but this pgmask ships it with sha256 ${m.sha256}`,
        hint: "pgmask's own migrations are append-only; this database was migrated by a different pgmask version whose migration text differs. Use the pgmask version that migrated it, or ask its maintainers; nothing was changed",
        exitCode: ExitCode.database,
        details: [{ code: 'MIGRATION_CHANGED', severity: 'error', message: `${m.name}: recorded ${recorded}, shipped ${m.sha256}` }],
      });
    }
  }

  const pending = migrations.filter((m) => !applied.has(m.name));
  const ran: string[] = [];
  for (const m of pending) {
    ran.push(`-- pgmask migration ${m.name}\n${m.sql.trimEnd()}\n`);
    if (opts.dryRun) continue;
    await execute(client, { label: `pgmask migration ${m.name}`, file: `migrations/${m.name}`, sql: m.sql });
    await check(`cannot record pgmask migration ${m.name}`, 'INSERT INTO pgmask.schema_migrations (name, sha256) VALUES ($1, $2)', [m.name, m.sha256]);
  }

  let policy: MigrationResult['policy'] = 'none';
  let ownerRoleGrantedTo: string | null = null;
  if (opts.policy) {
    const sqlSha = sha256(opts.policy.sql);
    // before the policies table exists (fresh database, dry run) nothing is applied yet
    const latest =
      policiesTable || !opts.dryRun
        ? (
            await check<{ policy_hash: string; sql_sha256: string }>(
              'cannot read pgmask.applied_policies',
              'SELECT policy_hash, sql_sha256 FROM pgmask.applied_policies ORDER BY id DESC LIMIT 1',
            )
          )[0]
        : undefined;
    if (latest && latest.policy_hash === opts.policy.hash && latest.sql_sha256 === sqlSha) {
      policy = 'unchanged';
    } else {
      policy = 'applied';
      ran.push(`-- pgmask policy migration (policy ${opts.policy.hash})\n${opts.policy.sql.trimEnd()}\n`);
      if (!opts.dryRun) {
        ownerRoleGrantedTo = await ensureOwnerRoleMembership(client);
        await execute(client, { label: `policy migration (policy ${opts.policy.hash})`, file: 'policy migration', sql: opts.policy.sql });
        await check(
          'cannot record the policy migration',
          'INSERT INTO pgmask.applied_policies (policy_hash, sql_sha256, pgmask_version, masked_schema) VALUES ($1, $2, $3, $4)',
          [opts.policy.hash, sqlSha, opts.pgmaskVersion, opts.policy.maskedSchema],
        );
      }
    }
  }

  // a COMMIT or ROLLBACK inside migration text would silently end our transaction and lock
  if (txid !== undefined && (await transactionId(check)) !== txid) {
    throw new PgmaskError({
      code: 'MIGRATION_TRANSACTION_ENDED',
      message: 'a migration ended the migration transaction (it contains COMMIT, ROLLBACK or END); part of it may have been committed',
      hint: 'migration SQL runs inside the transaction pgmask opens and must not contain transaction control; check the database state',
      exitCode: ExitCode.database,
    });
  }

  return {
    own: migrations.map((m) => ({ name: m.name, status: applied.has(m.name) ? ('unchanged' as const) : ('applied' as const) })),
    policy,
    sql: ran.join('\n'),
    ownerRoleGrantedTo,
  };
}

type Check = <R extends pg.QueryResultRow>(what: string, text: string, params?: unknown[]) => Promise<R[]>;

async function transactionId(check: Check): Promise<string> {
  return (await check<{ txid: string }>('cannot read the migration transaction id', 'SELECT pg_catalog.txid_current()::text AS txid'))[0]!.txid;
}

/** Runs one migration's text as one simple-protocol query (it may hold many statements). */
async function execute(client: pg.PoolClient | pg.Client, step: Step): Promise<void> {
  try {
    await client.query(step.sql);
  } catch (cause) {
    throw migrationError(cause, step);
  }
}

/** A database error naming the migration and, when PostgreSQL gives a position, its line and column. */
export function migrationError(cause: unknown, step: Step): PgmaskError {
  const position = Number((cause as { position?: string })?.position);
  const location = Number.isInteger(position) && position > 0 ? locate(step.sql, position) : undefined;
  const where = location ? ` at line ${location.line}, column ${location.column}` : '';
  const base = databaseError(cause, `${step.label} failed${where}`, 'the whole migration was rolled back; the database is exactly as before');
  // PL/pgSQL (a DO block, a function) says where inside itself it failed
  const context = (cause as { where?: string })?.where;
  const message = context ? `${base.message} [${context.replace(/\s*\n\s*/g, '; ')}]` : base.message;
  const detail: ErrorDetail = {
    code: base.code,
    severity: 'error',
    message,
    ...(location ? { location: { file: step.file, ...location } } : {}),
  };
  return new PgmaskError({ code: base.code, message, hint: base.hint, exitCode: base.exitCode, details: [detail], cause });
}

/**
 * PostgreSQL's error position is a 1-based index in characters (code points)
 * into the query text; turn it into a line, a column and the line with a caret.
 */
function locate(text: string, position: number): { line: number; column: number; excerpt: string } {
  const chars = [...text];
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < Math.min(position - 1, chars.length); i++) {
    if (chars[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  const column = position - lineStart;
  let lineEnd = chars.indexOf('\n', lineStart);
  if (lineEnd < 0) lineEnd = chars.length;
  const lineText = chars.slice(lineStart, lineEnd).join('');
  return { line, column, excerpt: `${lineText}\n${' '.repeat(Math.max(0, column - 1))}^` };
}
