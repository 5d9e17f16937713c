import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { MIGRATION_LOCK_KEY } from '../../src/db/migrate.ts';
import { pgmaskEntry } from '../support/cli.ts';
import { queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { patientsDatabase, patientsPolicy, type PatientsFixture } from '../support/patients-fixture.ts';

/**
 * Lock safety (issue 13): an analyst transaction holds a lock on a masked view; migrate waits
 * for it at most --lock-timeout without making other readers queue behind it, then exits 4
 * naming the analyst's session, with nothing changed; Ctrl-C stops the wait and rolls back
 * (exit 130). The broken setup: a plain lock request in the queue, behind which readers wait.
 */
const s = uniqueSuffix();
const ANALYST = `lock_analyst_${s}`;
const READER = `lock_reader_${s}`;
// visits is materialized: refresh's CLUSTER needs ACCESS EXCLUSIVE on it
const VISITS = `  visits:
    materialize: true
    columns:
      visit_id: pseudonymize
      patient_id: pseudonymize
`;
const policy = (noise: number) => patientsPolicy({ role: ANALYST, members: [READER], weight: `{ noise: { relative: ${noise} } }`, moreTables: VISITS });

let fixture: PatientsFixture;
let db: TestDatabase;
let dir: string;
let readerUrl: string;
let analyst: pg.Client;
let analystPid: number;

beforeAll(async () => {
  fixture = await patientsDatabase('pgmask_locks');
  ({ db, dir } = fixture);
  readerUrl = await db.createLoginRole(READER);
  db.trackRole(ANALYST);
  await db.query(`CREATE TABLE public.visits (visit_id bigint PRIMARY KEY, patient_id text NOT NULL);
INSERT INTO public.visits VALUES (1, 'P1'), (2, 'P2')`);
  await applyPolicy(db.url, policy(0.05));
  // the analyst's open transaction holds ACCESS SHARE on the view; replacing the view needs ACCESS EXCLUSIVE
  analyst = new pg.Client({ connectionString: readerUrl, application_name: 'metabase' });
  await analyst.connect();
  await analyst.query('BEGIN');
  await analyst.query('SELECT count(*) FROM masked.patients');
  await analyst.query('SELECT count(*) FROM masked.visits');
  analystPid = (await analyst.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
});

afterAll(async () => {
  await analyst?.end().catch(() => {});
  await fixture?.drop();
});

interface Running {
  readonly child: ReturnType<typeof spawn>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** stderr so far */
  stderr(): string;
}

function startMigrate(...flags: string[]): Running {
  return startPgmask('migrate', policy(0.09), ...flags);
}

function startPgmask(command: string, text: string, ...flags: string[]): Running {
  const file = join(dir, `${command}.yaml`);
  writeFileSync(file, text);
  const child = spawn(process.execPath, [pgmaskEntry(), command, '--policy', file, '--database-url', db.url, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

/** Backends of `application` in this database waiting for a lock (pg_locks: a request not granted). */
async function waiting(application: string): Promise<number[]> {
  const r = await db.query<{ pid: number }>(
    `SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE NOT l.granted AND a.application_name = $1 AND a.datname = current_database()`,
    [application],
  );
  return r.rows.map((x) => x.pid);
}

/** Resolves once `check` holds, looking again every 25 ms (what is awaited is observed, never assumed after a delay). */
async function until<T>(check: () => Promise<T | undefined>, what: string, gaveUp?: () => Promise<string | undefined>): Promise<T> {
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    const why = await gaveUp?.();
    if (why !== undefined) throw new Error(`${what} never happened: ${why}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves once migrate says on stderr that it waits for the analyst's lock. */
async function seenWaiting(run: Running): Promise<void> {
  let exited: string | undefined;
  void run.done.then((r) => (exited = `migrate exited ${r.code}: ${r.stderr}`));
  await until(async () => (run.stderr().includes(`waiting for the masked views, in use by pid ${analystPid}`) ? true : undefined), 'migrate waiting', async () => exited);
}

async function appliedState(): Promise<unknown> {
  return (
    await db.query(`SELECT (SELECT count(*)::int FROM pgmask.applied_policies) AS applied,
      col_description('masked.patients'::regclass, 2) AS rule`)
  ).rows[0];
}

const READ = 'SELECT count(*)::int AS n FROM masked.patients';

describe('migrate behind an analyst transaction', () => {
  it('a lock request in the queue makes every later reader wait (the broken setup: a plain ALTER VIEW)', async () => {
    const plain = new pg.Client({ connectionString: db.url, application_name: 'plain ddl' });
    await plain.connect();
    try {
      await plain.query('BEGIN');
      const ddl = plain.query('ALTER VIEW masked.patients OWNER TO pgmask_owner').catch((e: Error) => e);
      await until(async () => ((await waiting('plain ddl')).length > 0 ? true : undefined), 'the plain ALTER VIEW queued');
      const reader = new pg.Client({ connectionString: readerUrl, application_name: 'second analyst' });
      await reader.connect();
      const read = reader.query(READ);
      // the second analyst queues behind the waiting ALTER, not behind the first analyst
      await until(async () => ((await waiting('second analyst')).length > 0 ? true : undefined), 'the second analyst queued');
      await db.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'plain ddl'");
      expect(String(await ddl)).toMatch(/canceling statement/);
      expect((await read).rows).toEqual([{ n: 3 }]);
      await reader.end();
    } finally {
      await plain.end();
    }
  });

  it('migrate waits without making readers queue, then gives up after --lock-timeout with exit 4 naming the holder; nothing changed', async () => {
    const before = await appliedState();
    const run = startMigrate('--lock-timeout', '2s');
    await seenWaiting(run);
    // a second analyst reads while migrate waits for the first one
    expect(await queryAs(readerUrl, READ)).toEqual([{ n: 3 }]);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('error[LOCK_TIMEOUT]: migrate waited 2s for a lock and gave up; it was held by ');
    expect(r.stderr).toContain(`pid ${analystPid}, user ${READER}, application metabase, idle in transaction`);
    expect(r.stderr).toContain('last query: SELECT pg_backend_pid() AS pid');
    expect(r.stderr).toContain(`pg_terminate_backend(${analystPid})`);
    expect(await appliedState()).toEqual(before);
  });

  it('Ctrl-C while it waits: exit 130, rolled back, and no backend of pgmask left (pg_stat_activity)', async () => {
    const before = await appliedState();
    const run = startMigrate('--lock-timeout', '0');
    await seenWaiting(run);
    // migrate's sessions: the one holding the migration lock (advisory) and its lock monitor
    const sessions = (
      await db.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         UNION SELECT pid FROM pg_stat_activity WHERE application_name = 'pgmask (lock monitor)' AND datname = current_database()`,
      )
    ).rows.map((x) => x.pid);
    run.child.kill('SIGINT');
    expect(sessions.length).toBeGreaterThan(0);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('error[INTERRUPTED]: migrate was interrupted (Ctrl-C)');
    expect(r.stderr).toContain('the whole migration was rolled back');
    // a closed connection's backend exits on its own: wait for it to be gone, as pg_stat_activity shows
    await until(
      async () => ((await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [sessions])).rowCount === 0 ? true : undefined),
      'pgmask backends gone',
    );
    expect(await appliedState()).toEqual(before);
  });

  it('Ctrl-C during a statement waiting in the lock queue (another migrate holds the migration lock) cancels it on the server', async () => {
    const other = new pg.Client({ connectionString: db.url, application_name: 'other migrate' });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      const run = startMigrate('--lock-timeout', '0');
      let exited: string | undefined;
      void run.done.then((r) => (exited = r.stderr));
      const [pid] = await until(async () => {
        const pids = await waiting('pgmask');
        return pids.length > 0 ? pids : undefined;
      }, 'migrate queued for the migration lock', async () => exited);
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain('error[INTERRUPTED]: migrate was interrupted (Ctrl-C): the running statement was cancelled on the server');
      // cancelled, not left queued behind the other migrate
      expect(await waiting('pgmask')).not.toContain(pid);
    } finally {
      await other.end();
    }
  });

  it('refresh behind the analyst (CLUSTER needs ACCESS EXCLUSIVE) gives up after --lock-timeout with exit 4 naming the holder', async () => {
    const r = await startPgmask('refresh', policy(0.05), '--lock-timeout', '1s').done;
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('error[LOCK_TIMEOUT]: refresh waited 1s for a lock and gave up; it was held by ');
    expect(r.stderr).toContain(`pid ${analystPid}, user ${READER}, application metabase, idle in transaction`);
    expect(r.stderr).toContain('the refresh it was running was rolled back');
  });

  it('when the analyst ends the transaction, the waiting migrate applies', async () => {
    const run = startMigrate('--lock-timeout', '60s');
    await seenWaiting(run);
    await analyst.query('COMMIT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('weight_kg: { noise: { relative: 0.05 } } → { noise: { relative: 0.09 } }');
  });
});
