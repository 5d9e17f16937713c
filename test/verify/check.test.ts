import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { createVerifyFixture, dropVerifyFixture, fixturePolicy, fixtureSchemaSql, type VerifyFixture } from './verify-fixture.ts';
import { createTestDatabase, queryAs, uniqueSuffix } from '../support/db.ts';
import { checkDrift, type DriftReport } from '../../src/verify/check.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import type { Policy } from '../../src/policy/policy.ts';

/** Issue "pgmask verify and pgmask check": check reports drift between the policy, the schema and the applied migration. */
let f: VerifyFixture;

beforeAll(async () => {
  f = await createVerifyFixture();
}, 120_000);
afterAll(async () => {
  await dropVerifyFixture(f);
});

async function check(policy: Policy = f.policy, url = f.db.url): Promise<DriftReport> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await checkDrift(client, policy);
  } finally {
    await client.end();
  }
}

const kinds = (r: DriftReport) => r.findings.map((x) => [x.kind, x.table, x.column]);

describe('pgmask check', () => {
  it('finds no drift right after migrate', async () => {
    const r = await check();
    expect(r).toEqual({ ok: true, policyHash: f.policy.hash, appliedPolicyHash: f.policy.hash, findings: [] });
  });

  it('reports ALTER TABLE … ADD COLUMN, and the new column never appears in the masked view', async () => {
    await f.db.query(`ALTER TABLE public.patients ADD COLUMN ssn text DEFAULT '078-05-1120'`);
    try {
      const r = await check();
      expect(r.ok).toBe(false);
      expect(kinds(r)).toEqual([['column-unclassified', 'patients', 'ssn']]);
      expect(r.findings[0]!.message).toMatch(/column public\.patients\.ssn \(text\) has no rule/);
      expect(r.findings[0]!.hint).toMatch(/add a rule for ssn/);
      const viewColumns = await f.db.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'masked' AND table_name = 'patients'`);
      expect(viewColumns.rows.map((x) => x.column_name)).not.toContain('ssn');
      await expect(queryAs(f.memberUrl, 'SELECT ssn FROM patients')).rejects.toThrow(/column "ssn" does not exist/);
      const rows = await queryAs(f.memberUrl, 'SELECT * FROM patients');
      expect(JSON.stringify(rows)).not.toContain('078-05-1120');
    } finally {
      await f.db.query('ALTER TABLE public.patients DROP COLUMN ssn');
    }
    expect((await check()).ok).toBe(true);
  });

  it('reports a renamed column as a missing rule and an unclassified column, naming the likely rename', async () => {
    await f.db.query('ALTER TABLE public.encounters RENAME COLUMN reason TO visit_reason');
    try {
      const r = await check();
      expect(kinds(r)).toEqual([
        ['column-unclassified', 'encounters', 'visit_reason'],
        ['column-missing', 'encounters', 'reason'],
      ]);
      expect(r.findings[0]!.message).toMatch(/renamed from reason\?/);
    } finally {
      await f.db.query('ALTER TABLE public.encounters RENAME COLUMN visit_reason TO reason');
    }
  });

  it('reports a login member that lost its masking role', async () => {
    await f.db.query(`REVOKE "${f.role}" FROM "${f.member}"`);
    try {
      const r = await check();
      expect(kinds(r)).toEqual([['member-not-granted', null, null]]);
      expect(r.findings[0]!.message).toBe(`${f.member} is not a member of masking role ${f.role}`);
    } finally {
      await f.db.query(`GRANT "${f.role}" TO "${f.member}"`);
    }
  });

  it('reports a source table the policy does not list', async () => {
    await f.db.query('CREATE TABLE public.lab_results (id int PRIMARY KEY, value text)');
    try {
      const r = await check();
      expect(kinds(r)).toEqual([['table-unlisted', 'lab_results', null]]);
    } finally {
      await f.db.query('DROP TABLE public.lab_results');
    }
  });

  it('reports a policy that differs from the one migrate applied (recorded hash)', async () => {
    const { policy } = await loadPolicyText(`${f.policyText}# reviewed\n`, 'policy.yaml');
    const r = await check(policy);
    expect(kinds(r)).toEqual([['policy-changed', null, null]]);
    expect(r.appliedPolicyHash).toBe(f.policy.hash);
    expect(r.policyHash).toBe(policy.hash);
  });

  it('reports a database that was never migrated: every view missing', async () => {
    const db = await createTestDatabase('pgmask_check_fresh');
    try {
      await db.query(fixtureSchemaSql);
      const role = `c_${uniqueSuffix()}`;
      const { policy } = await loadPolicyText(fixturePolicy(role, `${role}_m`), 'policy.yaml');
      const r = await check(policy, db.url);
      expect(kinds(r)).toEqual([
        ['not-migrated', null, null],
        ['view-missing', 'patients', null],
        ['view-missing', 'encounters', null],
        ['role-missing', null, null],
        ['role-missing', null, null],
      ]);
      expect(r.findings.slice(3).map((x) => x.message)).toEqual([`masking role ${role} does not exist`, `login member ${role}_m of masking role ${role} does not exist`]);
    } finally {
      await db.drop();
    }
  });

  it('issue 13: reports a member added by hand outside the policy, naming it', async () => {
    const extra = `c_extra_${uniqueSuffix()}`;
    f.db.trackRole(extra);
    await f.db.query(`CREATE ROLE "${extra}" LOGIN; GRANT "${f.role}" TO "${extra}"`);
    try {
      const r = await check();
      expect(kinds(r)).toEqual([['member-unlisted', null, null]]);
      expect(r.findings[0]!.message).toBe(`${extra} is a member of masking role ${f.role} but not listed in its members in policy.yaml`);
      expect(r.findings[0]!.hint).toMatch(new RegExp(`REVOKE ${f.role} FROM ${extra}`));
    } finally {
      await f.db.query(`DROP ROLE "${extra}"`);
    }
    expect((await check()).ok).toBe(true);
  });

  it('issue 13: reports a masking-role grant on a relation the policy does not list, and a renamed masking role left with SELECT on the views', async () => {
    const old = `c_old_${uniqueSuffix()}`;
    f.db.trackRole(old);
    await f.db.query(`CREATE TABLE public.staff (id int PRIMARY KEY); GRANT SELECT ON public.staff TO "${f.role}";
      CREATE ROLE "${old}" NOLOGIN; GRANT SELECT ON masked.patients TO "${old}"`);
    try {
      const r = await check();
      expect(r.findings.filter((x) => x.kind === 'grant-unlisted').map((x) => x.message)).toEqual([
        `${old} has SELECT on masked.patients, which policy.yaml does not grant`,
        `${f.role} has SELECT on public.staff, which policy.yaml does not grant`,
      ].sort());
    } finally {
      await f.db.query(`DROP TABLE public.staff; REVOKE ALL ON masked.patients FROM "${old}"; DROP ROLE "${old}"`);
    }
    expect((await check()).ok).toBe(true);
  });

  it('reports a masked view whose column type no longer matches the source, a dropped table and a stale view', async () => {
    // a view cannot outlive a type change of its source column: someone re-created it by hand
    await f.db.query(`DROP VIEW masked.encounters;
      CREATE VIEW masked.encounters WITH (security_barrier) AS SELECT encounter_id, patient_id, reason::varchar(10) AS reason FROM public.encounters;
      COMMENT ON VIEW masked.encounters IS 'pgmask: hand-made'`);
    let r = await check();
    expect(kinds(r)).toEqual([['type-changed', 'encounters', 'reason']]);
    expect(r.findings[0]!.message).toBe('masked.encounters.reason is character varying(10) but the source column is now text');

    await f.db.query('DROP VIEW masked.encounters; DROP TABLE public.encounters');
    const { policy } = await loadPolicyText(f.policyText.replace(/  encounters:[\s\S]*$/, ''), 'policy.yaml');
    await f.db.query(`CREATE VIEW masked.visits AS SELECT 1 AS x; COMMENT ON VIEW masked.visits IS 'pgmask: masked view of public.visits'`);
    r = await check();
    expect(kinds(r)).toEqual([
      ['table-missing', 'encounters', null],
      ['view-stale', 'visits', null],
    ]);
    r = await check(policy);
    expect(kinds(r)).toEqual([
      ['policy-changed', null, null],
      ['view-stale', 'visits', null],
    ]);
  });

});

describe('pgmask check on materialized masking', () => {
  it('exits clean right after migrating a materialized policy, and reports a relation of the wrong kind', async () => {
    const db = await createTestDatabase('pgmask_check_mat');
    const role = `cm_${uniqueSuffix()}`;
    db.trackRole(role);
    try {
      await db.query(fixtureSchemaSql);
      const text = fixturePolicy(role, `${role}_m`).replace(/\n {4}members: \[[^\]]*\]/, ' {}').replace('runtime: sql\n', 'runtime: sql\nmaterialize: true\n');
      await applyPolicy(db.url, text, { file: 'policy.yaml' });
      const { policy } = await loadPolicyText(text, 'policy.yaml');
      const r = await check(policy, db.url);
      expect(r).toEqual({ ok: true, policyHash: policy.hash, appliedPolicyHash: policy.hash, findings: [] });
      // the same relation as a plain view (someone re-created it by hand, keeping pgmask's comment)
      await db.query(`DROP MATERIALIZED VIEW masked.encounters;
        CREATE VIEW masked.encounters WITH (security_barrier) AS SELECT encounter_id, patient_id, reason FROM public.encounters;
        COMMENT ON VIEW masked.encounters IS 'pgmask: hand-made'`);
      expect(kinds(await check(policy, db.url))).toEqual([['view-kind-differs', 'encounters', null]]);
    } finally {
      await db.query(`DROP OWNED BY "${role}"`).catch(() => {});
      await db.drop();
    }
  });
});
