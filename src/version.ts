import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/**
 * The package root (where package.json, sql/, migrations/ and the PLV8 sources are): the
 * nearest directory above this module whose package.json is pgmask's, so it holds from a
 * clone (src/version.ts) and from the built package (dist/chunk-….js) alike.
 */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'pgmask') return dir;
    if (dirname(dir) === dir) throw new Error(`pgmask's package.json not found above ${start}: the installation is incomplete`);
  }
}

/** A path inside the package: `packagePath('sql', 'fake.sql')`. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot, ...parts);
}

export const PGMASK_VERSION: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
