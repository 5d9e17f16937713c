import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The package root (where package.json, sql/ and migrations/ are), from a clone or an npm install. */
export const packageRoot: string = join(dirname(fileURLToPath(import.meta.url)), '..');

export const PGMASK_VERSION: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
