import type { BuildOptions } from 'esbuild';
import { packageRoot } from '../version.ts';

/**
 * How pgmask's CLI is bundled, for the package (dist/) and for the test run's CLI alike: ESM for
 * Node 20, dependencies left as imports, each dynamic import() its own chunk (a command loads
 * only what it uses).
 */
export function cliBundleOptions(entryPoints: Record<string, string>, outdir: string): BuildOptions {
  return {
    absWorkingDir: packageRoot,
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
  };
}
