import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { applyPolicy, loadPolicyText, snapshotFor } from '../../src/cli/pipeline.ts';
import { checkDrift } from '../../src/verify/check.ts';
import { maskingStatus } from '../../src/db/status.ts';
import { refreshMaterialized } from '../../src/db/refresh.ts';
import { PgmaskError } from '../../src/errors.ts';
import { ident, sql } from '../../src/sql/index.ts';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';

/**
 * migrate as a role that owns the source tables and is not a superuser: refused with every
 * missing privilege named (nothing changed), then — with exactly the statements the hints
 * give — applied, and the masked views work for the analyst.
 */
const s = uniqueSuffix();
const DBA = `priv_dba_${s}`;
const ROLE = `priv_analyst_${s}`;
const READER = `priv_reader_${s}`;
const policy = (noise: number, members: readonly string[] = [READER]) => `version: 1
source_schema: public
masked_schema: masked
runtime: sql
keys: [default]
subject: patient_id
roles:
  ${ROLE}:
    members: [${members.join(', ')}]
tables:
  patients:
    columns:
      patient_id: pseudonymize
      birth_date: { shift_date: { max_days: 30 } }
      weight_kg: { noise: { relative: ${noise} } }
  visits:
    materialize: true
    columns:
      visit_id: pseudonymize
      patient_id: pseudonymize
      visited_at: { shift_date: { max_days: 30 } }
`;

let db: TestDatabase;
let dbaUrl: string;
let readerUrl: string;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_privileges');
  dbaUrl = await db.createLoginRole(DBA);
  readerUrl = await db.createLoginRole(READER);
  db.trackRole(ROLE);
  await db.query(`CREATE TABLE public.patients (patient_id text PRIMARY KEY, birth_date date, weight_kg float8);
INSERT INTO public.patients SELECT 'P' || i, date '1980-01-01' + i, 60 + i FROM generate_series(1, 50) i;
CREATE TABLE public.visits (visit_id bigint PRIMARY KEY, patient_id text NOT NULL, visited_at date);
INSERT INTO public.visits SELECT i, 'P' || (i % 50 + 1), date '2020-01-01' + i FROM generate_series(1, 200) i`);
  await db.query(sql`ALTER TABLE public.patients OWNER TO ${ident(DBA)}; ALTER TABLE public.visits OWNER TO ${ident(DBA)}`);
});

afterAll(async () => {
  await db?.drop();
});

async function refusal(p: Promise<unknown>): Promise<PgmaskError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PgmaskError) return e;
    throw e;
  }
  throw new Error('migrate was not refused');
}

describe('migrate as a non-superuser that owns the source tables', () => {
  it('is refused before anything runs, naming each missing privilege with the statement that grants it', async () => {
    // pgmask_owner is cluster-wide and other test files create it concurrently: make it exist
    // (as a superuser's earlier migrate would), so what dba lacks does not depend on timing
    await db.query(`DO $$ BEGIN CREATE ROLE pgmask_owner NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    const { rows } = await db.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
    const e = await refusal(applyPolicy(dbaUrl, policy(0.05)));
    expect(e.exitCode).toBe(4);
    const expected = ['NEEDS_CREATE_ON_DATABASE', 'NEEDS_CREATEROLE', 'NEEDS_PGMASK_OWNER'];
    // PostgreSQL 16+: CREATEROLE alone may not alter a login role made by someone else
    if (rows[0]!.v >= 160000) expected.push('NEEDS_ADMIN_OPTION');
    expect(e.details.map((d) => d.code)).toEqual(expected);
    expect(e.details.find((d) => d.code === 'NEEDS_CREATEROLE')!.hint).toBe(`ALTER ROLE "${DBA}" CREATEROLE;`);
    expect(e.details.find((d) => d.code === 'NEEDS_PGMASK_OWNER')!.hint).toBe(`GRANT pgmask_owner TO "${DBA}";`);
    const after = await db.query("SELECT 1 FROM pg_namespace WHERE nspname IN ('pgmask', 'pgmask_private', 'masked')");
    expect(after.rowCount).toBe(0);

    // the hints are the fix: run them as a superuser, then the same migrate succeeds
    for (const d of e.details) await db.query(d.hint!);
    const applied = await applyPolicy(dbaUrl, policy(0.05));
    expect(applied.migration.policy).toBe('applied');
    expect(applied.migration.ownerRoleGrantedTo).toBeNull();

    const views = await db.query<{ owner: string }>(
      "SELECT relname AS name, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'masked'::regnamespace AND relkind IN ('v', 'm') ORDER BY 1",
    );
    expect(views.rows).toEqual([{ name: 'patients', owner: 'pgmask_owner' }, { name: 'visits', owner: 'pgmask_owner' }]);
    // pgmask.reveal (SECURITY DEFINER) runs as pgmask_owner, which was lent CREATE on pgmask for the handover only
    const reveal = await db.query(
      "SELECT DISTINCT pg_get_userbyid(proowner) AS owner, has_schema_privilege('pgmask_owner', 'pgmask', 'CREATE') AS creates FROM pg_proc WHERE pronamespace = 'pgmask'::regnamespace AND proname = 'reveal'",
    );
    expect(reveal.rows).toEqual([{ owner: 'pgmask_owner', creates: false }]);
    const masked = await queryAs<{ n: string; raw: string }>(readerUrl, "SELECT count(*) AS n, count(*) FILTER (WHERE patient_id LIKE 'P%') AS raw FROM masked.patients");
    expect(masked).toEqual([{ n: '50', raw: '0' }]);
    await expect(queryAs(readerUrl, 'SELECT * FROM public.patients')).rejects.toThrow(/permission denied/);
  });

  it('a later migrate by the same role changes the policy (owns its functions and pgmask tables)', async () => {
    const r = await applyPolicy(dbaUrl, policy(0.07));
    expect(r.migration.policy).toBe('applied');
    expect(r.migration.ownerRoleGrantedTo).toBeNull();
    const again = await applyPolicy(dbaUrl, policy(0.07));
    expect(again.migration.policy).toBe('unchanged');
  });
});

describe('operating pgmask as a member of pgmask_owner (not a superuser, not the migrating role)', () => {
  const OP = `priv_operator_${s}`;
  let opUrl: string;
  beforeAll(async () => {
    opUrl = await db.createLoginRole(OP);
  });

  async function asOperator<T>(work: (client: pg.Client, loaded: Awaited<ReturnType<typeof loadPolicyText>>) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: opUrl });
    await client.connect();
    try {
      return await work(client, await loadPolicyText(policy(0.07), 'policy.yaml'));
    } finally {
      await client.end();
    }
  }
  const check = () => asOperator((c, l) => checkDrift(c, l.policy, l.registry));
  const status = () => asOperator(async (c, l) => maskingStatus(c, l.policy, await snapshotFor(c, l.policy)));
  const refresh = () => asOperator(async (c, l) => refreshMaterialized(c, l.policy, await snapshotFor(c, l.policy)));

  it('without membership, check, status and refresh are refused by the server', async () => {
    await expect(check()).rejects.toThrow(/permission denied for table applied_policies/);
    await expect(status()).rejects.toThrow(/permission denied/);
    await expect(refresh()).rejects.toThrow(/permission denied for schema masked/);
  });

  it('with GRANT pgmask_owner only, check passes, status reads the applied policy and refresh records its run', async () => {
    await db.query(sql`GRANT pgmask_owner TO ${ident(OP)}`);
    expect((await check()).findings).toEqual([]);
    expect((await status()).upToDate).toBe(true);
    const refreshed = await refresh();
    expect(refreshed.map((r) => [r.view, r.rows])).toEqual([['masked.visits', 200]]);
    const log = await db.query("SELECT refreshed_by FROM pgmask.refreshes WHERE view_name = 'visits'");
    expect(log.rows).toEqual([{ refreshed_by: OP }]);
  });
});

describe('handing pgmask over from the superuser that installed it (docs/privileges.md)', () => {
  it('refuses the new admin with NEEDS_PGMASK_SCHEMA_OWNER, then migrates after the documented handover', async () => {
    const other = await createTestDatabase('pgmask_handover');
    try {
      const admin = `priv_admin_${s}`;
      const adminUrl = await other.createLoginRole(admin);
      await other.query(sql`ALTER ROLE ${ident(admin)} CREATEROLE`);
      await other.query(`CREATE TABLE public.patients (patient_id text PRIMARY KEY, birth_date date, weight_kg float8);
CREATE TABLE public.visits (visit_id bigint PRIMARY KEY, patient_id text NOT NULL, visited_at date)`);
      await other.query(sql`ALTER TABLE public.patients OWNER TO ${ident(admin)}; ALTER TABLE public.visits OWNER TO ${ident(admin)}`);
      await applyPolicy(other.url, policy(0.05));
      // PostgreSQL 16+: ADMIN OPTION on the member, which the superuser created
      const version = (await other.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v")).rows[0]!.v;
      if (version >= 160000) await other.query(sql`GRANT ${ident(READER)} TO ${ident(admin)} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
      const e = await refusal(applyPolicy(adminUrl, policy(0.09)));
      // 16+: the superuser created pgmask_owner and the masking role, so CREATEROLE alone may grant neither
      expect(e.details.map((d) => d.code)).toEqual(
        version >= 160000
          ? ['NEEDS_CREATE_ON_DATABASE', 'NEEDS_PGMASK_SCHEMA_OWNER', 'NEEDS_PGMASK_OWNER', 'NEEDS_CREATE_ON_MASKED_SCHEMA', 'NEEDS_ADMIN_OPTION']
          : ['NEEDS_CREATE_ON_DATABASE', 'NEEDS_PGMASK_SCHEMA_OWNER', 'NEEDS_CREATE_ON_MASKED_SCHEMA'],
      );
      expect(e.exitCode).toBe(4);

      const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'privileges.md'), 'utf8');
      const handover = /## Handing pgmask over[\s\S]*?```sql\n([\s\S]*?)```/.exec(doc)![1]!;
      await other.query(handover.replaceAll('new_admin', ident(admin).text));
      // the other hints are statements too
      for (const d of e.details) if (d.code !== 'NEEDS_PGMASK_SCHEMA_OWNER' && d.code !== 'NEEDS_CREATE_ON_MASKED_SCHEMA') await other.query(d.hint!);
      const r = await applyPolicy(adminUrl, policy(0.09));
      expect(r.migration.policy).toBe('applied');
      const owners = await other.query("SELECT DISTINCT pg_get_userbyid(proowner) AS owner FROM pg_proc WHERE pronamespace = 'pgmask'::regnamespace AND proname = 'pseudonymize'");
      expect(owners.rows).toEqual([{ owner: admin }]);
      const reveal = await other.query(
        "SELECT DISTINCT pg_get_userbyid(proowner) AS owner, has_schema_privilege('pgmask_owner', 'pgmask', 'CREATE') AS creates FROM pg_proc WHERE pronamespace = 'pgmask'::regnamespace AND proname = 'reveal'",
      );
      expect(reveal.rows).toEqual([{ owner: 'pgmask_owner', creates: false }]);
    } finally {
      await other.drop();
    }
  });
});

describe('offboarding by the non-superuser that migrates', () => {
  it('a member removed from the policy is revoked and reads nothing; a superuser\'s grant of it is refused first (16+), naming the statement', async () => {
    expect(await queryAs(readerUrl, 'SELECT count(*)::int AS n FROM masked.patients')).toEqual([{ n: 50 }]);
    // a superuser grants the same membership by hand (PostgreSQL 16+ records a second grant, by that superuser)
    await db.query(sql`GRANT ${ident(ROLE)} TO ${ident(READER)}`);
    const { rows } = await db.query<{ v: number; su: string }>("SELECT current_setting('server_version_num')::int AS v, current_user AS su");
    if (rows[0]!.v >= 160000) {
      const e = await refusal(applyPolicy(dbaUrl, policy(0.07, [])));
      expect(e.code).toBe('NEEDS_REVOKE_BY_GRANTOR');
      expect(e.exitCode).toBe(4);
      // (the handover test's admin granted it too: memberships are cluster-wide)
      expect(e.details.map((d) => d.hint)).toContain(`REVOKE "${ROLE}" FROM "${READER}" GRANTED BY "${rows[0]!.su}";`);
      // nothing changed: the member still reads
      expect(await queryAs(readerUrl, 'SELECT count(*)::int AS n FROM masked.patients')).toEqual([{ n: 50 }]);
      for (const d of e.details) await db.query(d.hint!);
    }
    const r = await applyPolicy(dbaUrl, policy(0.07, []));
    expect(r.migration.policy).toBe('applied');
    expect(r.prepared.summary.membersRevoked).toEqual([{ role: ROLE, member: READER, searchPathReset: true }]);
    await expect(queryAs(readerUrl, 'SELECT count(*) FROM masked.patients')).rejects.toThrow(/permission denied/);
    // the migrating role's own membership (PostgreSQL 16+: ADMIN, no INHERIT, no SET) is not the policy's to revoke
    expect((await applyPolicy(dbaUrl, policy(0.07, []))).migration.policy).toBe('unchanged');
  });
});
