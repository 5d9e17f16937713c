import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { ident, literal, sql } from '../../src/sql/index.ts';

/** Tables, columns, schemas and roles whose names contain quotes, $$, spaces and non-ASCII letters are masked correctly. */
const s = uniqueSuffix();
const ROLE = `Analyst "quoted" ${s}`;
const READER = `reader $$ ${s}`;
const TABLE = `Pa"ti'ents $$ ü`;
const SOURCE = `Klinik "Süd" '${s}'`;
const MASKED = `masked $x$ Ü`;
const COLS = { id: `id "key"`, name: `Näme 'x'`, note: `note $$ -- /* */`, flag: `opt out?` };

/** YAML double-quoted scalar */
const y = (v: string) => JSON.stringify(v);

describe('hostile identifiers', () => {
  let db: TestDatabase;
  let readerUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    db.trackRole(ROLE);
    await db.query(sql`CREATE SCHEMA ${ident(SOURCE)}`);
    await db.query(
      sql`CREATE TABLE ${ident(SOURCE, TABLE)} (${ident(COLS.id)} text PRIMARY KEY, ${ident(COLS.name)} text, ${ident(COLS.note)} text, ${ident(COLS.flag)} boolean NOT NULL)`,
    );
    await db.query(
      sql`INSERT INTO ${ident(SOURCE, TABLE)} VALUES (${literal("a'1")}, ${literal('Zoë')}, ${literal('$$x$$')}, false), ('b2', 'Ann', NULL, true)`,
    );
    readerUrl = await db.createLoginRole(READER);
    const policy = `version: 1
source_schema: ${y(SOURCE)}
masked_schema: ${y(MASKED)}
runtime: sql
roles:
  ${y(ROLE)}:
    members: [${y(READER)}]
tables:
  ${y(TABLE)}:
    filter: ${y(`NOT ${ident(COLS.flag).text}`)}
    columns:
      ${y(COLS.id)}: pseudonymize
      ${y(COLS.name)}: { pseudonymize: { prefix: "it's $$ " } }
      ${y(COLS.note)}: redact
      ${y(COLS.flag)}: keep
`;
    await applyPolicy(db.url, policy, { file: 'hostile.yaml' });
  });
  afterAll(async () => {
    await db?.query(sql`DROP OWNED BY ${ident(ROLE)}`).catch(() => {});
    await db?.drop();
  });

  it('creates the view with every name intact and masks the values', async () => {
    const rows = await queryAs(readerUrl, sql`SELECT * FROM ${ident(MASKED, TABLE)}`.text);
    expect(rows).toHaveLength(1);
    const r = rows[0];
    expect(Object.keys(r)).toEqual([COLS.id, COLS.name, COLS.note, COLS.flag]);
    expect(r[COLS.id]).toMatch(/^[0-9a-f]{20}$/);
    expect(r[COLS.name]).toMatch(/^it's \$\$ [0-9a-f]{20}$/);
    expect(r[COLS.note]).toBeNull();
    expect(r[COLS.flag]).toBe(false);
  });

  it('refuses the hostile-named source table to the member', async () => {
    await expect(queryAs(readerUrl, sql`SELECT * FROM ${ident(SOURCE, TABLE)}`.text)).rejects.toThrow(/permission denied/);
  });

  it("sets the member's search_path to the hostile masked schema", async () => {
    const rows = await queryAs(readerUrl, sql`SELECT count(*)::int AS n FROM ${ident(TABLE)}`.text);
    expect(rows).toEqual([{ n: 1 }]);
  });
});
