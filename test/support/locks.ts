import type pg from 'pg';

/**
 * Resolves once backend `pid` waits for a lock (a request in pg_locks not granted): a race is
 * set up by observing the wait, never by sleeping and assuming it. Gives up after `limitMs`.
 */
export async function untilWaitingForLock(observer: Pick<pg.Pool, 'query'>, pid: number, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const r = await observer.query<{ waiting: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE pid = $1 AND NOT granted) AS waiting', [pid]);
    if (r.rows[0]!.waiting) return;
    if (Date.now() > deadline) throw new Error(`backend ${pid} never waited for a lock`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
