import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { hostileNames, createHostileSource, hostilePolicy } from '../support/hostile-fixture.ts';
import { createTestDatabase, queryAs, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { ident, sql } from '../../src/sql/index.ts';

/** Tables, columns, schemas and roles whose names contain quotes, $$, spaces and non-ASCII letters are masked correctly. */
const names = hostileNames('e2e');
const { ROLE, READER, TABLE, SOURCE, MASKED, COLS } = names;

describe('hostile identifiers', () => {
  let db: TestDatabase;
  let readerUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    db.trackRole(ROLE);
    await createHostileSource(db, names);
    readerUrl = await db.createLoginRole(READER);
    const policy = hostilePolicy(names, (flag) => `NOT ${flag}`);
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
