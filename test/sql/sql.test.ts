import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql, ident, literal, dollarQuoted, jsonbLiteral, join, param, compile, typeName, operatorName, textLiteral } from '../../src/sql/index.ts';
import { query, queryRows, readOnly, savepoint } from '../../src/db/query.ts';
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

describe('bound values', () => {
  it('compile() numbers the placeholders in order through nesting and join()', () => {
    const inner = sql`b = ${param('x')}`;
    expect(compile(sql`SELECT 1 WHERE a = ${param(1)} AND ${inner} AND c IN (${join([param(null), literal(3), param(true)])})`)).toEqual({
      text: 'SELECT 1 WHERE a = $1 AND b = $2 AND c IN ($3, 3, $4)',
      values: [1, 'x', null, true],
    });
    expect(compile(sql`SELECT ${literal(1)}`)).toEqual({ text: 'SELECT 1', values: [] });
  });

  it('has no .text: it cannot be pasted into SQL text, only compiled', () => {
    expect(() => sql`x = ${param(1)}`.text).toThrow(/bound values.*compile\(\)/);
  });
});

describe('typeName', () => {
  it.each(['text', 'character varying(40)', 'numeric(10,2)', 'timestamp(3) with time zone', 'time without time zone', 'interval day to second(3)', 'double precision', 'int4[]', 'public."My ""odd"" type"', '"char"', 'bit varying(5)[]', 'public.müll_typ'])(
    'accepts format_type() output %j',
    (name) => expect(typeName(name).text).toBe(name),
  );
  it.each(['text); DROP TABLE t; --', 'text FROM t', "text'", 'a.b.c', 'int4 /* x */', '', 'numeric(10,2) collate "C"'])('refuses %j', (name) => {
    expect(() => typeName(name)).toThrow(/not a type name/);
  });
});

describe('operatorName and textLiteral', () => {
  it('accepts operator characters only', () => {
    expect(sql`x ${operatorName('->>')} y`.text).toBe('x ->> y');
    for (const bad of ['||; DROP TABLE t', '+--', '/*', 'a', '']) expect(() => operatorName(bad)).toThrow(/not an operator name/);
  });
  it("quotes a fragment's text as a literal, and refuses one with bound values", () => {
    expect(sql`SELECT ${textLiteral(ident('public', "it's"))}::regclass`.text).toBe(`SELECT '"public"."it''s"'::regclass`);
    expect(() => textLiteral(sql`x = ${param(1)}`)).toThrow(/bound values/);
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

  it('sends bound values apart from the text; savepoint() and readOnly() undo what they must', async () => {
    const hostileValue = "'; DROP TABLE x; --";
    expect(await queryRows(db.pool, sql`SELECT ${param(hostileValue)}::text AS v, ${param(2)}::int + 1 AS n`)).toEqual([{ v: hostileValue, n: 3 }]);
    const client = await db.pool.connect();
    try {
      await query(client, sql`BEGIN`);
      await query(client, sql`CREATE TABLE kept (x int)`);
      await expect(savepoint(client, () => query(client, sql`CREATE TABLE broken (x nosuchtype)`))).rejects.toThrow(/nosuchtype/);
      await savepoint(client, () => query(client, sql`CREATE TABLE probed (x int)`), { rollback: true });
      await query(client, sql`COMMIT`);
      const tables = await queryRows<{ t: string }>(db.pool, sql`SELECT relname AS t FROM pg_class WHERE relname IN ('kept', 'broken', 'probed')`);
      expect(tables).toEqual([{ t: 'kept' }]);
      await expect(readOnly(client, () => query(client, sql`CREATE TABLE written (x int)`))).rejects.toThrow(/read-only transaction/);
      expect(await queryRows(client, sql`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
    } finally {
      client.release();
    }
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
