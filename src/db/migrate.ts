import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ExitCode, PgmaskError, databaseError, type ErrorDetail } from '../errors.ts';
import { sha256Hex } from '../sha256.ts';
import { isPool } from './connection.ts';
import { byCodePoint } from './introspect.ts';
import { ensureOwnerRoleMembership } from './migrate-privileges.ts';
import { InterruptedError, lockPolitely, type LockTarget, type PoliteLockOptions } from './session-guard.ts';
import { query, queryRows } from './query.ts';
import { ident, param, sql, trustedSqlText, type Sql } from '../sql/index.ts';

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
  /** source schema → masked schema pairs of the policy; the migration is recorded once per masked schema */
  readonly schemas: readonly { readonly source: string; readonly masked: string }[];
  /**
   * the checksum recorded for this migration and compared with the applied one (default: sha256
   * of `sql`). The pipeline gives the SQL's without its offboarding revokes: they depend on
   * grants made since, and a migrate that revoked them must leave the next one a no-op
   */
  readonly sqlSha256?: string;
  /** `sql` revokes access the policy does not give (offboarding): it runs even when the applied migration matches */
  readonly revokes?: boolean;
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
  /** pgmask's own migrations (default: the shipped migrations/ directory; tests pass others) */
  readonly migrations?: readonly OwnMigration[];
  readonly pgmaskVersion: string;
  readonly dryRun?: boolean;
  /** aborted (Ctrl-C): the transaction is rolled back instead of committed */
  readonly signal?: AbortSignal;
  /**
   * take the masked relations' locks without queueing (lockPolitely): readers never wait
   * behind a migrate that waits for another reader; without it, each lock waits in the
   * queue up to the session's lock_timeout
   */
  readonly politeLocks?: Omit<PoliteLockOptions, 'signal'>;
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
  applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  previous_sha256 text
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
      return Object.freeze({ name, sql, sha256: sha256Hex(sql) });
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
 *   const r = await applyMigrations(pool, { pgmaskVersion: '0.1.0', policy: { hash, sql, schemas: [{ source: 'public', masked: 'masked' }] } });
 *   // { own: [{ name: '0001_init.sql', status: 'applied' }], policy: 'applied', sql: '-- pgmask migration 0001_init.sql\n…' }
 */
export async function applyMigrations(conn: pg.Pool | pg.Client, opts: ApplyOptions): Promise<MigrationResult> {
  const migrations = opts.migrations ?? ownMigrations();
  if (isPool(conn)) {
    const client = await conn.connect();
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
    await query(client, opts.dryRun ? sql`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` : sql`BEGIN`);
  } catch (cause) {
    throw databaseError(cause, 'cannot start the migration transaction');
  }
  try {
    const result = await migrateInTransaction(client, migrations, opts);
    // a cancel that arrived between statements found nothing running to cancel
    if (opts.signal?.aborted) throw new InterruptedError();
    await query(client, opts.dryRun ? sql`ROLLBACK` : sql`COMMIT`);
    return result;
  } catch (err) {
    try {
      await query(client, sql`ROLLBACK`);
    } catch {
      throw new RollbackFailed(err);
    }
    throw err;
  }
}

/** The phases of one migration run, in one transaction: lock, read and check the history, apply, verify. */
async function migrateInTransaction(client: pg.PoolClient | pg.Client, migrations: readonly OwnMigration[], opts: ApplyOptions): Promise<MigrationResult> {
  const check = checkedQuery(client);
  const txid = await lockMigrations(check, opts);
  const history = await readHistory(client, check, opts);
  const pending = pendingMigrations(history.applied, migrations);
  if (pending.length > 0 && !opts.dryRun) await lockMaskedViews(client, check, opts, null);
  const ran = await applyOwnMigrations(client, check, pending, history, opts);
  const policy = opts.policy ? await applyPolicyMigration(client, check, opts.policy, history.policiesTable, opts, ran) : { status: 'none' as const, ownerRoleGrantedTo: null };
  await assertSameTransaction(check, txid);
  const appliedNames = new Set(history.applied.map((a) => a.name));
  return {
    own: migrations.map((m) => ({ name: m.name, status: appliedNames.has(m.name) ? ('unchanged' as const) : ('applied' as const) })),
    policy: policy.status,
    sql: ran.join('\n'),
    ownerRoleGrantedTo: policy.ownerRoleGrantedTo,
  };
}

/**
 * Before pgmask's own migrations change what the masked views read (the keys
 * table), every masked view is locked, in oid order. A reader locks the view, then
 * what it reads; a migration that altered the keys first and replaced the views
 * later took the same two locks the other way round, and the server cancelled the
 * reader (deadlock detected). Locked first, readers wait for the commit and then
 * read the new definitions.
 *
 * `LOCK TABLE` on a view also locks every relation under it, with the view
 * owner's privileges: it would take the source tables too (blocking writers) and
 * pgmask_owner may only read them. `ALTER VIEW … OWNER TO` its current owner
 * changes nothing and takes ACCESS EXCLUSIVE on the view alone. Materialized
 * views are not read through to the keys, so readers of them cannot deadlock.
 */
async function lockMaskedViews(client: pg.PoolClient | pg.Client, check: Check, opts: ApplyOptions, schemas: readonly string[] | null): Promise<void> {
  const targets = await check<LockTarget>(
    'cannot list the masked views',
    sql`SELECT n.nspname AS schema, c.relname AS name, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
               CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE pg_catalog.obj_description(c.oid, 'pg_class') LIKE 'pgmask:%'
           AND ${schemas === null ? sql`c.relkind = 'v'` : sql`c.relkind IN ('v', 'm') AND n.nspname = ANY(${param(schemas)}::text[])`}
         ORDER BY c.oid`,
  );
  if (opts.politeLocks) {
    try {
      await lockPolitely(client, targets, { ...opts.politeLocks, signal: opts.signal });
    } catch (cause) {
      if (cause instanceof InterruptedError) throw cause;
      throw databaseError(cause, 'cannot lock the masked views');
    }
    return;
  }
  for (const v of targets) {
    const kind = v.kind === 'view' ? sql`VIEW` : sql`MATERIALIZED VIEW`;
    await check(`cannot lock masked view ${v.schema}.${v.name}`, sql`ALTER ${kind} ${ident(v.schema, v.name)} OWNER TO ${ident(v.owner)}`);
  }
}

/** The newest applied_policies row of a masked schema: the policy that made its views. */
interface AppliedSchemaRow {
  readonly masked_schema: string;
  /** null for rows written before migration 0007 */
  readonly source_schema: string | null;
  readonly policy_hash: string;
  readonly sql_sha256: string;
}

/**
 * A masked schema holds the views of one policy: when another policy (a
 * different source schema) made the pgmask views it still holds, applying this
 * one would replace and drop them. Refused before anything runs.
 */
async function refuseOtherPolicysSchema(check: Check, schemas: readonly { source: string; masked: string }[], latest: readonly AppliedSchemaRow[]): Promise<void> {
  for (const s of schemas) {
    const row = latest.find((r) => r.masked_schema === s.masked);
    if (!row || row.source_schema === null || row.source_schema === s.source) continue;
    const [held] = await check<{ n: number }>(
      'cannot read the masked schema',
      sql`SELECT count(*)::int AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = ${param(s.masked)} AND c.relkind IN ('v', 'm') AND pg_catalog.obj_description(c.oid, 'pg_class') LIKE 'pgmask:%'`,
    );
    if (held!.n === 0) continue;
    throw new PgmaskError({
      code: 'MASKED_SCHEMA_TAKEN',
      message: `masked schema ${s.masked} holds ${held!.n} masked view(s) of source schema ${row.source_schema} (policy sha256 ${row.policy_hash.slice(0, 16)}), made by another policy; this policy masks ${s.source} into it`,
      hint: `give this policy's ${s.source} another masked_schema; if it replaces that policy, remove the old views first (pgmask uninstall with the old policy, or DROP SCHEMA ${s.masked} CASCADE). Nothing was changed`,
      exitCode: ExitCode.invalidPolicy,
    });
  }
}

type Check = <R extends pg.QueryResultRow>(what: string, statement: Sql) => Promise<R[]>;

function checkedQuery(client: pg.PoolClient | pg.Client): Check {
  return async <R extends pg.QueryResultRow>(what: string, statement: Sql) => {
    try {
      return await queryRows<R>(client, statement);
    } catch (cause) {
      throw databaseError(cause, what);
    }
  };
}

/** Pins the search_path and takes the advisory lock; returns the transaction id (none in a dry run). */
async function lockMigrations(check: Check, opts: ApplyOptions): Promise<string | undefined> {
  // names in pgmask's own SQL are bound at run time: nothing may come from the caller's search_path
  await check('cannot prepare the migration transaction', sql`SET LOCAL search_path = pg_catalog, pg_temp`);
  if (!opts.dryRun) {
    await check('cannot take the pgmask migration lock', sql`SELECT pg_catalog.pg_advisory_xact_lock(${param(MIGRATION_LOCK_KEY)}::bigint)`);
  }
  // a read-only (dry run) transaction gets no transaction id and needs none: it cannot commit anything
  return opts.dryRun ? undefined : await transactionId(check);
}

/** One row of pgmask.schema_migrations, in the order applied. */
export interface AppliedMigration {
  readonly name: string;
  readonly sha256: string;
  /** the sha256 of the migration applied before it (null for the first; null on every row pgmask 0.1 wrote) */
  readonly previousSha256: string | null;
}

interface History {
  readonly applied: readonly AppliedMigration[];
  /** whether the table has the previous_sha256 column (pgmask 0.1 did not create it) */
  readonly chained: boolean;
  readonly policiesTable: boolean;
}

/** Reads what was applied (creating the bookkeeping table on a fresh database, unless a dry run). */
async function readHistory(client: pg.PoolClient | pg.Client, check: Check, opts: ApplyOptions): Promise<History> {
  const { bootstrapped, chained, policiesTable } = (
    await check<{ bootstrapped: boolean; chained: boolean; policiesTable: boolean }>(
      'cannot read pgmask.schema_migrations',
      sql`SELECT pg_catalog.to_regclass('pgmask.schema_migrations') IS NOT NULL AS "bootstrapped",
              EXISTS (SELECT FROM pg_catalog.pg_attribute
                       WHERE attrelid = pg_catalog.to_regclass('pgmask.schema_migrations')
                         AND attname = 'previous_sha256' AND NOT attisdropped) AS "chained",
              pg_catalog.to_regclass('pgmask.applied_policies') IS NOT NULL AS "policiesTable"`,
    )
  )[0]!;
  if (!bootstrapped) {
    if (!opts.dryRun) await execute(client, { label: 'pgmask bootstrap (schema pgmask, table pgmask.schema_migrations)', file: 'bootstrap', sql: bootstrapSql });
    return { applied: [], chained: true, policiesTable };
  }
  const rows = await check<{ name: string; sha256: string; previous_sha256: string | null }>(
    'cannot read pgmask.schema_migrations',
    chained
      ? sql`SELECT name, sha256, previous_sha256 FROM pgmask.schema_migrations`
      : sql`SELECT name, sha256, NULL::text AS previous_sha256 FROM pgmask.schema_migrations`,
  );
  return { applied: historyOrder(rows.map((r) => ({ name: r.name, sha256: r.sha256, previousSha256: r.previous_sha256 }))), chained, policiesTable };
}

/**
 * The applied migrations in the order they were applied: along the chain of previous
 * hashes where recorded, else (rows written by pgmask 0.1) by name, the order 0.1 applied them in.
 */
export function historyOrder(rows: readonly AppliedMigration[]): AppliedMigration[] {
  const byName = [...rows].sort((x, y) => byCodePoint(x.name, y.name));
  // the first migration, and every row pgmask 0.1 wrote, record no previous hash
  const ordered = byName.filter((r) => r.previousSha256 === null);
  const left = byName.filter((r) => r.previousSha256 !== null);
  for (let previous = ordered.at(-1)?.sha256; left.length > 0; ) {
    const i = left.findIndex((r) => r.previousSha256 === previous);
    if (i < 0) break;
    const next = left.splice(i, 1)[0]!;
    ordered.push(next);
    previous = next.sha256;
  }
  // rows off the chain (edited by hand) follow in name order: pendingMigrations refuses them
  return [...ordered, ...left];
}

/**
 * Checks the applied history against the shipped migrations, graphile-migrate's way: the
 * applied ones must be the first shipped ones, in order, with the same checksums, each
 * recording the previous one's hash. Returns the shipped migrations still to apply.
 */
export function pendingMigrations(applied: readonly AppliedMigration[], migrations: readonly OwnMigration[]): readonly OwnMigration[] {
  const shippedAt = new Map(migrations.map((m, i) => [m.name, i]));
  applied.forEach((a, i) => {
    const shipped = migrations[i];
    if (shipped === undefined || shipped.name !== a.name) {
      const at = shippedAt.get(a.name);
      if (at === undefined) throw historyError('MIGRATION_UNKNOWN', `pgmask migration ${a.name} is recorded as applied to this database, but this pgmask does not ship it`, 'the database was migrated by a newer pgmask: use that version (or a newer one); nothing was changed');
      throw historyError(
        shipped !== undefined && !applied.some((x) => x.name === shipped.name) ? 'MIGRATION_INSERTED' : 'MIGRATION_REORDERED',
        shipped !== undefined && !applied.some((x) => x.name === shipped.name)
          ? `pgmask migration ${shipped.name} comes before ${a.name}, which is already applied to this database, but was never applied itself`
          : `pgmask migration ${a.name} was applied as number ${i + 1} but this pgmask ships it as number ${at + 1}`,
        "pgmask's own migrations are append-only: a new migration must sort after every applied one (rename it to a later number); a shipped migration is never moved. Nothing was changed",
      );
    }
    if (shipped.sha256 !== a.sha256) {
      throw new PgmaskError({
        code: 'MIGRATION_CHANGED',
        message: `pgmask migration ${a.name} was applied to this database with sha256 ${a.sha256}, but this pgmask ships it with sha256 ${shipped.sha256}`,
        hint: "pgmask's own migrations are append-only; this database was migrated by a different pgmask version whose migration text differs. Use the pgmask version that migrated it, or ask its maintainers; nothing was changed",
        exitCode: ExitCode.database,
        details: [{ code: 'MIGRATION_CHANGED', severity: 'error', message: `${a.name}: recorded ${a.sha256}, shipped ${shipped.sha256}` }],
      });
    }
    const expectedPrevious = i === 0 ? null : applied[i - 1]!.sha256;
    // null on rows written by pgmask 0.1 (no chain yet): they are chained when this run records
    if (a.previousSha256 !== null && a.previousSha256 !== expectedPrevious) {
      throw historyError('MIGRATION_CHAIN_BROKEN', `pgmask migration ${a.name} records previous hash ${a.previousSha256}, but the migration applied before it has ${expectedPrevious ?? 'none'}`, 'pgmask.schema_migrations was edited by hand; restore it from a backup or ask the maintainers. Nothing was changed');
    }
  });
  return migrations.slice(applied.length);
}

function historyError(code: string, message: string, hint: string): PgmaskError {
  return new PgmaskError({ code, message, hint, exitCode: ExitCode.database, details: [{ code, severity: 'error', message }] });
}

/** Runs the pending own migrations, each recorded with its checksum and the previous one's. */
async function applyOwnMigrations(client: pg.PoolClient | pg.Client, check: Check, pending: readonly OwnMigration[], history: History, opts: ApplyOptions): Promise<string[]> {
  const ran = pending.map((m) => `-- pgmask migration ${m.name}\n${m.sql.trimEnd()}\n`);
  if (opts.dryRun) return ran;
  if (!history.chained || history.applied.some((a, i) => i > 0 && a.previousSha256 === null)) await chainHistory(check, history.applied, history.chained);
  let previous = history.applied.at(-1)?.sha256 ?? null;
  for (const m of pending) {
    await execute(client, { label: `pgmask migration ${m.name}`, file: `migrations/${m.name}`, sql: m.sql });
    await check(
      `cannot record pgmask migration ${m.name}`,
      sql`INSERT INTO pgmask.schema_migrations (name, sha256, previous_sha256) VALUES (${param(m.name)}, ${param(m.sha256)}, ${param(previous)})`,
    );
    previous = m.sha256;
  }
  return ran;
}

/** A history written by pgmask 0.1 (checked in order above) gets the previous_sha256 column and its chain. */
async function chainHistory(check: Check, applied: readonly AppliedMigration[], chained: boolean): Promise<void> {
  if (!chained) await check('cannot add the hash chain to pgmask.schema_migrations', sql`ALTER TABLE pgmask.schema_migrations ADD COLUMN previous_sha256 text`);
  for (let i = 1; i < applied.length; i++) {
    await check(
      'cannot chain pgmask.schema_migrations',
      sql`UPDATE pgmask.schema_migrations SET previous_sha256 = ${param(applied[i - 1]!.sha256)} WHERE name = ${param(applied[i]!.name)}`,
    );
  }
}

/** Applies the policy SQL unless the newest recorded policy migration has the same hash and checksum. */
async function applyPolicyMigration(
  client: pg.PoolClient | pg.Client,
  check: Check,
  policy: PolicyMigration,
  policiesTable: boolean,
  opts: ApplyOptions,
  ran: string[],
): Promise<{ status: 'applied' | 'unchanged'; ownerRoleGrantedTo: string | null }> {
  const sqlSha = policy.sqlSha256 ?? sha256Hex(policy.sql);
  const masked = policy.schemas.map((s) => s.masked);
  // before the policies table exists (fresh database, dry run) nothing is applied yet
  const latest =
    policiesTable || !opts.dryRun
      ? await check<AppliedSchemaRow>(
          'cannot read pgmask.applied_policies',
          sql`SELECT DISTINCT ON (masked_schema) masked_schema, source_schema, policy_hash, sql_sha256
                FROM pgmask.applied_policies WHERE masked_schema = ANY(${param(masked)}::text[]) ORDER BY masked_schema, id DESC`,
        )
      : [];
  await refuseOtherPolicysSchema(check, policy.schemas, latest);
  if (!policy.revokes && masked.every((m) => latest.some((r) => r.masked_schema === m && r.policy_hash === policy.hash && r.sql_sha256 === sqlSha))) {
    return { status: 'unchanged', ownerRoleGrantedTo: null };
  }
  ran.push(`-- pgmask policy migration (policy ${policy.hash})\n${policy.sql.trimEnd()}\n`);
  let ownerRoleGrantedTo: string | null = null;
  if (!opts.dryRun) {
    // the views it replaces or drops, locked first (politely when asked): readers never queue behind a waiting statement of it
    await lockMaskedViews(client, check, opts, masked);
    ownerRoleGrantedTo = await ensureOwnerRoleMembership(client);
    await execute(client, { label: `policy migration (policy ${policy.hash})`, file: 'policy migration', sql: policy.sql });
    // one row per masked schema: the policy that made its views (check and the next migrate compare per masked schema)
    for (const s of policy.schemas) {
      await check(
        'cannot record the policy migration',
        sql`INSERT INTO pgmask.applied_policies (policy_hash, sql_sha256, pgmask_version, masked_schema, source_schema)
            VALUES (${param(policy.hash)}, ${param(sqlSha)}, ${param(opts.pgmaskVersion)}, ${param(s.masked)}, ${param(s.source)})`,
      );
    }
  }
  return { status: 'applied', ownerRoleGrantedTo };
}

/** A COMMIT or ROLLBACK inside migration text would silently end our transaction and lock. */
async function assertSameTransaction(check: Check, txid: string | undefined): Promise<void> {
  if (txid === undefined || (await transactionId(check)) === txid) return;
  throw new PgmaskError({
    code: 'MIGRATION_TRANSACTION_ENDED',
    message: 'a migration ended the migration transaction (it contains COMMIT, ROLLBACK or END); part of it may have been committed',
    hint: 'migration SQL runs inside the transaction pgmask opens and must not contain transaction control; check the database state',
    exitCode: ExitCode.database,
  });
}

async function transactionId(check: Check): Promise<string> {
  return (await check<{ txid: string }>('cannot read the migration transaction id', sql`SELECT pg_catalog.txid_current()::text AS txid`))[0]!.txid;
}

/** Runs one migration's text as one simple-protocol query (it may hold many statements). */
async function execute(client: pg.PoolClient | pg.Client, step: Step): Promise<void> {
  try {
    await query(client, trustedSqlText(step.sql));
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
