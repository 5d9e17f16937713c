import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPgmask } from '../support/cli.ts';
import { queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { patientsDatabase, patientsPolicy, type PatientsFixture } from '../support/patients-fixture.ts';

/** `pgmask plan`: migrate's dry run, summarized for a reviewer; it changes nothing. */
const s = uniqueSuffix();
const ANALYST = `plan_analyst_${s}`;
const ALICE = `plan_alice_${s}`;
const BOB = `plan_bob_${s}`;

const VISITS = `  visits:
    columns:
      visit_id: pseudonymize
      patient_id: pseudonymize
`;
const policy = (weight: string, members: readonly string[]) => patientsPolicy({ role: ANALYST, members, weight, moreTables: VISITS });

let fixture: PatientsFixture;
let db: TestDatabase;
let dir: string;
let bobUrl: string;

beforeAll(async () => {
  fixture = await patientsDatabase('pgmask_plan');
  ({ db, dir } = fixture);
  await db.createLoginRole(ALICE);
  bobUrl = await db.createLoginRole(BOB);
  db.trackRole(ANALYST);
  await db.query('CREATE TABLE public.visits (visit_id bigint PRIMARY KEY, patient_id text NOT NULL)');
  const first = await plan(policy('{ noise: { relative: 0.05 } }', [ALICE, BOB]), 'migrate');
  expect(first.code, first.stderr).toBe(0);
  // migrate prints the same summary, of what it did
  expect(first.stdout).toContain('relations: 2 added, 0 changed, 0 dropped, 0 unchanged\n  + masked.patients (view)\n  + masked.visits (view)\n');
  expect(first.stdout).toContain(`member: + ${BOB} → ${ANALYST} (granted)`);
  expect(first.stdout).toContain('runtime: none → sql\nkeys: + default (generated in the database)');
});

afterAll(async () => {
  await fixture?.drop();
});

function plan(text: string, command = 'plan', ...flags: string[]) {
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, text);
  return runPgmask([command, '--policy', file, '--database-url', db.url, ...flags]);
}

/** what a plan could change, read as the superuser */
async function state(): Promise<unknown> {
  const r = await db.query(`SELECT (SELECT count(*) FROM pgmask.applied_policies) AS applied,
    (SELECT string_agg(col_description('masked.patients'::regclass, attnum), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'masked.patients'::regclass AND attnum > 0) AS rules,
    (SELECT string_agg(m.rolname, ',' ORDER BY m.rolname) FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE g.rolname = '${ANALYST}') AS members`);
  return r.rows[0];
}

describe('pgmask plan', () => {
  it('says up to date when migrate would change nothing', async () => {
    const r = await plan(policy('{ noise: { relative: 0.05 } }', [ALICE, BOB]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^up to date: policy sha256 [0-9a-f]{16} is applied; migrate would change nothing\n$/);
  });

  it('after changing one rule prints that one change, and changes nothing', async () => {
    const before = await state();
    const r = await plan(policy('redact', [ALICE, BOB]));
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').slice(1).filter((l) => l !== '');
    expect(lines).toEqual(['relations: 0 added, 1 changed, 0 dropped, 1 unchanged', '  ~ masked.patients  weight_kg: { noise: { relative: 0.05 } } → redact', 'runtime: sql (unchanged)']);
    expect(await state()).toEqual(before);
  });

  it('after removing a member prints the revoke (and --json carries it); the member still reads until migrate', async () => {
    const before = await state();
    const r = await plan(policy('{ noise: { relative: 0.05 } }', [ALICE]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`member: - ${BOB} from ${ANALYST} (revoke; its search_path in this database reset)`);
    expect(r.stdout).toContain('relations: 0 added, 0 changed, 0 dropped, 2 unchanged');
    const j = await plan(policy('{ noise: { relative: 0.05 } }', [ALICE]), 'plan', '--json');
    const parsed = JSON.parse(j.stdout) as { upToDate: boolean; policyMigration: string; summary: { membersRevoked: unknown[] } };
    expect(parsed.upToDate).toBe(false);
    expect(parsed.policyMigration).toBe('applied');
    expect(parsed.summary.membersRevoked).toEqual([{ role: ANALYST, member: BOB, searchPathReset: true }]);
    expect(await state()).toEqual(before);
    expect(await queryAs(bobUrl, 'SELECT count(*)::int AS n FROM masked.patients')).toEqual([{ n: 3 }]);
  });
});
