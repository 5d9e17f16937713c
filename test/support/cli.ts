import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';

/** bin/pgmask.js, as a clone runs it (TypeScript through tsx). */
export const PGMASK_BIN = join(import.meta.dirname, '..', '..', 'bin', 'pgmask.js');

/** The CLI bundled for this test run (test/support/global-setup.ts), else bin/pgmask.js. */
export function pgmaskEntry(): string {
  return inject('cliEntry') ?? PGMASK_BIN;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `pgmask ARGS` as a user would (a new process) and returns its exit code and output: the CLI
 * bundled for this run, or bin/pgmask.js itself with `viaBin` (the tsx path of a clone).
 */
export function runPgmask(args: readonly string[], opts: { env?: Record<string, string>; timeoutMs?: number; viaBin?: boolean } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [opts.viaBin ? PGMASK_BIN : pgmaskEntry(), ...args],
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The shape of a JSON value: every key with its type, array elements merged (to pin a --json output). */
export function jsonShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [value.map(jsonShape).reduce(mergeShapes)];
  if (value === null) return 'null';
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, jsonShape(v)]));
  return typeof value;
}

function mergeShapes(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === 0 ? b : b.length === 0 ? a : [mergeShapes(a[0], b[0])];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const out: Record<string, unknown> = { ...(a as object) };
    for (const [k, v] of Object.entries(b as object)) out[k] = k in out ? mergeShapes(out[k], v) : v;
    return out;
  }
  if (a === b) return a;
  return [a, b].flat().filter((x, i, all) => all.indexOf(x) === i).sort().join('|');
}
