import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import { checkDrift } from '../../src/verify/check.ts';
import { ident, literal, sql } from '../../src/sql/index.ts';
import type { Policy } from '../../src/policy/policy.ts';
import pg from 'pg';

/** verify and check quote every name they build SQL from: schemas, tables, columns and roles with quotes, $$, spaces, non-ASCII. */
const s = uniqueSuffix();
const ROLE = `Analyst "v" ${s}`;
const READER = `reader $$ v ${s}`;
const TABLE = `Pa"ti'ents $$ ü`;
const SOURCE = `Klinik "Nord" '${s}'`;
const MASKED = `masked $y$ Ü`;
const COLS = { id: `id "key"`, name: `Näme 'x'`, note: `note $$ -- /* */`, flag: `opt out?` };
const y = (v: string) => JSON.stringify(v);

describe('verify and check with hostile identifiers', () => {
  let db: TestDatabase;
  let policy: Policy;

  beforeAll(async () => {
    db = await createTestDatabase('pgmask_verify_hostile');
    db.trackRole(ROLE);
    await db.query(sql`CREATE SCHEMA ${ident(SOURCE)}`);
    await db.query(sql`CREATE TABLE ${ident(SOURCE, TABLE)} (${ident(COLS.id)} text PRIMARY KEY, ${ident(COLS.name)} text, ${ident(COLS.note)} text, ${ident(COLS.flag)} boolean NOT NULL)`);
    await db.query(sql`INSERT INTO ${ident(SOURCE, TABLE)} VALUES (${literal("a'1")}, ${literal('Zoë')}, ${literal('$$x$$')}, false), ('b2', 'Ann', NULL, true), ('c3', 'Bo', 'n', false)`);
    await db.createLoginRole(READER);
    const text = `version: 1
source_schema: ${y(SOURCE)}
masked_schema: ${y(MASKED)}
runtime: sql
roles:
  ${y(ROLE)}:
    members: [${y(READER)}]
tables:
  ${y(TABLE)}:
    filter: ${y(`${ident(COLS.flag).text} IS DISTINCT FROM true`)}
    columns:
      ${y(COLS.id)}: pseudonymize
      ${y(COLS.name)}: { pseudonymize: { prefix: "it's $$ " } }
      ${y(COLS.note)}: redact
      ${y(COLS.flag)}: keep
`;
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
