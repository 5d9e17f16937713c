import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { hostileNames, createHostileSource, hostilePolicy } from '../support/hostile-fixture.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import { checkDrift } from '../../src/verify/check.ts';
import { ident, sql } from '../../src/sql/index.ts';
import type { Policy } from '../../src/policy/policy.ts';
import pg from 'pg';

/** verify and check quote every name they build SQL from: schemas, tables, columns and roles with quotes, $$, spaces, non-ASCII. */
const names = hostileNames('v');
const { ROLE, READER, TABLE, SOURCE } = names;

describe('verify and check with hostile identifiers', () => {
  let db: TestDatabase;
  let policy: Policy;

  beforeAll(async () => {
    db = await createTestDatabase('pgmask_verify_hostile');
    db.trackRole(ROLE);
    await createHostileSource(db, names, { third: true });
    await db.createLoginRole(READER);
    const text = hostilePolicy(names, (flag) => `${flag} IS DISTINCT FROM true`);
    await applyPolicy(db.url, text, { file: 'hostile.yaml' });
    policy = (await loadPolicyText(text, 'hostile.yaml')).policy;
  }, 120_000);
  afterAll(async () => {
    await db?.query(sql`DROP OWNED BY ${ident(ROLE)}`).catch(() => {});
    await db?.drop();
  });

  it('verify runs every attack and holds; check finds no drift, then names a hostile new column', async () => {
    const r = await verify(db.url, policy);
    const notHeld = r.subjects.flatMap((x) => x.attacks.filter((a) => a.status !== 'held').map((a) => `${x.role} ${a.id} ${a.status}: ${a.evidence}`));
    expect(notHeld).toEqual([]);
    const byId = Object.fromEntries(r.subjects[1]!.attacks.map((a) => [a.id, a.evidence]));
    expect(byId['oracle']).toMatch(/^2 keyed column\(s\)/);
    expect(byId['leaky-function']).toMatch(/saw at most 2 of 3 rows/);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect((await checkDrift(client, policy)).findings).toEqual([]);
      const added = `ssn "2" $$`;
      await client.query(sql`ALTER TABLE ${ident(SOURCE, TABLE)} ADD COLUMN ${ident(added)} text`.text);
      const d = await checkDrift(client, policy);
      expect(d.findings.map((x) => [x.kind, x.table, x.column])).toEqual([['column-unclassified', TABLE, added]]);
    } finally {
      await client.end();
    }
  });
});
