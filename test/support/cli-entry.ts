// The CLI as the tests run it: src/cli/main.ts bundled once per test run by esbuild (test/support/global-setup.ts),
// like the published package's dist/, so a test's `pgmask …` process starts in ~0.3 s instead of compiling the
// TypeScript through tsx each time. bin/pgmask.js itself (the tsx path of a clone) keeps tests of its own.
import { main } from '../../src/cli/main.ts';

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}
process.exitCode = await main(process.argv);
