#!/usr/bin/env node
// The published package runs the compiled dist/ (npm run build, which npm pack runs first).
// A clone (tsconfig.json next to package.json) runs the TypeScript source through tsx: no
// build step after `npm ci`; PGMASK_FROM_DIST=1 runs a clone's dist/ instead.
import { existsSync } from 'node:fs';

// `pgmask generate | head`: a reader that stops early is not an error; carry on and clean up (e.g. the demo's server)
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

const fromSource = existsSync(new URL('../tsconfig.json', import.meta.url)) && !process.env.PGMASK_FROM_DIST;
let main;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  ({ main } = await import('../dist/pgmask.js'));
}
process.exitCode = await main(process.argv);
