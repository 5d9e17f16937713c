import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const PGMASK_BIN = join(import.meta.dirname, '..', '..', 'bin', 'pgmask.js');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `pgmask ARGS` as a user would (a new process through bin/pgmask.js) and returns its exit code and output. */
export function runPgmask(args: readonly string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PGMASK_BIN, ...args],
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
