/**
 * Every failure pgmask reports to a user is a PgmaskError: a stable `code`, a
 * message that says what went wrong, a hint that says what to do, and the exit
 * code the CLI uses (see ARCHITECTURE.md "Errors and exit codes").
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalidPolicy: 3,
  database: 4,
  drift: 5,
  leak: 6,
  risk: 7,
  /** Ctrl-C: the running statement was cancelled on the server and rolled back (128 + SIGINT) */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetail {
  readonly code: string;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly hint?: string;
  /** dotted path in the policy, e.g. `tables.patients.columns.mrn` */
  readonly path?: string;
  /** `file:line:column` plus a source excerpt with a caret, when known */
  readonly location?: { file: string; line: number; column: number; excerpt: string };
}

export class PgmaskError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly details: readonly ErrorDetail[];

  constructor(opts: {
    code: string;
    message: string;
    hint?: string;
    exitCode: ExitCode;
    details?: readonly ErrorDetail[];
    cause?: unknown;
  }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PgmaskError';
    this.code = opts.code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode;
    this.details = opts.details ?? [];
  }
}

export function usageError(code: string, message: string, hint?: string): PgmaskError {
  return new PgmaskError({ code, message, hint, exitCode: ExitCode.usage });
}

export function policyError(
  message: string,
  details: readonly ErrorDetail[],
  hint = 'fix the policy file and run again',
): PgmaskError {
  return new PgmaskError({ code: 'POLICY_INVALID', message, hint, exitCode: ExitCode.invalidPolicy, details });
}

/** Wraps an error raised by PostgreSQL (or the connection) into a database error. */
export function databaseError(cause: unknown, what: string, hint?: string): PgmaskError {
  if (cause instanceof PgmaskError) return cause;
  const pg = cause as { code?: string; message?: string; detail?: string; hint?: string };
  const sqlstate = typeof pg?.code === 'string' ? pg.code : undefined;
  const msg = pg?.message ?? String(cause);
  return new PgmaskError({
    code: sqlstate ? `DB_${sqlstate}` : 'DB_ERROR',
    message: `${what}: ${msg}${pg?.detail ? ` (${pg.detail})` : ''}`,
    hint: hint ?? pg?.hint ?? 'check the database URL, that the server is running, and that you connect as a role that owns the source tables; nothing was changed',
    exitCode: ExitCode.database,
    cause,
  });
}
