import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, loadPolicyText, prepareMigration } from '../../src/cli/pipeline.ts';
import { connect } from '../../src/db/connection.ts';
import { applyMigrations } from '../../src/db/migrate.ts';
import { renderPlan } from '../../src/plan/render.ts';
import { ident, sql } from '../../src/sql/index.ts';
import { checkDrift } from '../../src/verify/check.ts';
import { PGMASK_VERSION } from '../../src/version.ts';
import { runPgmask } from '../support/cli.ts';
import { queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { patientsDatabase, patientsPolicy, type PatientsFixture } from '../support/patients-fixture.ts';

/**
 * Offboarding (issue 13): a member removed from the policy, or a masking role removed or
 * renamed, loses its access at the next migrate. Each attack is a read of the masked view as
 * that login; the broken setup is the same migration with its revokes left out.
 */
const s = uniqueSuffix();
const ANALYST = `off_analyst_${s}`;
const RENAMED = `off_analyst2_${s}`;
const ALICE = `off_alice_${s}`;
const BOB = `off_bob_${s}`;
const CAROL = `off_carol_${s}`;

const policy = (role: string, members: readonly string[]) => patientsPolicy({ role, members });

let fixture: PatientsFixture;
let db: TestDatabase;
let dir: string;
const url: Record<string, string> = {};
const READ = 'SELECT count(*)::int AS n FROM masked.patients';

beforeAll(async () => {
  fixture = await patientsDatabase('pgmask_offboarding', 5);
  ({ db, dir } = fixture);
  for (const login of [ALICE, BOB, CAROL]) url[login] = await db.createLoginRole(login);
  db.trackRole(ANALYST);
  db.trackRole(RENAMED);
  await applyPolicy(db.url, policy(ANALYST, [ALICE, BOB, CAROL]));
  // carol's search_path was set by pgmask in another database of the cluster: a policy there lists her
  const other = (await db.query<{ d: string }>(sql`SELECT datname AS d FROM pg_database WHERE datname <> current_database() AND datallowconn ORDER BY datname = 'postgres' DESC LIMIT 1`)).rows[0]!.d;
  await db.query(sql`ALTER ROLE ${ident(CAROL)} IN DATABASE ${ident(other)} SET search_path = masked`);
});

afterAll(async () => {
  await fixture?.drop();
});

/** The broken setup: the policy's migration with its offboarding revokes left out (pgmask before issue 13). */
async function migrateWithoutRevokes(text: string): Promise<void> {
  const loaded = await loadPolicyText(text, 'policy.yaml');
  const client = await connect(db.url);
  try {
    const prepared = await prepareMigration(client, loaded);
    const nodes = prepared.plan.nodes.filter((n) => n.kind !== 'RevokeAccess' && n.kind !== 'RevokeMembership');
    expect(nodes.length).toBeLessThan(prepared.plan.nodes.length);
    const sqlText = renderPlan({ ...prepared.plan, nodes });
    await applyMigrations(client, { policy: { hash: loaded.policy.hash, sql: sqlText, schemas: [{ source: 'public', masked: 'masked' }] }, pgmaskVersion: PGMASK_VERSION });
  } finally {
    await client.end();
  }
}

async function cliMigrate(text: string, name: string) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return runPgmask(['migrate', '--policy', file, '--database-url', db.url]);
}

describe('offboarding: migrate revokes what the policy no longer grants', () => {
  it('a member removed from the policy reads the masked view while the revokes are left out, and not after migrate', async () => {
    expect(await queryAs(url[BOB]!, READ)).toEqual([{ n: 5 }]);
    const without = policy(ANALYST, [ALICE]);

    // broken setup: the member stays, reads every row, and check names it
    await migrateWithoutRevokes(without);
    expect(await queryAs(url[BOB]!, READ)).toEqual([{ n: 5 }]);
    const loaded = await loadPolicyText(without, 'policy.yaml');
    const client = await connect(db.url);
    try {
      const drift = await checkDrift(client, loaded.policy, loaded.registry);
      expect(drift.findings.filter((f) => f.kind === 'member-unlisted').map((f) => f.message)).toEqual([
        expect.stringContaining(BOB),
        expect.stringContaining(CAROL),
      ]);
    } finally {
      await client.end();
    }

    const r = await cliMigrate(without, 'without-bob.yaml');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`member: - ${BOB} from ${ANALYST} (revoked; its search_path in this database reset)`);
    expect(r.stdout).toContain(`member: = ${CAROL} stays in ${ANALYST}, not listed by this policy: pgmask set its search_path in another database`);
    await expect(queryAs(url[BOB]!, READ)).rejects.toThrow(/permission denied/);
    expect(await settingsHere(BOB)).toEqual([]);
    // the member still listed keeps reading, by unqualified name (its search_path is untouched)
    expect(await queryAs(url[ALICE]!, 'SELECT count(*)::int AS n FROM patients')).toEqual([{ n: 5 }]);
    // kept, and said why
    expect(await queryAs(url[CAROL]!, READ)).toEqual([{ n: 5 }]);

    const again = await cliMigrate(without, 'without-bob.yaml');
    expect(again.stdout).toContain('up to date');
  });

  it('a renamed masking role loses SELECT, USAGE and its members; the same attack reads on the broken setup', async () => {
    const renamed = policy(RENAMED, [ALICE]);
    await migrateWithoutRevokes(renamed);
    // carol is still a member of the old role, which still reads the views
    expect(await queryAs(url[CAROL]!, READ)).toEqual([{ n: 5 }]);

    const r = await cliMigrate(renamed, 'renamed.yaml');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`grant: - ${ANALYST}: USAGE on schema masked, SELECT on 1 view(s) in masked (patients) (revoked)`);
    expect(r.stdout).toContain(`member: - ${ALICE} from ${ANALYST} (revoked)`);
    await expect(queryAs(url[CAROL]!, READ)).rejects.toThrow(/permission denied/);
    const old = await db.query(`SELECT has_table_privilege($1, 'masked.patients', 'SELECT') AS sel, has_schema_privilege($1, 'masked', 'USAGE') AS usage`, [ANALYST]);
    expect(old.rows).toEqual([{ sel: false, usage: false }]);
    // alice reads through the new role; her search_path is kept (the new role's grant set it)
    expect(await queryAs(url[ALICE]!, 'SELECT count(*)::int AS n FROM patients')).toEqual([{ n: 5 }]);
    expect(await settingsHere(ALICE)).toEqual(['search_path=masked']);
  });
});

async function settingsHere(role: string): Promise<string[]> {
  const r = await db.query<{ c: string }>(
    `SELECT unnest(s.setconfig) AS c FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
      WHERE r.rolname = $1 AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [role],
  );
  return r.rows.map((x) => x.c);
}
