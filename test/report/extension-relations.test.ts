import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { extensionRelations } from '../../src/report/run-report.ts';

/**
 * The report leaves relations an extension owns out of the checklist's catalog (Citus's
 * citus_tables, citus_shards… in public). No Citus here: a table made a member of plpgsql
 * (ALTER EXTENSION … ADD TABLE) is owned by an extension the same way (pg_depend deptype 'e').
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('pgmask_ext_rel');
  await db.query(`
    CREATE TABLE public.patients (patient_id text PRIMARY KEY);
    CREATE TABLE public.citus_like (shardid bigint PRIMARY KEY);
    ALTER EXTENSION plpgsql ADD TABLE public.citus_like;`);
}, 60_000);
afterAll(async () => {
  await db?.query('ALTER EXTENSION plpgsql DROP TABLE public.citus_like').catch(() => {});
  await db?.drop();
});

describe('report: relations an extension owns are not source tables', () => {
  it('finds the extension-owned relation in the source schema, and not the source table', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect([...(await extensionRelations(client, ['public']))]).toEqual([JSON.stringify(['public', 'citus_like'])]);
      expect([...(await extensionRelations(client, ['other']))]).toEqual([]);
    } finally {
      await client.end();
    }
  });
});
