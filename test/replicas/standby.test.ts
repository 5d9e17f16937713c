import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownServersSkipped } from '../support/local-cluster.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runPgmask } from '../support/cli.ts';
import { localBinaries, rowsAt, startLocalServer, startStandby, waitForReplay, type LocalServer } from '../support/local-cluster.ts';
import { createClinicalSchema, loadClinicalData } from '../../src/demo/synthetic.ts';

/**
 * Issue 15: masked views and materialized masking served from a physical streaming
 * standby. pgmask migrates and refreshes on the primary; the standby replays it; the
 * analyst reads the standby; verify, check, report and status run against the
 * standby, with the attacks that must create objects skipped there and said so.
 */
const bins = localBinaries();
let primary: LocalServer;
let standby: LocalServer;
let method: string;
const dir = mkdtempSync(join(tmpdir(), 'pgmask-standby-'));
const policyFile = join(dir, 'clinic.yaml');

// encounters are served from a materialized view, the rest from dynamic views
const policy = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'clinic.yaml'), 'utf8')
  .replace('runtime: auto', 'runtime: sql')
  .replace('  encounters:\n', '  encounters:\n    materialize: true\n');

const rows = rowsAt;

const asReader = (server: LocalServer, text: string) => rows(server.url('clinic', 'metabase_reader'), text);
const PATIENTS = 'SELECT * FROM patients ORDER BY patient_id';
const ENCOUNTERS = 'SELECT * FROM encounters ORDER BY encounter_id';

/** The demo clinic in database `clinic` of `server`, its login member, and the policy migrated. */
async function maskedClinic(server: LocalServer, scale: number): Promise<void> {
  await rows(server.url(), 'CREATE DATABASE clinic');
  await rows(server.url(), 'CREATE ROLE metabase_reader LOGIN');
  const c = new pg.Client({ connectionString: server.url('clinic') });
  await c.connect();
  try {
    await createClinicalSchema(c);
    await loadClinicalData(c, { scale, seed: 5 });
  } finally {
    await c.end();
  }
  const migrated = await runPgmask(['migrate', '--policy', policyFile, '--database-url', server.url('clinic')]);
  expect(migrated.code, migrated.stderr).toBe(0);
}

describe.skipIf(ownServersSkipped)('replicas: streaming standby (own servers)', () => {
  beforeAll(async () => {
    writeFileSync(policyFile, policy);
    primary = await startLocalServer();
    await maskedClinic(primary, 400);
    ({ standby, method } = await startStandby(primary));
    await waitForReplay(primary, standby);
    process.stdout.write(`[standby] ${bins.source} binaries (${bins.binDir}), standby made by ${method}\n`);
  }, 240_000);
  afterAll(async () => {
    await standby?.stop();
    await primary?.stop();
  });

  describe('a streaming standby serves the masked views', () => {
    it('is a standby, and the member reads the same masked rows there as on the primary (views and a materialized view)', async () => {
      expect(await rows(standby.url('clinic'), 'SELECT pg_is_in_recovery() AS r')).toEqual([{ r: true }]);
      const onPrimary = await asReader(primary, PATIENTS);
      expect(onPrimary.length).toBeGreaterThan(20);
      expect(await asReader(standby, PATIENTS)).toEqual(onPrimary);
      expect(await asReader(standby, ENCOUNTERS)).toEqual(await asReader(primary, ENCOUNTERS));
      await expect(asReader(standby, 'SELECT * FROM public.patients')).rejects.toThrow(/permission denied/);
    });

    it('refresh runs on the primary; the standby shows the new masked rows after replay', async () => {
      const before = (await asReader(standby, 'SELECT count(*)::int AS n FROM encounters'))[0]!.n as number;
      await rows(
        primary.url('clinic'),
        `INSERT INTO encounters (encounter_id, patient_id, admitted_at, discharged_at, department, reason)
         SELECT 900000 + row_number() OVER (), p.patient_id, now(), now(), 'cardiology', 'check-up' FROM (SELECT patient_id FROM patients WHERE NOT research_opt_out LIMIT 5) p, generate_series(1, 2) g`,
      );
      const refreshed = await runPgmask(['refresh', '--policy', policyFile, '--database-url', primary.url('clinic')]);
      expect(refreshed.code, refreshed.stderr).toBe(0);
      await waitForReplay(primary, standby);
      expect((await asReader(standby, 'SELECT count(*)::int AS n FROM encounters'))[0]!.n).toBe(before + 10);
      expect(await asReader(standby, ENCOUNTERS)).toEqual(await asReader(primary, ENCOUNTERS));
      // refresh on the standby is refused by the server (read-only), with pgmask's database exit code
      const onStandby = await runPgmask(['refresh', '--policy', policyFile, '--database-url', standby.url('clinic')]);
      expect(onStandby.code).toBe(4);
      expect(onStandby.stderr).toMatch(/read-only|recovery/);
    });

    it('verify against the standby exits 0 and lists the attacks it skipped there (they create objects)', async () => {
      const r = await runPgmask(['verify', '--policy', policyFile, '--database-url', standby.url('clinic'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.standby).toBe(true);
      expect(report.summary.leaked).toBe(0);
      const skipped = report.subjects.flatMap((s: { attacks: { id: string; status: string; evidence: string }[] }) => s.attacks.filter((a) => a.status === 'skipped'));
      expect(skipped.length).toBeGreaterThan(0);
      for (const a of skipped) expect(a.evidence).toMatch(/^on a standby \(read-only\): /);
      // the reads still ran: source reads refused, masked views held
      const ids = new Set(report.subjects[0].attacks.filter((a: { status: string }) => a.status === 'held').map((a: { id: string }) => a.id));
      for (const id of ['source-read', 'keys-read', 'row-order', 'averaging']) expect(ids.has(id), id).toBe(true);
      const text = await runPgmask(['verify', '--policy', policyFile, '--database-url', standby.url('clinic')]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/on a standby: \d+ attack\(s\) that create objects were skipped; run pgmask verify on the primary for them/);
    });

    it('a broken setup replicates too: a raw table granted on the primary is caught by verify on the standby (exit 6)', async () => {
      await rows(primary.url('clinic'), 'GRANT SELECT ON public.patients TO metabase_reader');
      try {
        await waitForReplay(primary, standby);
        const r = await runPgmask(['verify', '--policy', policyFile, '--database-url', standby.url('clinic'), '--role', 'metabase_reader']);
        expect(r.code).toBe(6);
        expect(r.stdout).toMatch(/LEAKED {2}source-read: .*public\.patients/);
      } finally {
        await rows(primary.url('clinic'), 'REVOKE SELECT ON public.patients FROM metabase_reader');
        await waitForReplay(primary, standby);
      }
    });

    it('check, status and report run against the standby', async () => {
      const check = await runPgmask(['check', '--policy', policyFile, '--database-url', standby.url('clinic')]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const status = await runPgmask(['status', '--policy', policyFile, '--database-url', standby.url('clinic')]);
      expect(status.code, status.stderr).toBe(0);
      const report = await runPgmask(['report', '--policy', policyFile, '--database-url', standby.url('clinic'), '--json']);
      expect(report.code, report.stderr).toBe(0);
      expect(JSON.parse(report.stdout).risk.tables.length).toBeGreaterThan(0);
    });
  });

  describe('without pg_basebackup (the embedded binaries): a low-level base backup', () => {
    it('makes a standby that serves the same masked rows', async () => {
      const p = await startLocalServer({ binaries: 'embedded' });
      let s: LocalServer | undefined;
      try {
        await maskedClinic(p, 100);
        const made = await startStandby(p);
        s = made.standby;
        expect(made.method).toBe(localBinaries('embedded').hasBasebackup ? 'pg_basebackup' : 'low-level base backup');
        await waitForReplay(p, s);
        expect(await rows(s.url('clinic'), 'SELECT pg_is_in_recovery() AS r')).toEqual([{ r: true }]);
        expect(await asReader(s, ENCOUNTERS)).toEqual(await asReader(p, ENCOUNTERS));
      } finally {
        await s?.stop();
        await p.stop();
      }
    }, 240_000);
  });
});
