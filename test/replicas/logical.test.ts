import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownServersSkipped } from '../support/local-cluster.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runPgmask } from '../support/cli.ts';
import { rowsAt, startLocalServer, type LocalServer } from '../support/local-cluster.ts';
import { createClinicalSchema, loadClinicalData } from '../../src/demo/synthetic.ts';

/**
 * Issue 15, docs/replicas.md "A masked analytics server fed by logical replication",
 * step by step on two servers: the clinical primary publishes its raw tables; the
 * analytics server subscribes into the same schema and table names (logical replication
 * matches tables by qualified name; a schema of another name receives nothing), locked
 * down there, imports the primary's key and masks them with the same policy. The analyst sees byte-identical masked
 * rows on both servers, and the raw tables on neither; after new rows replicate,
 * `pgmask refresh` on the analytics server shows them in its materialized table.
 */
let primary: LocalServer;
let analytics: LocalServer;
const dir = mkdtempSync(join(tmpdir(), 'pgmask-logical-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const clinic = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'clinic.yaml'), 'utf8')
  .replace('runtime: auto', 'runtime: sql')
  .replace('  encounters:\n', '  encounters:\n    materialize: true\n');
const onPrimary = file('primary.yaml', clinic);
const onAnalytics = file('analytics.yaml', clinic);
const passphrase = file('pass', 'a passphrase only the two DBAs know\n');

const rows = rowsAt;
const asReader = (server: LocalServer, text: string) => rows(server.url('clinic', 'metabase_reader'), text);

/** Waits until every subscribed table is synchronized and the subscriber has applied what the primary wrote. */
async function waitForSync(): Promise<void> {
  const target = (await rows(primary.url('clinic'), 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn as string;
  for (let i = 0; i < 1200; i++) {
    const ready = await rows(
      analytics.url('clinic'),
      `SELECT (SELECT bool_and(srsubstate = 'r') FROM pg_subscription_rel) AND
              coalesce((SELECT bool_and(latest_end_lsn >= '${target}'::pg_lsn) FROM pg_stat_subscription WHERE relid IS NULL), false) AS ok,
              pg_sleep(0.05)`,
    );
    if (ready[0]!.ok) return;
  }
  throw new Error(`the subscription did not catch up with ${target}`);
}

describe.skipIf(ownServersSkipped)('replicas: logical replication (own servers)', () => {
  beforeAll(async () => {
    [primary, analytics] = await Promise.all([startLocalServer(), startLocalServer()]);
    for (const server of [primary, analytics]) {
      await rows(server.url(), 'CREATE DATABASE clinic');
      await rows(server.url(), 'CREATE ROLE metabase_reader LOGIN');
    }
    const p = new pg.Client({ connectionString: primary.url('clinic') });
    const a = new pg.Client({ connectionString: analytics.url('clinic') });
    await p.connect();
    await a.connect();
    try {
      await createClinicalSchema(p);
      await loadClinicalData(p, { scale: 300, seed: 3 });
      await p.query('CREATE PUBLICATION clinical FOR TABLE public.patients, public.encounters, public.observations, public.notes');
      // step 2: the same tables under the same names, locked down (PostgreSQL 15+ gives PUBLIC no CREATE on
      // public; USAGE goes too), then the subscription
      await createClinicalSchema(a);
      await a.query('REVOKE ALL ON SCHEMA public FROM PUBLIC; REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC');
      await a.query(`CREATE SUBSCRIPTION clinical CONNECTION 'host=127.0.0.1 port=${primary.port} user=postgres dbname=clinic' PUBLICATION clinical`);
    } finally {
      await p.end();
      await a.end();
    }
    await waitForSync();
    // step 3: the primary's key, then migrate on the analytics server
    expect((await runPgmask(['migrate', '--policy', onPrimary, '--database-url', primary.url('clinic')])).code).toBe(0);
    const exported = join(dir, 'default.asc');
    expect((await runPgmask(['keys', 'export', 'default', '--out', exported, '--passphrase-file', passphrase, '--database-url', primary.url('clinic')])).code).toBe(0);
    const migrated = await runPgmask(['migrate', '--policy', onAnalytics, '--database-url', analytics.url('clinic')]);
    expect(migrated.code, migrated.stderr).toBe(0);
    const imported = await runPgmask(['keys', 'import', exported, '--passphrase-file', passphrase, '--replace', '--database-url', analytics.url('clinic')]);
    expect(imported.code, imported.stderr).toBe(0);
    expect((await runPgmask(['migrate', '--policy', onAnalytics, '--database-url', analytics.url('clinic')])).code).toBe(0);
    expect((await runPgmask(['refresh', '--policy', onAnalytics, '--database-url', analytics.url('clinic')])).code).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await analytics?.stop();
    await primary?.stop();
  });

  describe('a masked analytics server fed by logical replication', () => {
    it('the analyst reads byte-identical masked rows on the analytics server and on the primary, and no raw table on either', async () => {
      for (const query of ['SELECT * FROM patients ORDER BY patient_id', 'SELECT * FROM encounters ORDER BY encounter_id', 'SELECT * FROM observations ORDER BY observation_id']) {
        const expected = await asReader(primary, query);
        expect(expected.length).toBeGreaterThan(10);
        expect(await asReader(analytics, query), query).toEqual(expected);
      }
      await expect(asReader(analytics, 'SELECT * FROM public.patients')).rejects.toThrow(/permission denied/);
      await expect(asReader(primary, 'SELECT * FROM public.patients')).rejects.toThrow(/permission denied/);
    });

    it('rows added on the primary reach the analyst after the subscription applies them and pgmask refresh runs', async () => {
      const count = async () => (await asReader(analytics, 'SELECT count(*)::int AS n FROM encounters'))[0]!.n as number;
      const before = await count();
      await rows(
        primary.url('clinic'),
        `INSERT INTO encounters (encounter_id, patient_id, admitted_at, discharged_at, department, reason)
         SELECT 800000 + row_number() OVER (), patient_id, now(), now(), 'oncology', 'follow-up' FROM (SELECT patient_id FROM patients WHERE NOT research_opt_out LIMIT 4) p`,
      );
      await waitForSync();
      // the subscription applied the rows to raw, but a materialized table shows them only after refresh
      expect(await count()).toBe(before);
      expect((await runPgmask(['refresh', '--policy', onAnalytics, '--database-url', analytics.url('clinic')])).code).toBe(0);
      expect(await count()).toBe(before + 4);
    });

    it('verify and check pass on the analytics server', async () => {
      const check = await runPgmask(['check', '--policy', onAnalytics, '--database-url', analytics.url('clinic')]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const verify = await runPgmask(['verify', '--policy', onAnalytics, '--database-url', analytics.url('clinic')]);
      expect(verify.stdout).not.toMatch(/LEAKED/);
      expect(verify.code).toBe(0);
    });
  });
});
