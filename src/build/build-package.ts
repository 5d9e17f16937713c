/**
 * `npm run build` (and `prepack`): the compiled package. The CLI and the custom-transform
 * entry are bundled by esbuild into dist/ (ESM, Node 20, dependencies left as imports;
 * every dynamic import() becomes its own chunk, so a command loads only what it uses), and
 * tsc writes the type declarations of `defineCustomTransform` to dist/types/.
 *
 * The package also ships src/transforms/ and plv8/ as TypeScript: pgmask bundles them
 * with the user's custom transforms into the PLV8 runtime at run time.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../version.ts';
import { cliBundleOptions } from './bundle-options.ts';

const dist = join(packageRoot, 'dist');
rmSync(dist, { recursive: true, force: true });
await build(cliBundleOptions({ pgmask: 'src/cli/main.ts', 'define-custom-transform': 'src/transforms/define-custom-transform.ts' }, dist));
execFileSync(
  process.execPath,
  [
    join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
    'src/transforms/define-custom-transform.ts',
    '--declaration', '--emitDeclarationOnly', '--outDir', 'dist/types',
    '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--strict', '--skipLibCheck',
  ],
  { cwd: packageRoot, stdio: 'inherit' },
);
