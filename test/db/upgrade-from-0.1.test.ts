/**
 * A database masked by pgmask 0.1 (commit 73a3808) keeps migrating: its keys become
 * version 1, the views are re-planned with the versioned key reference, and every masked
 * value stays the same (same key, same transforms). Analysts keep reading while it
 * runs (they wait for the migration's locks, and never fail), and `check` and
 * `verify` pass after it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';

const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/pgmask-0.1/${f}`, import.meta.url));

let db: TestDatabase;
let readerUrl: string;
const reader = `upg_reader_${uniqueSuffix()}`;
/** the 0.1 policy as its users ran it, with a login member of the masking role (0.1 granted it the same way) */
const policyFile = join(mkdtempSync(join(tmpdir(), 'pgmask-upgrade-')), 'policy.yaml');
beforeAll(async () => {
  db = await createTestDatabase('pgmask_upgrade01');
  readerUrl = await db.createLoginRole(reader);
  writeFileSync(policyFile, readFileSync(fixture('policy.yaml'), 'utf8').replace('members: []', `members: [${reader}]`));
  await db.query(readFileSync(fixture('schema.sql'), 'utf8'));
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(readFileSync(fixture('migrated-by-0.1.sql'), 'utf8'));
    // what 0.1's migrate did for a listed member
    await c.query(`GRANT analyst TO ${reader}`);
    await c.query(`ALTER ROLE ${reader} IN DATABASE ${db.name} SET search_path = masked`);
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
});
afterAll(async () => {
  await db?.drop();
});

/**
 * Analysts reading as fast as they can on three connections until `stop()`: every
 * read's error, the number of reads, and whether any read was seen waiting for a
 * lock (pg_locks, polled by the admin), which proves reads overlapped the upgrade.
 */
function readContinuously(): { stop: () => Promise<{ reads: number; errors: string[]; waited: boolean }> } {
  let running = true;
  let reads = 0;
  let waited = false;
  const errors: string[] = [];
  const readers = [0, 1, 2].map(async () => {
    const c = new pg.Client({ connectionString: readerUrl });
    await c.connect();
    try {
      while (running) {
        try {
          await c.query('SELECT count(*), max(mrn), max(birth_date) FROM patients');
          reads++;
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    } finally {
      await c.end();
    }
  });
  const watcher = (async () => {
    while (running) {
      const w = await db.query(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.usename = $1`, [reader]);
      if (w.rows[0].n > 0) waited = true;
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.all([...readers, watcher]);
      return { reads, errors, waited };
    },
  };
}

const maskedRows = async () => (await db.query('SELECT * FROM masked.patients ORDER BY mrn')).rows;
// noise is keyed by subject, column and value since issue 10 (averaging across rows): its values change on purpose
const withoutNoise = (rows: Record<string, unknown>[]) => rows.map(({ weight_kg: _noise, ...rest }) => rest);

describe('upgrade from pgmask 0.1', () => {
  it('applies the new own migrations and the re-planned policy; masked values do not change', async () => {
    const before = await maskedRows();
    expect(before).toHaveLength(50);
    const analysts = readContinuously();
    const r = await runPgmask(['migrate', '--policy', policyFile, '--database-url', db.url, '--json']);
    const during = await analysts.stop();
    expect(r.stderr, r.stdout).toBe('');
    expect(r.code, r.stdout).toBe(0);
    // no analyst read failed (0.1 → 0.2 once deadlocked a reader: keys altered before the views were locked)
    expect(during.errors).toEqual([]);
    expect(during.reads).toBeGreaterThan(0);
    expect(during.waited).toBe(true);
    expect(withoutNoise(await maskedRows())).toEqual(withoutNoise(before));
    const keys = await db.query<{ name: string; version: number }>('SELECT name, version FROM pgmask_private.keys');
    expect(keys.rows).toEqual([{ name: 'default', version: 1 }]);
    const def = await db.query<{ d: string }>("SELECT pg_get_viewdef('masked.patients'::regclass) AS d");
    expect(def.rows[0]!.d).toContain('k.version = 1');
    const own = await db.query<{ name: string }>('SELECT name FROM pgmask.schema_migrations ORDER BY name');
    expect(own.rows.map((x) => x.name)).toContain('0003_key_versions.sql');
    // 0.1 recorded checksums without a chain: the upgrade chains every row to the one applied before it
    const chain = (await db.query<{ sha256: string; previous_sha256: string | null }>('SELECT sha256, previous_sha256 FROM pgmask.schema_migrations ORDER BY name')).rows;
    expect(chain.map((r) => r.previous_sha256)).toEqual([null, ...chain.slice(0, -1).map((r) => r.sha256)]);
    const again = await runPgmask(['migrate', '--policy', policyFile, '--database-url', db.url, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).policy).toBe('unchanged');
  }, 240_000);

  it('check and verify pass on the upgraded database, and the analyst reads masked rows', async () => {
    const check = await runPgmask(['check', '--policy', policyFile, '--database-url', db.url]);
    expect(check.stdout).toMatch(/no drift/);
    expect(check.code).toBe(0);
    const verify = await runPgmask(['verify', '--policy', policyFile, '--database-url', db.url]);
    expect(verify.stdout).not.toMatch(/LEAKED/);
    expect(verify.code).toBe(0);
    const c = new pg.Client({ connectionString: readerUrl });
    await c.connect();
    try {
      const rows = (await c.query('SELECT mrn FROM patients')).rows;
      expect(rows).toHaveLength(50);
      expect(rows.every((x) => /^MRN-[0-9a-f]+$/.test(x.mrn))).toBe(true);
      await expect(c.query('SELECT * FROM public.patients')).rejects.toThrow(/permission denied/);
    } finally {
      await c.end();
    }
  }, 240_000);
});
