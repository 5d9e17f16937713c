import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { AttackSession } from '../../src/verify/attack-session.ts';
import { copyDistributedTables } from '../../src/verify/citus-attacks.ts';
import { citusMaskingSubject } from '../../src/verify/verify.ts';
import type { VerifyFacts } from '../../src/verify/verify-facts.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { ident, sql } from '../../src/sql/index.ts';
import { query } from '../../src/db/query.ts';
import { citusClinicSnapshot } from '../plan/citus-fixture.ts';

/**
 * verify on Citus, on plain PostgreSQL where the attack itself is plain SQL (no Citus here:
 * docs/scale.md). citus-copy COPYs the raw tables as the analyst, table and query form, after
 * a control COPY of a masked table the analyst may read: held on the correct setup, leaked on
 * a broken one (a grant reaching the raw table, which on Citus is the shard's grant on a
 * worker), skipped, never held, when the control could not run either.
 */
let db: TestDatabase;
const role = `cc_analyst_${uniqueSuffix()}`;
const RAW = ident('public', 'patients');
const MASKED = ident('masked', 'patients');

beforeAll(async () => {
  db = await createTestDatabase('pgmask_citus_copy');
  db.trackRole(role);
  await db.query(sql`CREATE ROLE ${ident(role)} NOLOGIN`);
  await db.query(`
    CREATE TABLE public.patients (patient_id text PRIMARY KEY, mrn text);
    INSERT INTO public.patients VALUES ('p1', 'MRN-1'), ('p2', 'MRN-2');
    CREATE SCHEMA masked;
    CREATE TABLE masked.patients (patient_id text PRIMARY KEY, mrn text);
    INSERT INTO masked.patients VALUES ('x9f', 'MRN-a1'), ('k2c', 'MRN-b7');`);
  await db.query(sql`GRANT USAGE ON SCHEMA masked TO ${ident(role)}`);
  await db.query(sql`GRANT SELECT ON masked.patients TO ${ident(role)}`);
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

/** The attack in a rolled-back transaction as the analyst (SET ROLE by the superuser), like verify's sessions. */
async function asAnalyst<T>(fn: (s: AttackSession, couldNotRun: string[]) => Promise<T>, before?: (c: pg.Client) => Promise<void>): Promise<T> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await query(client, sql`BEGIN`);
    await before?.(client);
    await query(client, sql`SET LOCAL ROLE ${ident(role)}`);
    const couldNotRun: string[] = [];
    const session = new AttackSession(client, { role, kind: 'masking role', maskingRole: role }, {} as VerifyFacts, () => Promise.reject(new Error('one session')), false, 'pg_catalog', couldNotRun);
    return await fn(session, couldNotRun);
  } finally {
    await query(client, sql`ROLLBACK`).catch(() => {});
    await client.end();
  }
}

describe('citus-copy: COPY of the raw tables as the analyst', () => {
  it('holds on the correct setup: both COPY forms refused, the masked control readable', async () => {
    const outcome = await asAnalyst((s) => copyDistributedTables(s, [RAW], MASKED));
    expect(outcome.status).toBe('held');
    expect(outcome.evidence).toMatch(/COPY of each of the 1 raw distributed table\(s\) was refused .* while COPY of "masked"\."patients" returned \d+ bytes/);
  });

  it('leaks on a broken setup where a grant reaches the raw table', async () => {
    await db.query(sql`GRANT SELECT ON public.patients TO ${ident(role)}`);
    try {
      const outcome = await asAnalyst((s) => copyDistributedTables(s, [RAW], MASKED));
      expect(outcome.status).toBe('leaked');
      expect(outcome.objects).toEqual([expect.stringMatching(/^COPY "public"\."patients" TO STDOUT returned \d+ bytes$/), expect.stringMatching(/^COPY \(SELECT \* FROM "public"\."patients" LIMIT 1\) TO STDOUT returned \d+ bytes$/)]);
    } finally {
      await db.query(sql`REVOKE SELECT ON public.patients FROM ${ident(role)}`);
    }
  });

  it('is skipped, never held, when the control COPY could not run (here: a lock it may not wait for; on Citus: no connection to a worker)', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await query(holder, sql`BEGIN`);
      await query(holder, sql`LOCK TABLE masked.patients IN ACCESS EXCLUSIVE MODE`);
      const { outcome, couldNotRun } = await asAnalyst(
        async (s, notes) => ({ outcome: await copyDistributedTables(s, [RAW], MASKED), couldNotRun: [...notes] }),
        (c) => query(c, sql`SET LOCAL lock_timeout = '50ms'`).then(() => undefined),
      );
      expect(outcome.status).toBe('skipped');
      expect(outcome.evidence).toContain('COPY "masked"."patients" TO STDOUT, which the role may read, failed as well');
      expect(couldNotRun.join()).toContain('55P03');
    } finally {
      await query(holder, sql`ROLLBACK`);
      await holder.end();
    }
  });

  it('is skipped when there is no masked table to copy, and holds when no source table is distributed', async () => {
    expect((await asAnalyst((s) => copyDistributedTables(s, [RAW], null))).status).toBe('skipped');
    expect((await asAnalyst((s) => copyDistributedTables(s, [], MASKED))).status).toBe('held');
  });
});

describe('verify on Citus: the NOLOGIN masking role is attacked through a login member', () => {
  const policy = parsePolicy(readFileSync(new URL('../../examples/clinic.yaml', import.meta.url), 'utf8'), 'examples/clinic.yaml', registry);
  const facts = (roles: { name: string; canLogin: boolean; superuser: boolean; memberOf: string[] }[]) => ({ snapshot: citusClinicSnapshot({ roles }) }) as VerifyFacts;
  const analyst = { name: 'analyst', canLogin: false, superuser: false, memberOf: [] };

  it("opens the masking role's session as its policy-listed login member", () => {
    const subject = citusMaskingSubject(policy, facts([analyst, { name: 'metabase_reader', canLogin: true, superuser: false, memberOf: ['analyst'] }]), 'analyst');
    expect(subject).toMatchObject({ role: 'analyst', maskingRole: 'analyst', through: 'metabase_reader' });
    expect(subject.kind).toContain('through its login member metabase_reader');
  });

  it('keeps the NOLOGIN role (its worker reads then skipped) when no login member exists, never a superuser one', () => {
    const subject = citusMaskingSubject(policy, facts([analyst, { name: 'dba', canLogin: true, superuser: true, memberOf: ['analyst'] }]), 'analyst');
    expect(subject.through).toBeUndefined();
    expect(subject.kind).toContain('no login member');
  });
});
