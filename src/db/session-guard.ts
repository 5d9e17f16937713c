import pg from 'pg';
import { ExitCode, PgmaskError, databaseError } from '../errors.ts';
import { connect, forwardNotices, type ServerNotice } from './connection.ts';
import { query } from './query.ts';
import { literal, param, sql } from '../sql/index.ts';

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
    if (!this.monitor) {
      const c = new pg.Client({ connectionString: this.url, application_name: 'pgmask (lock monitor)' });
      c.on('error', () => {});
      await c.connect();
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
    if (sqlstate === '55P03') {
      const who = this.seen.length > 0 ? this.seen.map(describeBlocker).join('; ') : 'a session the monitor did not see (the wait was shorter than its poll)';
      const pids = this.seen.map((b) => b.pid);
      return new PgmaskError({
        code: 'LOCK_TIMEOUT',
        message: `${command} waited ${formatMs(this.lockTimeoutMs)} for a lock and gave up; it was held by ${who}`,
        hint: `${rolledBack}. Run it again when ${pids.length === 1 ? 'that session' : 'those sessions'} ended their transaction${
          pids.length > 0 ? ` (an abandoned one can be ended with SELECT pg_terminate_backend(${pids.join('), pg_terminate_backend(')}))` : ''
        }, or wait longer with --lock-timeout`,
        exitCode: ExitCode.database,
        details: this.seen.map((b) => ({ code: 'LOCK_HOLDER', severity: 'error' as const, message: describeBlocker(b) })),
        cause: error,
      });
    }
    if (this.cancelRequested && (sqlstate === '57014' || error instanceof InterruptedError)) {
      return new PgmaskError({
        code: 'INTERRUPTED',
        message: `${command} was interrupted (Ctrl-C): the running statement was cancelled on the server`,
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

/** Ctrl-C arrived while no statement was running. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
  }
}

function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

function describeBlocker(b: Blocker): string {
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
