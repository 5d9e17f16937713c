/**
 * What `verify()` returns: plain data, printed only by the CLI. The JSON the CLI
 * prints with `--json` is exactly this shape (docs/verify.md documents it; a test
 * pins it), so new fields may be added but existing ones keep their meaning.
 */

export type AttackStatus = 'held' | 'leaked' | 'skipped';

export interface AttackResult {
  /** stable kebab-case id, e.g. `source-read`, `oracle` */
  readonly id: string;
  /** one line saying what was tried */
  readonly title: string;
  readonly status: AttackStatus;
  /** what the attack saw: for a leak, what leaked and how; for held, why it held */
  readonly evidence: string;
  /** the objects involved (qualified names, roles, settings), when there are any */
  readonly objects: readonly string[];
}

/** One identity the attacks ran as. */
export interface VerifySubject {
  readonly role: string;
  /** `masking role`, `member of <role>`, or `role` (given with --role, not in the policy) */
  readonly kind: string;
  /** how the session became the role: `login` (its own connection), `session authorization` (faithful), `set role`, or `none` (could not) */
  readonly impersonation: 'login' | 'session authorization' | 'set role' | 'none';
  /** Citus mode: the login member of this NOLOGIN masking role whose session ran the attacks (docs/scale.md) */
  readonly through?: string;
  /** the search_path the role gets at login (from pg_db_role_setting), applied before the attacks */
  readonly searchPath: string;
  readonly attacks: readonly AttackResult[];
}

export interface VerifySummary {
  readonly held: number;
  readonly leaked: number;
  readonly skipped: number;
}

export interface VerifyReport {
  /** true when no attack leaked */
  readonly ok: boolean;
  /**
   * true when every attack ran (none skipped, except those the caller allowed to skip):
   * a skipped attack proves nothing, so `pgmask verify` exits 4 when this is false and
   * nothing leaked
   */
  readonly complete: boolean;
  /**
   * true when verify ran against a standby (pg_is_in_recovery()): the attacks that must
   * create objects are skipped there with evidence starting `on a standby (read-only): `
   * and do not make the report incomplete; verify on the primary runs them
   */
  readonly standby: boolean;
  readonly database: string;
  readonly policyHash: string;
  readonly subjects: readonly VerifySubject[];
  readonly summary: VerifySummary;
}

export function summarize(subjects: readonly VerifySubject[]): VerifySummary {
  const count = (s: AttackStatus) => subjects.reduce((n, sub) => n + sub.attacks.filter((a) => a.status === s).length, 0);
  return { held: count('held'), leaked: count('leaked'), skipped: count('skipped') };
}
