import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runPgmask, type CliRun } from '../support/cli.ts';

/** What the extract tests share: a scratch directory, empty target databases (dropped at the end), and `pgmask extract` against the file's source. */
export interface ExtractHarness {
  readonly dir: string;
  /** a new empty database to extract into */
  target(): Promise<TestDatabase>;
  /** `pgmask extract --policy FILE --database-url SOURCE ARGS` */
  extract(...args: string[]): Promise<CliRun>;
  cleanup(): Promise<void>;
}

export function extractHarness(opts: { readonly prefix: string; readonly policyFile: (dir: string) => string; readonly sourceUrl: () => string }): ExtractHarness {
  const dir = mkdtempSync(join(tmpdir(), `${opts.prefix}-`));
  const policyFile = opts.policyFile(dir);
  const targets: TestDatabase[] = [];
  return {
    dir,
    async target() {
      const t = await createTestDatabase(opts.prefix.replace(/-/g, '_'));
      targets.push(t);
      return t;
    },
    extract: (...args) => runPgmask(['extract', '--policy', policyFile, '--database-url', opts.sourceUrl(), ...args]),
    async cleanup() {
      for (const t of targets) await t.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
