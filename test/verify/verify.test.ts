import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createVerifyFixture, dropVerifyFixture, fixturePolicy, fixtureSchemaSql, type VerifyFixture } from './verify-fixture.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { verify, ATTACKS } from '../../src/verify/verify.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { createClinicalSchema, loadClinicalData } from '../../src/demo/synthetic.ts';
import { PgmaskError } from '../../src/errors.ts';

/** Issue "pgmask verify and pgmask check": verify holds on correct setups and changes nothing. */

/** Everything verify could change, as one comparable value. */
async function fingerprint(db: TestDatabase, roles: string[]): Promise<unknown> {
  const r = await db.query(`
    SELECT (SELECT count(*) FROM pg_class)::int AS classes, (SELECT count(*) FROM pg_proc)::int AS procs,
           (SELECT count(*) FROM pg_namespace)::int AS schemas,
           (SELECT count(*) FROM pg_operator)::int AS operators, (SELECT count(*) FROM pg_largeobject_metadata)::int AS los,
           -- roles and role settings are cluster-wide and other test files change theirs: only this database's
           (SELECT array_agg(x ORDER BY x) FROM (SELECT array_to_string(setconfig, ',') AS x FROM pg_db_role_setting
             WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())) s) AS settings,
           (SELECT array_agg(r.rolname || r.rolcanlogin::text || coalesce((SELECT string_agg(m.roleid::regrole::text, ',' ORDER BY m.roleid) FROM pg_auth_members m WHERE m.member = r.oid), '') ORDER BY r.rolname)
              FROM pg_roles r WHERE r.rolname = ANY($1::text[])) AS roles,
           (SELECT array_agg(relname || coalesce(relacl::text, '') || coalesce(reloptions::text, '') ORDER BY relname) FROM pg_class
             WHERE relnamespace IN ('public'::regnamespace, 'masked'::regnamespace, 'pgmask_private'::regnamespace)) AS acls,
           (SELECT array_agg(md5(prosrc) ORDER BY oid) FROM pg_proc WHERE pronamespace = 'pgmask'::regnamespace) AS bodies,
           (SELECT count(*) FROM pgmask.applied_policies)::int AS applied,
           (SELECT md5(string_agg(p::text, ',' ORDER BY patient_id)) FROM public.patients p) AS data`,
    [roles],
  );
  return r.rows[0];
}

describe('verify on a correct setup (hand-made schema, sql runtime)', () => {
  let f: VerifyFixture;
  beforeAll(async () => {
    f = await createVerifyFixture();
  }, 120_000);
  afterAll(async () => {
    await dropVerifyFixture(f);
  });

  it('holds for the masking role and its login member, runs every attack of the issue, and changes nothing', async () => {
    const before = await fingerprint(f.db, [f.role, f.member, 'pgmask_owner']);
    const report = await verify(f.db.url, f.policy);
    expect(await fingerprint(f.db, [f.role, f.member, 'pgmask_owner'])).toEqual(before);

    const leaks = report.subjects.flatMap((s) => s.attacks.filter((a) => a.status === 'leaked').map((a) => `${s.role} ${a.id}: ${a.evidence}`));
    expect(leaks).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.summary.leaked).toBe(0);
    expect(report.subjects.map((s) => [s.role, s.kind, s.impersonation])).toEqual([
      [f.role, 'masking role', 'session authorization'],
      [f.member, `member of ${f.role}`, 'session authorization'],
    ]);
    // the member is attacked with the search_path migrate gave it
    expect(report.subjects[1]!.searchPath).toBe('masked');
    const ids = report.subjects[0]!.attacks.map((a) => a.id);
    for (const id of [
      'source-read', 'source-grants-public', 'source-grants-roles', 'source-grants-column', 'default-privileges',
      'source-through-views', 'definer-functions',
      'keys-read', 'key-material', 'oracle', 'transform-self-keyed', 'averaging', 'volatile-functions',
      'leaky-function', 'security-barrier', 'search-path-hijack', 'search-path-config', 'escalation',
      'copy', 'large-objects', 'explain-verbose', 'cast-errors', 'pg-stats', 'row-filter',
      'privileged-roles', 'masking-role-login', 'owned-objects', 'dangerous-functions',
    ]) {
      expect(ids).toContain(id);
    }
    // every attack but those for another kind of database (citus-shards needs Citus)
    expect(ids).toHaveLength(ATTACKS.filter((a) => a.appliesToDatabase === undefined).length);
    expect(ids).not.toContain('citus-shards');
    // the login member is not held to the NOLOGIN rule
    expect(report.subjects[1]!.attacks.map((a) => a.id)).not.toContain('masking-role-login');
    // nothing important was skipped on a correct setup
    const skipped = report.subjects.flatMap((s) => s.attacks.filter((a) => a.status === 'skipped').map((a) => a.id));
    expect(skipped).toEqual([]);
  });

  it('says what it tried: the oracle recomputed nothing, the leak probe saw only passing rows, row counts match', async () => {
    const report = await verify(f.db.url, f.policy, { role: f.member, only: ['oracle', 'leaky-function', 'row-filter', 'keys-read'] });
    const by = Object.fromEntries(report.subjects[0]!.attacks.map((a) => [a.id, a]));
    expect(by['oracle']!.evidence).toMatch(/^5 keyed column\(s\): no candidate key/);
    expect(by['leaky-function']!.evidence).toMatch(/patients: saw at most 3 of 5 rows/);
    // encounters: P3 opted out, so their encounter is hidden too (consent cascades)
    expect(by['row-filter']!.evidence).toBe('patients: 3 of 5, encounters: 3');
    expect(by['keys-read']!.objects).toEqual(['pgmask_private.keys']);
  });

  it('attacks a role that is not in the policy as a plain role, and refuses a role that does not exist', async () => {
    const other = `v_other_${uniqueSuffix()}`;
    f.db.trackRole(other);
    await f.db.query(`CREATE ROLE ${other} NOLOGIN`);
    const r = await verify(f.db.url, f.policy, { role: other, only: ['source-read', 'keys-read'] });
    expect(r.subjects.map((s) => [s.role, s.kind])).toEqual([[other, 'role']]);
    expect(r.ok).toBe(true);
    await expect(verify(f.db.url, f.policy, { role: `nobody_${uniqueSuffix()}` })).rejects.toSatisfy((e: unknown) => e instanceof PgmaskError && e.code === 'ROLE_NOT_FOUND' && e.exitCode === 2);
  });

  it('attacks through a real login of the member (its own settings apply) and holds', async () => {
    const r = await verify(f.db.url, f.policy, { loginUrl: f.memberUrl });
    expect(r.subjects.map((x) => [x.role, x.kind, x.impersonation, x.searchPath])).toEqual([[f.member, 'login', 'login', 'masked']]);
    const leaks = r.subjects[0]!.attacks.filter((a) => a.status !== 'held').map((a) => `${a.id} ${a.status}: ${a.evidence}`);
    expect(leaks).toEqual([]);
  });

  it('without superuser rights, becomes the role with SET ROLE and says so', async () => {
    const admin = `v_admin_${uniqueSuffix()}`;
    const adminUrl = await f.db.createLoginRole(admin);
    await f.db.query(`GRANT ${f.role} TO ${admin}; GRANT USAGE ON SCHEMA pgmask_private TO ${admin}; GRANT SELECT ON pgmask_private.keys TO ${admin}; GRANT SELECT ON public.patients, public.encounters TO ${admin}; GRANT pgmask_owner TO ${admin}`);
    try {
      const r = await verify(adminUrl, f.policy, { role: f.role, only: ['source-read', 'keys-read', 'escalation'] });
      expect(r.subjects[0]!.impersonation).toBe('set role');
      expect(r.subjects[0]!.attacks.map((a) => a.status)).toEqual(['held', 'held', 'held']);
      expect(r.subjects[0]!.attacks.find((a) => a.id === 'escalation')!.evidence).toMatch(/checked by membership only/);
    } finally {
      await f.db.query(`REVOKE ALL ON public.patients, public.encounters FROM ${admin}; REVOKE ALL ON pgmask_private.keys FROM ${admin}; REVOKE ALL ON SCHEMA pgmask_private FROM ${admin}; DROP ROLE ${admin}`);
    }
  });
});

describe('verify on a database that was never migrated', () => {
  it('skips every attack for roles that do not exist, and crashes on nothing', async () => {
    const db = await createTestDatabase('pgmask_verify_fresh');
    try {
      await db.query(fixtureSchemaSql);
      const s = uniqueSuffix();
      const { policy } = await loadPolicyText(fixturePolicy(`nr_${s}`, `nm_${s}`), 'policy.yaml');
      const r = await verify(db.url, policy);
      expect(r.subjects.map((x) => [x.role, x.impersonation])).toEqual([
        [`nr_${s}`, 'none'],
        [`nm_${s}`, 'none'],
      ]);
      const statuses = new Set(r.subjects.flatMap((x) => x.attacks.map((a) => a.status)));
      expect([...statuses]).toEqual(['skipped']);
      expect(r.subjects[0]!.attacks[0]!.evidence).toMatch(/role nr_\w+ does not exist/);
      // a role that exists is still attacked; the missing pgmask schema is reported, not thrown
      const other = `nx_${s}`;
      db.trackRole(other);
      await db.query(`CREATE ROLE ${other} NOLOGIN`);
      const r2 = await verify(db.url, policy, { role: other });
      const by = Object.fromEntries(r2.subjects[0]!.attacks.map((a) => [a.id, a]));
      expect(by['source-read']!.status).toBe('held');
      expect(by['keys-read']!.status).toBe('skipped');
      expect(by['oracle']!).toMatchObject({ status: 'skipped', evidence: expect.stringMatching(/do not run here/) });
      expect(r2.ok).toBe(true);
    } finally {
      await db.drop();
    }
  });
});

describe('verify on examples/clinic.yaml over the synthetic clinic', () => {
  let db: TestDatabase;
  let policyText: string;
  const s = uniqueSuffix();
  const role = `clinic_analyst_${s}`;
  const member = `clinic_reader_${s}`;

  beforeAll(async () => {
    db = await createTestDatabase('pgmask_verify_clinic');
    db.trackRole(role);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await createClinicalSchema(client);
      await loadClinicalData(client, { scale: 300 });
    } finally {
      await client.end();
    }
    await db.createLoginRole(member);
    policyText = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'clinic.yaml'), 'utf8')
      .replace(/^  analyst:/m, `  ${role}:`)
      .replace('members: [metabase_reader]', `members: [${member}]`);
    await applyPolicy(db.url, policyText, { file: 'clinic.yaml' });
  }, 180_000);
  afterAll(async () => {
    await db?.query(`DROP OWNED BY ${role}`).catch(() => {});
    await db?.drop();
  });

  it('holds for every attack, as the masking role and as the login member', async () => {
    const { policy } = await loadPolicyText(policyText, 'clinic.yaml');
    const report = await verify(db.url, policy);
    const leaks = report.subjects.flatMap((x) => x.attacks.filter((a) => a.status === 'leaked').map((a) => `${x.role} ${a.id}: ${a.evidence}`));
    expect(leaks).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.subjects).toHaveLength(2);
    const leaky = report.subjects[0]!.attacks.find((a) => a.id === 'leaky-function')!;
    // the synthetic clinic has opted-out patients: the probe had something to find
    expect(leaky.evidence).toMatch(/patients: saw at most (\d+) of (\d+) rows/);
    const [, seen, total] = /saw at most (\d+) of (\d+)/.exec(leaky.evidence)!;
    expect(Number(seen)).toBeLessThan(Number(total));
  });
});
