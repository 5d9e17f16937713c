#!/usr/bin/env node
// pgmask is written in TypeScript and runs from source through tsx: no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
