import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { PGMASK_BIN } from '../support/cli.ts';
import { uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { patientsDatabase, patientsPolicy, type PatientsFixture } from '../support/patients-fixture.ts';

/**
 * Lock safety (issue 13): an analyst transaction holds a lock on a masked view; migrate waits
 * for it at most --lock-timeout, then exits 4 naming the analyst's session, with nothing
 * changed; Ctrl-C cancels the wait on the server (exit 130), where a killed process would
 * leave its backend queued for the lock.
 */
const s = uniqueSuffix();
const ANALYST = `lock_analyst_${s}`;
const READER = `lock_reader_${s}`;
const policy = (noise: number) => patientsPolicy({ role: ANALYST, members: [READER], weight: `{ noise: { relative: ${noise} } }` });

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
  await applyPolicy(db.url, policy(0.05));
  // the analyst's open transaction holds ACCESS SHARE on the view; replacing the view needs ACCESS EXCLUSIVE
  analyst = new pg.Client({ connectionString: readerUrl, application_name: 'metabase' });
  await analyst.connect();
  await analyst.query('BEGIN');
  await analyst.query('SELECT count(*) FROM masked.patients');
  analystPid = (await analyst.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
});

afterAll(async () => {
  await analyst?.end().catch(() => {});
  await fixture?.drop();
});

interface Running {
  readonly child: ReturnType<typeof spawn>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startMigrate(...flags: string[]): Running {
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, policy(0.09));
  const child = spawn(process.execPath, [PGMASK_BIN, 'migrate', '--policy', file, '--database-url', db.url, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** pgmask's backends in this database waiting for a lock (pg_locks: a request not granted). */
async function waitingPgmaskBackends(): Promise<number[]> {
  const r = await db.query<{ pid: number }>(
    `SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE NOT l.granted AND a.application_name = 'pgmask' AND a.datname = current_database()`,
  );
  return r.rows.map((x) => x.pid);
}

/** Resolves once migrate's backend is seen queued for a lock (detected in pg_locks, not assumed after a delay). */
async function seenWaiting(run: Running): Promise<number> {
  let exited = false;
  void run.done.then(() => (exited = true));
  for (;;) {
    const pids = await waitingPgmaskBackends();
    if (pids.length > 0) return pids[0]!;
    if (exited) throw new Error(`migrate exited before it waited for a lock: ${(await run.done).stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function appliedState(): Promise<unknown> {
  return (
    await db.query(`SELECT (SELECT count(*)::int FROM pgmask.applied_policies) AS applied,
      col_description('masked.patients'::regclass, 2) AS rule`)
  ).rows[0];
}

describe('migrate behind an analyst transaction', () => {
  it('gives up after --lock-timeout with exit 4, naming the session that holds the lock; nothing changed', async () => {
    const before = await appliedState();
    const run = startMigrate('--lock-timeout', '2s');
    await seenWaiting(run);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('error[LOCK_TIMEOUT]: migrate waited 2s for a lock and gave up; it was held by ');
    expect(r.stderr).toContain(`pid ${analystPid}, user ${READER}, application metabase, idle in transaction`);
    expect(r.stderr).toContain('last query: SELECT pg_backend_pid() AS pid');
    expect(r.stderr).toContain(`pg_terminate_backend(${analystPid})`);
    expect(await appliedState()).toEqual(before);
    expect(await waitingPgmaskBackends()).toEqual([]);
  });

  it('Ctrl-C cancels the wait on the server and exits 130; a killed process (the broken setup) leaves its backend queued', async () => {
    const before = await appliedState();
    const killed = startMigrate('--lock-timeout', '0');
    const orphan = await seenWaiting(killed);
    killed.child.kill('SIGKILL');
    await killed.done;
    // the server does not notice the client is gone while the backend waits for a lock
    expect(await waitingPgmaskBackends()).toEqual([orphan]);
    // (with a timeout, pg_terminate_backend returns once the backend is gone)
    await db.query('SELECT pg_terminate_backend($1, 10000)', [orphan]);

    const run = startMigrate('--lock-timeout', '0');
    await seenWaiting(run);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('error[INTERRUPTED]: migrate was interrupted (Ctrl-C): the running statement was cancelled on the server');
    expect(r.stderr).toContain('the whole migration was rolled back');
    expect(await waitingPgmaskBackends()).toEqual([]);
    expect(await appliedState()).toEqual(before);
  });
});
