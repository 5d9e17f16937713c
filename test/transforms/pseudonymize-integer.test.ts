/**
 * Integer and uuid pseudonyms: the integer pseudonym is a permutation of the type's range
 * (checked on 100,000 distinct inputs in TypeScript and on the sql runtime in PostgreSQL,
 * and on all 65,536 int2 values), both runtimes agree, and the SQL functions cannot be
 * redirected by a caller's search_path (the key is an argument: a hijacked operator or
 * hmac() would receive it).
 */
import { renderTransform } from '../support/render-transform.ts';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonymizeInt2, pseudonymizeInt4, pseudonymizeInt8, pseudonymizeUuid } from '../../src/transforms/js/pseudonymize.ts';
import { pseudonymize } from '../../src/transforms/pseudonymize.ts';
import { registry } from '../../src/transforms/registry.ts';
import { sqlRuntimeInstall } from '../../src/runtime/runtime-install.ts';
import { ident, sql } from '../../src/sql/index.ts';
import type { CatalogColumn, CatalogTable } from '../../src/catalog/catalog-snapshot.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const key = new Uint8Array(KEY);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('pgmask_pseudo_int');
  await db.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
  await db.query('CREATE SCHEMA pgmask');
  await db.query(sqlRuntimeInstall(registry));
});
afterAll(async () => {
  await db?.drop();
});

/** 100,000 distinct int4 inputs spread over the whole range, both ends included. */
function int4Inputs(): number[] {
  const out: number[] = [];
  for (let i = 0; i < 100_000; i++) out.push(-2147483648 + Math.floor((i * 4294967295) / 99_999));
  return out;
}

describe('integer pseudonym is a permutation (TypeScript)', () => {
  it('int2: all 65,536 values map onto all 65,536 values', () => {
    const seen = new Set<number>();
    let outOfRange = 0;
    for (let v = -32768; v <= 32767; v++) {
      const out = Number(pseudonymizeInt2(String(v), key, {}));
      if (!(Number.isInteger(out) && out >= -32768 && out <= 32767)) outOfRange++;
      seen.add(out);
    }
    expect(outOfRange).toBe(0);
    expect(seen.size).toBe(65536);
  });

  it('int4: 100,000 distinct inputs give 100,000 distinct outputs inside int4', () => {
    const inputs = int4Inputs();
    expect(new Set(inputs).size).toBe(100_000);
    const outs = new Set<number>();
    let outOfRange = 0;
    for (const v of inputs) {
      const out = pseudonymizeInt4(v, key, {});
      if (!(Number.isInteger(out) && out >= -2147483648 && out <= 2147483647)) outOfRange++;
      outs.add(out);
    }
    expect(outOfRange).toBe(0);
    expect(outs.size).toBe(100_000);
  });

  it('int8: 100,000 distinct inputs (incl. beyond 2^53 and both ends) give distinct int8 outputs', () => {
    const outs = new Set<string>();
    const min = -(2n ** 63n);
    const max = 2n ** 63n - 1n;
    let outOfRange = 0;
    for (let i = 0n; i < 100_000n; i++) {
      const v = i < 50_000n ? min + i * 7919n : max - (i - 50_000n) * 104729n;
      const out = BigInt(pseudonymizeInt8(v.toString(), key, {}));
      if (!(out >= min && out <= max)) outOfRange++;
      outs.add(out.toString());
    }
    expect(outOfRange).toBe(0);
    expect(outs.size).toBe(100_000);
  });

  it('depends on the key', () => {
    const other = new Uint8Array(randomBytes(32));
    const same = int4Inputs()
      .slice(0, 1000)
      .filter((v) => pseudonymizeInt4(v, key, {}) === pseudonymizeInt4(v, other, {})).length;
    expect(same).toBeLessThan(3);
  });
});

describe('integer pseudonym is a permutation (sql runtime in PostgreSQL)', () => {
  it('int4: 100,000 distinct inputs give 100,000 distinct outputs inside int4', async () => {
    const r = await db.query<{ n: string; d: string; lo: number; hi: number }>(
      `SELECT count(*) AS n, count(DISTINCT p) AS d, min(p) AS lo, max(p) AS hi
       FROM (SELECT pgmask.pseudonymize_int4((-2147483648 + (i * 4294967295) / 99999)::int4, $1, '{}') AS p
             FROM generate_series(0::int8, 99999) i) s`,
      [KEY],
    );
    expect(r.rows[0]).toMatchObject({ n: '100000', d: '100000' });
    expect(typeof r.rows[0]!.lo).toBe('number');
  });

  it('int2: all 65,536 values map onto all 65,536 values', async () => {
    const r = await db.query<{ d: string }>(`SELECT count(DISTINCT pgmask.pseudonymize_int2(i::int2, $1, '{}')) AS d FROM generate_series(-32768, 32767) i`, [KEY]);
    expect(r.rows[0]!.d).toBe('65536');
  });

  it('int8: 100,000 distinct inputs give 100,000 distinct outputs', async () => {
    const r = await db.query<{ d: string }>(
      `SELECT count(DISTINCT pgmask.pseudonymize_int8(CASE WHEN i < 50000 THEN -9223372036854775808 + i * 7919 ELSE 9223372036854775807 - (i - 50000) * 104729 END, $1, '{}')) AS d
       FROM generate_series(0::int8, 99999) i`,
      [KEY],
    );
    expect(r.rows[0]!.d).toBe('100000');
  });

  it('agrees with TypeScript on 2,000 random values of each type and on uuids', async () => {
    const buf = randomBytes(8 * 2000);
    const i4 = Array.from({ length: 2000 }, (_, i) => buf.readInt32BE(i * 4));
    const i8 = Array.from({ length: 2000 }, (_, i) => buf.readBigInt64BE(i * 8).toString());
    const i2 = Array.from({ length: 2000 }, (_, i) => buf.readInt16BE(i * 2));
    const uuids = Array.from({ length: 500 }, () => crypto.randomUUID());
    const r = await db.query<{ a: number[]; b: string[]; c: number[]; u: string[] }>(
      `SELECT (SELECT array_agg(pgmask.pseudonymize_int4(x, $1, '{}') ORDER BY o) FROM unnest($2::int4[]) WITH ORDINALITY t(x, o)) AS a,
              (SELECT array_agg(pgmask.pseudonymize_int8(x, $1, '{}')::text ORDER BY o) FROM unnest($3::int8[]) WITH ORDINALITY t(x, o)) AS b,
              (SELECT array_agg(pgmask.pseudonymize_int2(x, $1, '{}') ORDER BY o) FROM unnest($4::int2[]) WITH ORDINALITY t(x, o)) AS c,
              (SELECT array_agg(pgmask.pseudonymize_uuid(x, $1, '{}')::text ORDER BY o) FROM unnest($5::uuid[]) WITH ORDINALITY t(x, o)) AS u`,
      [KEY, i4, i8, i2, uuids],
    );
    const row = r.rows[0]!;
    expect(row.a).toEqual(i4.map((v) => pseudonymizeInt4(v, key, {})));
    expect(row.b).toEqual(i8.map((v) => pseudonymizeInt8(v, key, {})));
    expect(row.c.map(String)).toEqual(i2.map((v) => pseudonymizeInt2(String(v), key, {})));
    expect(row.u).toEqual(uuids.map((v) => pseudonymizeUuid(v, key, {})));
    for (const u of row.u) expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('sql runtime functions ignore the caller search_path', () => {
  it('a role that shadows hmac() and the integer operators still gets the true pseudonyms and its functions never see the key', async () => {
    const role = `pgmask_hijack_${uniqueSuffix()}`;
    const url = await db.createLoginRole(role);
    await db.query(sql`CREATE SCHEMA ${ident(role)} AUTHORIZATION ${ident(role)}`.text);
    await db.query(sql`GRANT USAGE ON SCHEMA pgmask TO ${ident(role)}`.text);
    const expected = await db.query<{ t: string; i: number; b: string }>(
      `SELECT pgmask.pseudonymize('A1', $1, '{}') AS t, pgmask.pseudonymize_int4(7, $1, '{}') AS i, pgmask.pseudonymize_int8(7, $1, '{}')::text AS b`,
      [KEY],
    );
    const s = ident(role).text;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const results = (await client
      .query(
        `CREATE FUNCTION ${s}.hmac(bytea, bytea, text) RETURNS bytea LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'stolen key %', $2; END $$;
       CREATE FUNCTION ${s}.steal(int8, int8) RETURNS int8 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'stolen'; END $$;
       CREATE OPERATOR ${s}.# (LEFTARG = int8, RIGHTARG = int8, FUNCTION = ${s}.steal);
       CREATE OPERATOR ${s}.& (LEFTARG = int8, RIGHTARG = int8, FUNCTION = ${s}.steal);
       SET search_path = ${s}, pg_catalog, public;
       SELECT pgmask.pseudonymize('A1', '\\x${KEY.toString('hex')}'::bytea, '{}') AS t,
              pgmask.pseudonymize_int4(7, '\\x${KEY.toString('hex')}'::bytea, '{}') AS i,
              pgmask.pseudonymize_int8(7, '\\x${KEY.toString('hex')}'::bytea, '{}')::text AS b`,
      )
      .finally(() => client.end())) as unknown as pg.QueryResult[];
    // the shadowing objects exist and would be picked for unqualified names
    expect(results.length).toBe(6);
    expect(results[5]!.rows).toEqual([expected.rows[0]]);
    // and they really are picked for unqualified names under that search_path
    const probe = new pg.Client({ connectionString: url });
    await probe.connect();
    try {
      await expect(probe.query(`SET search_path = ${s}, pg_catalog, public; SELECT 1::int8 # 2::int8`)).rejects.toThrow('stolen');
      await expect(probe.query(`SELECT hmac('a'::bytea, 'k'::bytea, 'sha256')`)).rejects.toThrow('stolen key');
    } finally {
      await probe.end();
    }
  });
});

describe('pseudonymize metadata', () => {
  const table = { schema: 'public', name: 't' } as CatalogTable;
  const column = (typeName: string, family: CatalogColumn['family'], sqlType = typeName): CatalogColumn => ({ name: 'c', position: 1, sqlType, typeName, typeSchema: 'pg_catalog', family, nullable: true, comment: null });
  const render = (c: CatalogColumn) => renderTransform(pseudonymize, { value: sql`src."c"`, column: c, table, params: {}, key: sql`K`, subject: null, rowKey: null }).text;

  it('renders one SQL function per column type', () => {
    expect(render(column('int2', 'integer', 'smallint'))).toBe(`pgmask.pseudonymize_int2(src."c"::int2, K, '{}'::jsonb)`);
    expect(render(column('int4', 'integer', 'integer'))).toBe(`pgmask.pseudonymize_int4(src."c"::int4, K, '{}'::jsonb)`);
    expect(render(column('int8', 'integer', 'bigint'))).toBe(`pgmask.pseudonymize_int8(src."c"::int8, K, '{}'::jsonb)`);
    expect(render(column('uuid', 'uuid'))).toBe(`pgmask.pseudonymize_uuid(src."c"::uuid, K, '{}'::jsonb)`);
    expect(render(column('varchar', 'text', 'character varying(40)'))).toBe(`pgmask.pseudonymize(src."c"::text, K, '{}'::jsonb)`);
  });

  it('every plv8 signature has the SQL runtime twin with the same name and argument types', async () => {
    for (const sig of pseudonymize.plv8 ?? []) {
      const r = await db.query(`SELECT to_regprocedure($1) AS p`, [`pgmask.${sig.sqlName}(${sig.args.map(([, t]) => t).join(',')})`]);
      expect(r.rows[0].p, sig.sqlName).not.toBeNull();
    }
  });

  it('refuses prefix/length on integer and uuid columns', () => {
    const problems = pseudonymize.check!({ column: column('int4', 'integer', 'integer'), table, params: { prefix: 'X' }, subjectColumn: null, runtime: 'sql' });
    expect(problems.map((p) => p.code)).toEqual(['PSEUDONYM_PARAMS_TEXT_ONLY']);
    expect(pseudonymize.check!({ column: column('int4', 'integer', 'integer'), table, params: {}, subjectColumn: null, runtime: 'sql' })).toEqual([]);
  });
});

