import { Option } from 'commander';
import { usageError } from '../errors.ts';

export const policyOption = () => new Option('-p, --policy <file>', 'policy file').default('./pgmask.yaml');
export const databaseUrlOption = () => new Option('-d, --database-url <url>', 'PostgreSQL connection URL (default: $DATABASE_URL)');
export const jsonOption = () => new Option('--json', 'print machine-readable JSON on stdout');
export const transformsOption = () => new Option('--transforms <dir>', "directory of custom TypeScript transforms (overrides the policy's transforms:)");

export const lockTimeoutOption = () =>
  new Option('--lock-timeout <duration>', 'the longest a statement waits for a lock held by another session (e.g. 500ms, 10s, 2min; 0: no limit), then exit 4 naming it').default('10s');

/** `500ms`, `10s`, `2min` or `0` → milliseconds; anything else is a usage error. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)$/.exec(value.trim());
  if (value.trim() === '0') return 0;
  if (!m) throw usageError('BAD_DURATION', `${flag} ${value} is not a duration`, `give a number with a unit: 500ms, 10s or 2min (0: no limit)`);
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  return Math.round(n);
}

export function requireDatabaseUrl(value: string | undefined): string {
  const url = value ?? process.env.DATABASE_URL;
  if (!url) throw usageError('NO_DATABASE_URL', 'no database to connect to', 'pass --database-url postgres://user@host/db or set DATABASE_URL');
  try {
    const u = new URL(url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('scheme');
  } catch {
    throw usageError('BAD_DATABASE_URL', 'the database URL is not a postgres:// URL', 'use the form postgres://user:password@host:5432/database');
  }
  return url;
}
