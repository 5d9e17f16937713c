import { Option } from 'commander';
import { usageError } from '../errors.ts';

export const policyOption = () => new Option('-p, --policy <file>', 'policy file').default('./pgmask.yaml');
export const databaseUrlOption = () => new Option('-d, --database-url <url>', 'PostgreSQL connection URL (default: $DATABASE_URL)');
export const jsonOption = () => new Option('--json', 'print machine-readable JSON on stdout');
export const transformsOption = () => new Option('--transforms <dir>', "directory of custom TypeScript transforms (overrides the policy's transforms:)");

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
