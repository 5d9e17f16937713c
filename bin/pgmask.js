#!/usr/bin/env node
// pgmask is written in TypeScript and runs from source through tsx: no build step after `npm ci`.
import { register } from 'tsx/esm/api';

// `pgmask generate | head`: a reader that stops early is not an error; carry on and clean up (e.g. the demo's server)
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
