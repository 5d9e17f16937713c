import type pg from 'pg';
import type { Sql } from '../sql/index.ts';
import { queryRows, savepoint } from '../db/query.ts';
import type { AttackStatus } from './verify-report.ts';
import type { VerifyFacts } from './verify-facts.ts';

/** What one attack found; the runner adds id and title. */
export interface Outcome {
  readonly status: AttackStatus;
  readonly evidence: string;
  readonly objects?: readonly string[];
}

export const held = (evidence: string, objects: readonly string[] = []): Outcome => ({ status: 'held', evidence, objects });
export const leaked = (evidence: string, objects: readonly string[] = []): Outcome => ({ status: 'leaked', evidence, objects });
export const skipped = (evidence: string, objects: readonly string[] = []): Outcome => ({ status: 'skipped', evidence, objects });

/** The identity an attack runs as. */
export interface Subject {
  readonly role: string;
  readonly kind: string;
  /** the masking role this subject is or belongs to, or null for a role given with --role */
  readonly maskingRole: string | null;
  /** attack through a real login with this URL instead of impersonating the role */
  readonly loginUrl?: string;
  /**
   * Citus mode: the login member whose session runs the attacks on the NOLOGIN masking role
   * `role` (Citus opens worker connections as the current role, which a NOLOGIN role cannot be)
   */
  readonly through?: string;
}

export type Attempt<R> = { readonly ok: true; readonly rows: R[] } | { readonly ok: false; readonly error: string; readonly code: string | null };

export interface Attack {
  readonly id: string;
  readonly title: string;
  /** false: this attack means nothing for this subject (e.g. NOLOGIN checks for a login member) */
  appliesTo?(subject: Subject): boolean;
  /** false: this attack means nothing on this database (e.g. Citus shards on a plain server); absent means true */
  appliesToDatabase?(facts: VerifyFacts): boolean;
  run(session: AttackSession): Promise<Outcome>;
}

/**
 * A connection that has become the subject inside a transaction that is always
 * rolled back. Every statement an attack runs goes through `attempt` (its own
 * savepoint: a failure is data, not an abort) or `rows` (a catalog read that must
 * work). Notices (RAISE NOTICE of the leak and hijack probes) are collected.
 */
export class AttackSession {
  readonly notices: string[] = [];

  constructor(
    readonly client: pg.Client,
    readonly subject: Subject,
    readonly facts: VerifyFacts,
    /** runs `fn` on a second, separately impersonated session (another backend) */
    readonly inOtherSession: <T>(fn: (other: AttackSession) => Promise<T>) => Promise<T>,
    /** true when the session user itself is the subject (SET SESSION AUTHORIZATION) */
    readonly faithful: boolean,
    /** the search_path the subject gets at login, already applied to this session */
    readonly searchPath: string,
    /**
     * statements that failed for a reason other than the defence (read-only standby, a
     * timeout, Citus refusing DDL after a parallel operation…): an attack that saw one did
     * not really run, so the runner reports its `held` as `skipped` (shared with other sessions)
     */
    readonly couldNotRun: string[] = [],
  ) {
    client.on('notice', (n: { message?: string }) => {
      if (n.message) this.notices.push(n.message);
    });
  }

  async attempt<R extends pg.QueryResultRow = Record<string, unknown>>(statement: Sql): Promise<Attempt<R>> {
    try {
      return { ok: true, rows: await savepoint(this.client, () => queryRows<R>(this.client, statement)) };
    } catch (e) {
      const err = e as { message?: string; code?: string };
      this.noteFailure(err.code ?? null, err.message ?? String(e));
      return { ok: false, error: err.message ?? String(e), code: err.code ?? null };
    }
  }

  /** Records a failed statement whose SQLSTATE says it could not run here (not that it was refused). */
  noteFailure(code: string | null, message: string): void {
    if (couldNotRunHere(code)) this.couldNotRun.push(`${message}${code ? ` (SQLSTATE ${code})` : ''}`);
  }

  /** A read that must succeed (catalog queries); an error ends the attack as skipped. */
  async rows<R extends pg.QueryResultRow = Record<string, unknown>>(statement: Sql): Promise<R[]> {
    return queryRows<R>(this.client, statement);
  }

  /** Runs `fn` and returns the notices raised while it ran. */
  async collectNotices<T>(fn: () => Promise<T>): Promise<{ value: T; notices: string[] }> {
    const start = this.notices.length;
    const value = await fn();
    return { value, notices: this.notices.slice(start) };
  }
}

/**
 * SQLSTATEs that mean "this statement could not run here", not "the role was refused":
 * read-only transaction (a standby), feature not supported, transaction rollback,
 * insufficient resources, operator intervention (statement_timeout), object in use,
 * lock not available, connection and system errors, internal errors (XX000: what an
 * extension raises without a code, e.g. Citus's "cannot run … command because there was
 * a parallel operation on a distributed table in the transaction").
 */
export function couldNotRunHere(code: string | null): boolean {
  if (code === null) return true;
  return ['25006', '0A000', '55006', '55P03'].includes(code) || /^(08|40|53|57|58|XX)/.test(code);
}

/** `a, b, c (and 4 more)` for evidence lines. */
export function listSome(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} (and ${items.length - max} more)`;
}
