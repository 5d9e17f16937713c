import { PgmaskError, ExitCode, type ErrorDetail } from '../errors.ts';

/** Where commands write: stdout for results, stderr for diagnostics and progress. */
export interface Output {
  readonly json: boolean;
  out(text: string): void;
  err(text: string): void;
  /** progress lines: shown on a TTY stderr only, never in --json or when piped */
  progress(text: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    out: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    progress: (t) => {
      if (!json && process.stderr.isTTY) process.stderr.write(`${t}\n`);
    },
  };
}

/** Validation warnings, on stderr (never in --json stdout, where they are a field). */
export function reportWarnings(out: Output, warnings: readonly ErrorDetail[]): void {
  if (out.json) return;
  for (const w of warnings) out.err(formatDetail(w).replace(/^ {2}/, ''));
}

function formatDetail(d: ErrorDetail): string {
  const lines: string[] = [];
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : d.path ? `${d.path}: ` : '';
  lines.push(`  ${d.severity}[${d.code}]: ${where}${d.message}`);
  if (d.location?.excerpt) lines.push(...d.location.excerpt.split('\n').map((l) => `    ${l}`));
  if (d.hint) lines.push(`    hint: ${d.hint}`);
  return lines.join('\n');
}

/** `error[CODE]: message`, the details, the hint — or the same as JSON. Returns the exit code. */
export function reportError(error: unknown, json: boolean): number {
  const e =
    error instanceof PgmaskError
      ? error
      : new PgmaskError({
          code: 'INTERNAL',
          message: error instanceof Error ? error.message : String(error),
          hint: 'this is a bug in pgmask; please report it with the command you ran',
          exitCode: ExitCode.internal,
          cause: error,
        });
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ok: false, error: { code: e.code, message: e.message, hint: e.hint ?? null, exitCode: e.exitCode, details: e.details } }, null, 2)}\n`,
    );
  } else {
    const lines = [`error[${e.code}]: ${e.message}`];
    for (const d of e.details) lines.push(formatDetail(d));
    if (e.hint) lines.push(`hint: ${e.hint}`);
    if (e.exitCode === ExitCode.internal && error instanceof Error && error.stack && process.env.PGMASK_DEBUG) lines.push(error.stack);
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  return e.exitCode;
}
