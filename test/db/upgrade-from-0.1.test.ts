/**
 * A database masked by pgmask 0.1 (commit 73a3808) keeps migrating: its keys become
 * version 1, the views are re-planned with the versioned key reference, and every masked
 * value stays the same (same key, same transforms).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';

const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/pgmask-0.1/${f}`, import.meta.url));

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('pgmask_upgrade01');
  await db.query(readFileSync(fixture('schema.sql'), 'utf8'));
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(readFileSync(fixture('migrated-by-0.1.sql'), 'utf8'));
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
});
afterAll(async () => {
  await db?.drop();
});

const maskedRows = async () => (await db.query('SELECT * FROM masked.patients ORDER BY mrn')).rows;
// noise is keyed by subject, column and value since issue 10 (averaging across rows): its values change on purpose
const withoutNoise = (rows: Record<string, unknown>[]) => rows.map(({ weight_kg: _noise, ...rest }) => rest);

describe('upgrade from pgmask 0.1', () => {
  it('applies the new own migrations and the re-planned policy; masked values do not change', async () => {
    const before = await maskedRows();
    expect(before).toHaveLength(50);
    const r = await runPgmask(['migrate', '--policy', fixture('policy.yaml'), '--database-url', db.url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
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
    const again = await runPgmask(['migrate', '--policy', fixture('policy.yaml'), '--database-url', db.url, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).policy).toBe('unchanged');
  }, 240_000);
});
