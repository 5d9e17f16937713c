import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql, ident, literal, dollarQuoted, jsonbLiteral, join } from '../../src/sql/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

describe('sql builder', () => {
  it('quotes identifiers and literals', () => {
    expect(sql`SELECT ${ident('we"ird')} FROM ${ident('public', 'my table')} WHERE x = ${literal("O'Brien")}`.text).toBe(
      `SELECT "we""ird" FROM "public"."my table" WHERE x = 'O''Brien'`,
    );
    expect(literal('a\\b').text).toBe(`E'a\\\\b'`);
    expect(literal(-1).text).toBe('(-1)');
    expect(literal(null).text).toBe('NULL');
    expect(jsonbLiteral({ b: 1, a: 'x' }).text).toBe(`'{"a":"x","b":1}'::jsonb`);
    expect(join([literal(1), literal(2)]).text).toBe('1, 2');
  });

  it('refuses plain strings and NUL', () => {
    expect(() => sql`SELECT ${'x' as any}`).toThrow(/wrap identifiers with ident\(\)/);
    expect(() => ident('a\u0000b')).toThrow(/NUL/);
    expect(() => literal(Number.NaN)).toThrow(/finite/);
  });

  it('picks a dollar-quote tag absent from the body', () => {
    expect(dollarQuoted('a $pgmask$ b').text).toBe('$pgmask1$a $pgmask$ b$pgmask1$');
  });
});

describe('sql builder against PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const hostile = ['we"ird', "it's", 'back\\slash', '$$dollar$$', 'with space', 'Ünïcødé ✓', '🙂 astral', "--comment", "a'; DROP TABLE x; --"];

  it.each(hostile)('round-trips %j as identifier and literal', async (name) => {
    await db.query(sql`CREATE TABLE ${ident(name)} (${ident(name)} text)`);
    await db.query(sql`INSERT INTO ${ident(name)} VALUES (${literal(name)})`);
    const rows = (await db.query(sql`SELECT ${ident(name)} AS v FROM ${ident(name)}`)).rows;
    expect(rows).toEqual([{ v: name }]);
    const body = (await db.query(sql`SELECT ${dollarQuoted(name)} AS v`)).rows;
    expect(body).toEqual([{ v: name }]);
  });

  it('escapes backslashes regardless of standard_conforming_strings', async () => {
    const c = await db.pool.connect();
    try {
      await c.query('SET standard_conforming_strings = off');
      expect((await c.query(sql`SELECT ${literal("a\\'b")} AS v`.text)).rows[0].v).toBe("a\\'b");
    } finally {
      await c.query('RESET standard_conforming_strings');
      c.release();
    }
  });
});

describe('sqlExpression', () => {
  it('parenthesizes a filter and refuses one that could leave its parentheses', async () => {
    const { sqlExpression } = await import('../../src/sql/index.ts');
    expect(sqlExpression('NOT research_opt_out').text).toBe('(NOT research_opt_out)');
    for (const bad of ['true) OR (1=1', 'x; DROP TABLE t', 'a -- b', "a = 'unclosed", 'a /* b */']) {
      expect(() => sqlExpression(bad)).toThrow(/invalid SQL expression/);
    }
  });
});
