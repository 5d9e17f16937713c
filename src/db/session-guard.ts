import pg from 'pg';
import { ExitCode, PgmaskError, databaseError } from '../errors.ts';
import { connect, forwardNotices, type ServerNotice } from './connection.ts';
import { query, savepoint } from './query.ts';
import { ident, literal, param, sql } from '../sql/index.ts';

/** A session that holds a lock pgmask waited for, as pg_stat_activity shows it. */
export interface Blocker {
  readonly pid: number;
  readonly user: string | null;
  readonly application: string | null;
  /** 'idle in transaction', 'active', … (null when the connected role may not see it) */
  readonly state: string | null;
  readonly transactionStart: string | null;
  readonly query: string | null;
}

export interface GuardOptions {
  /** the longest a statement waits for a lock (PostgreSQL lock_timeout), in milliseconds */
  readonly lockTimeoutMs: number;
  /** cancels the guarded session's running statement (Ctrl-C) */
  readonly signal?: AbortSignal;
  /** how often a second connection looks for sessions blocking this one while it runs (ms) */
  readonly pollMs?: number;
}

/**
 * Bounds a connection's lock waits and makes them explainable and cancellable: sets
 * `lock_timeout` on the session; while it works, a second connection polls
 * `pg_blocking_pids` for it, so a lock timeout can name who held the lock (the wait is over
 * once the error arrives, and with it the evidence); on abort it cancels the running
 * statement server-side (`pg_cancel_backend`), so no backend of pgmask stays queued for a
 * lock after the process exits.
 */
export class SessionGuard {
  private monitor: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private seen: readonly Blocker[] = [];
  private cancelRequested = false;
  private closed = false;

  private constructor(
    private readonly url: string,
    readonly pid: number,
    readonly lockTimeoutMs: number,
  ) {}

  static async start(client: pg.ClientBase, url: string, opts: GuardOptions): Promise<SessionGuard> {
    let pid: number;
    try {
      // 0 is PostgreSQL's own 'no limit'
      await query(client, sql`SET lock_timeout = ${literal(Math.max(0, Math.round(opts.lockTimeoutMs)))}`);
      pid = (await query<{ pid: number }>(client, sql`SELECT pg_catalog.pg_backend_pid() AS pid`)).rows[0]!.pid;
    } catch (cause) {
      throw databaseError(cause, 'cannot set lock_timeout');
    }
    const guard = new SessionGuard(url, pid, opts.lockTimeoutMs);
    const poll = opts.pollMs ?? (opts.lockTimeoutMs > 0 ? Math.min(200, Math.max(20, opts.lockTimeoutMs / 4)) : 200);
    guard.timer = setInterval(() => void guard.poll(), poll);
    guard.timer.unref();
    if (opts.signal) {
      if (opts.signal.aborted) guard.cancelRequested = true;
      else opts.signal.addEventListener('abort', () => void guard.cancel(), { once: true });
    }
    return guard;
  }

  /** Ctrl-C was pressed: the caller must not commit. */
  get cancelled(): boolean {
    return this.cancelRequested;
  }

  /** The sessions seen blocking this one, at the last poll that saw any. */
  get blockers(): readonly Blocker[] {
    return this.seen;
  }

  private async connection(): Promise<pg.Client> {
    if (this.closed) throw new Error('the session guard is closed');
    if (!this.monitor) {
      const c = new pg.Client({ connectionString: this.url, application_name: 'pgmask (lock monitor)' });
      c.on('error', () => {});
      await c.connect();
      // closed while connecting (the work ended): a connection left open would keep the process alive
      if (this.closed || this.monitor) {
        await c.end().catch(() => {});
        if (this.closed) throw new Error('the session guard is closed');
        return this.monitor!;
      }
      this.monitor = c;
    }
    return this.monitor;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const c = await this.connection();
      const rows = (
        await query<Blocker>(
          c,
          sql`SELECT a.pid, a.usename::text AS "user", a.application_name AS application, a.state,
                  a.xact_start::text AS "transactionStart", a.query
             FROM pg_catalog.unnest(pg_catalog.pg_blocking_pids(${param(this.pid)})) AS b(pid)
             JOIN pg_catalog.pg_stat_activity AS a ON a.pid = b.pid
            ORDER BY a.pid`,
        )
      ).rows;
      if (rows.length > 0) this.seen = rows;
    } catch {
      // the monitor only adds evidence to an error; losing it must not fail the work
    } finally {
      this.polling = false;
    }
  }

  /** Cancels the guarded session's running statement; true when the server signalled it. */
  async cancel(): Promise<boolean> {
    this.cancelRequested = true;
    try {
      const c = await this.connection();
      return (await query<{ ok: boolean }>(c, sql`SELECT pg_catalog.pg_cancel_backend(${param(this.pid)}) AS ok`)).rows[0]!.ok;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const c = this.monitor;
    this.monitor = null;
    await c?.end().catch(() => {});
  }

  /**
   * The error to report for `error` thrown by work under this guard: a lock timeout names
   * the sessions that held the lock; a statement cancelled by Ctrl-C says so (exit 130).
   * `what` says what was rolled back.
   */
  explain(error: unknown, command: string, rolledBack: string): unknown {
    const sqlstate = sqlState(error);
    if (sqlstate === '55P03') return lockTimeoutError(command, this.lockTimeoutMs, this.seen, rolledBack, error);
    if (this.cancelRequested && (sqlstate === '57014' || causes(error).some((e) => e instanceof InterruptedError))) {
      const how = sqlstate === '57014' ? 'the running statement was cancelled on the server' : 'it stopped before its next statement';
      return new PgmaskError({
        code: 'INTERRUPTED',
        message: `${command} was interrupted (Ctrl-C): ${how}`,
        hint: `${rolledBack}`,
        exitCode: ExitCode.interrupted,
        cause: error,
      });
    }
    return error;
  }

  /** Throws when Ctrl-C was pressed (between statements a cancel signal finds nothing to cancel). */
  throwIfCancelled(): void {
    if (this.cancelRequested) throw new InterruptedError();
  }
}

/** LOCK_TIMEOUT (exit 4): `command` waited `ms` for a lock held by `blockers`; `rolledBack` says what became of the work. */
export function lockTimeoutError(command: string, ms: number, blockers: readonly Blocker[], rolledBack: string, cause?: unknown): PgmaskError {
  const who = blockers.length > 0 ? blockers.map(describeBlocker).join('; ') : 'a session the monitor did not see (the wait was shorter than its poll)';
  const pids = blockers.map((b) => b.pid);
  return new PgmaskError({
    code: 'LOCK_TIMEOUT',
    message: `${command} waited ${formatMs(ms)} for a lock and gave up; it was held by ${who}`,
    hint: `${rolledBack}. Run it again when ${pids.length === 1 ? 'that session' : 'those sessions'} ended their transaction${
      pids.length > 0 ? ` (an abandoned one can be ended with SELECT pg_terminate_backend(${pids.join('), pg_terminate_backend(')}))` : ''
    }, or wait longer with --lock-timeout`,
    exitCode: ExitCode.database,
    details: blockers.map((b) => ({ code: 'LOCK_HOLDER', severity: 'error' as const, message: describeBlocker(b) })),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A relation to take ACCESS EXCLUSIVE on before the work that needs it. */
export interface LockTarget {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'view' | 'materialized view';
  /** its current owner: `ALTER … OWNER TO` the same role changes nothing and locks the relation alone */
  readonly owner: string;
}

export interface PoliteLockOptions {
  /** give up after this long (0: never), with LOCK_TIMEOUT naming the holders */
  readonly budgetMs: number;
  /** the longest one attempt stands in the lock queue, where it makes new readers wait behind it */
  readonly attemptMs?: number;
  /** told who holds the locks, once per change of holders */
  readonly onWait?: (blockers: readonly Blocker[]) => void;
  readonly signal?: AbortSignal;
}

/**
 * Takes ACCESS EXCLUSIVE on `targets` (in the given order) inside the caller's transaction
 * without making readers queue behind it: each attempt waits at most `attemptMs` (a lock
 * request in the queue blocks every later reader of the relation), then gives the locks
 * back (ROLLBACK TO SAVEPOINT), names who holds them, pauses with nothing requested, and
 * tries again, until `budgetMs` is spent. `LOCK TABLE` on a view would also lock every
 * relation under it (the source tables); `ALTER … OWNER TO` its owner locks the view alone.
 */
export async function lockPolitely(client: pg.ClientBase, targets: readonly LockTarget[], opts: PoliteLockOptions): Promise<void> {
  if (targets.length === 0) return;
  const started = Date.now();
  const attemptMs = opts.attemptMs ?? 50;
  let pause = 50;
  let told = '';
  for (;;) {
    try {
      // a failed attempt gives its lock requests back with the savepoint; a successful one keeps its locks
      await savepoint(client, async () => {
        await query(client, sql`SET LOCAL lock_timeout = ${literal(attemptMs)}`);
        for (const t of targets) {
          const kind = t.kind === 'view' ? sql`VIEW` : sql`MATERIALIZED VIEW`;
          await query(client, sql`ALTER ${kind} ${ident(t.schema, t.name)} OWNER TO ${ident(t.owner)}`);
        }
      });
      // the session's lock_timeout comes back for the statements after
      await query(client, sql`SET LOCAL lock_timeout = ${literal(Math.max(0, Math.round(opts.budgetMs)))}`);
      return;
    } catch (error) {
      if (sqlState(error) !== '55P03') throw error;
    }
    const blockers = await lockHolders(client, targets);
    if (opts.budgetMs > 0 && Date.now() - started + pause > opts.budgetMs) {
      throw lockTimeoutError('migrate', opts.budgetMs, blockers, 'the whole migration was rolled back; the database is exactly as before');
    }
    const key = blockers.map((b) => b.pid).join(',');
    if (key !== told) {
      told = key;
      opts.onWait?.(blockers);
    }
    await pauseFor(pause, opts.signal);
    pause = Math.min(pause * 2, 1000);
  }
}

/** The sessions holding a lock on any of `targets`, as pg_stat_activity shows them. */
async function lockHolders(client: pg.ClientBase, targets: readonly LockTarget[]): Promise<Blocker[]> {
  const names = targets.map((t) => ident(t.schema, t.name).text);
  return (
    await query<Blocker>(
      client,
      sql`SELECT DISTINCT a.pid, a.usename::text AS "user", a.application_name AS application, a.state,
              a.xact_start::text AS "transactionStart", a.query
         FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
          AND l.relation = ANY (SELECT pg_catalog.to_regclass(n)::oid FROM pg_catalog.unnest(${param(names)}::text[]) AS n)
        ORDER BY a.pid`,
    )
  ).rows;
}

/** Waits `ms`, or until `signal` aborts (then throws InterruptedError). */
function pauseFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Ctrl-C arrived while no statement was running. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
  }
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export function describeBlocker(b: Blocker): string {
  const parts = [`pid ${b.pid}`];
  if (b.user) parts.push(`user ${b.user}`);
  if (b.application) parts.push(`application ${b.application}`);
  if (b.state) parts.push(b.state);
  if (b.transactionStart) parts.push(`transaction started ${b.transactionStart}`);
  if (b.query) parts.push(`last query: ${b.query.replace(/\s+/g, ' ').slice(0, 200)}`);
  return parts.join(', ');
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms} ms`;
}

/**
 * Connects, forwards the server's notices, guards the session (lock_timeout, blockers,
 * cancel on `signal`), runs `work`, explains a lock timeout or an interrupt as `command`
 * (saying `rolledBack`), and closes both connections.
 */
export async function withGuardedSession<T>(
  url: string,
  opts: GuardOptions & { readonly command: string; readonly rolledBack: string; readonly onNotice?: (notice: ServerNotice) => void },
  work: (client: pg.Client, guard: SessionGuard) => Promise<T>,
): Promise<T> {
  const client = await connect(url);
  const stopNotices = opts.onNotice ? forwardNotices(client, opts.onNotice) : () => {};
  let guard: SessionGuard | undefined;
  try {
    guard = await SessionGuard.start(client, url, opts);
    return await work(client, guard);
  } catch (error) {
    throw guard ? guard.explain(error, opts.command, opts.rolledBack) : error;
  } finally {
    stopNotices();
    await guard?.close();
    await client.end();
  }
}
