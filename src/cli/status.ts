import type { ExitCode } from '../errors.ts';

/**
 * A command that finishes but must report failure without an exception (drift
 * found, a leak found, a risk threshold missed) records the exit code here;
 * only the entry point (main.ts) turns it into the process exit code.
 */
let code: ExitCode = 0;

export function setCommandExitCode(value: ExitCode): void {
  if (value > code) code = value;
}

export function takeCommandExitCode(): ExitCode {
  const c = code;
  code = 0;
  return c;
}
