import type { TestProject } from 'vitest/node';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import pg from 'pg';
import { packageRoot } from '../../src/version.ts';
import { cliBundleOptions } from '../../src/build/bundle-options.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.ts';
import { redactUrl } from '../../src/db/connection.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    serverLabel: string;
    plv8Available: boolean;
    /** the CLI bundled for this run (test/support/cli-entry.ts), run by runPgmask */
    cliEntry: string;
  }
}

let server: EmbeddedServer | undefined;
let cliDir: string | undefined;

/**
 * Bundles the CLI once for the run, under the package root (so its package root, sql/ and
 * migrations/ are found as from dist/) in a directory of its own (runs in parallel do not clash).
 */
async function bundleCli(): Promise<string> {
  cliDir = join(packageRoot, '.pgmask-tmp', `test-cli-${process.pid}`);
  rmSync(cliDir, { recursive: true, force: true });
  mkdirSync(cliDir, { recursive: true });
  await build(cliBundleOptions({ pgmask: 'test/support/cli-entry.ts' }, cliDir));

  return join(cliDir, 'pgmask.js');
}

/** One PostgreSQL for the whole run: DATABASE_URL when set, otherwise an embedded server. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  let origin: string;
  if (url) {
    origin = `DATABASE_URL ${redactUrl(url)}`;
  } else {
    server = await startEmbeddedPostgres();
    url = server.url;
    origin = `embedded PostgreSQL on port ${server.port}`;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const plv8 = (await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'plv8'")).rowCount! > 0;
  await client.end();
  const label = `PostgreSQL ${version} (${origin}); PLV8 ${plv8 ? 'available: PLV8 suites run on the real server' : 'absent: PLV8 suites run the compiled install SQL in the sandbox'}`;
  process.stdout.write(`\n[pgmask tests] ${label}\n\n`);
  project.provide('adminUrl', url);
  project.provide('serverLabel', label);
  project.provide('plv8Available', plv8);
  project.provide('cliEntry', await bundleCli());
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
}
