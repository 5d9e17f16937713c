import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql } from '../../src/sql/index.ts';
import { zip3 } from '../../src/transforms/zip3.ts';
import { zip3 as zip3Js } from '../../src/transforms/js/zip3.ts';
import { zip3Restricted } from '../../src/transforms/data/zip3-restricted.ts';
import { batch, column, randomInt, randomText, seededRandom, sqlFileText, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['zip3.sql']);
});
afterAll(async () => {
  await db?.drop();
});

describe('zip3: JavaScript and SQL agree', () => {
  it('on 2,000 random ZIP-like and other strings (one round trip)', async () => {
    const rand = seededRandom(9);
    const digits = (n: number) => Array.from({ length: n }, () => String(randomInt(rand, 0, 9))).join('');
    const values: string[] = [];
    const opts: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const k = rand();
      const five = rand() < 0.1 ? zip3Restricted[randomInt(rand, 0, zip3Restricted.length - 1)]! + digits(2) : digits(5);
      values.push(
        k < 0.4 ? five : k < 0.55 ? `${five}-${digits(4)}` : k < 0.65 ? `${five}${digits(4)}` : k < 0.7 ? `${' '.repeat(randomInt(rand, 0, 3))}${five} ${digits(4)}  ` : k < 0.8 ? digits(randomInt(rand, 0, 11)) : randomText(rand, 12),
      );
      opts.push(JSON.stringify(rand() < 0.2 ? { restricted: [digits(3), five.slice(0, 3)].slice(0, randomInt(rand, 0, 2)) } : {}));
    }
    const fromSql = await batch(db.client, 'pgmask.zip3(t.a1, t.a2)', [values, opts], ['text', 'jsonb']);
    expect(fromSql).toEqual(values.map((v, i) => zip3Js(v, JSON.parse(opts[i]!))));
    expect(fromSql.filter((r) => r === '00000').length).toBeGreaterThan(50);
    expect(fromSql.filter((r) => r === null).length).toBeGreaterThan(200);
  });

  it('uses the same built-in restricted list in both runtimes', () => {
    const m = /coalesce\(opts -> 'restricted', '(\[[^']*\])'::jsonb\)/.exec(sqlFileText('zip3.sql'));
    expect(m).not.toBeNull();
    expect(JSON.parse(m![1]!)).toEqual([...zip3Restricted]);
  });

  it('follows Safe Harbor on the examples', () => {
    expect(['02115', '02115-1234', ' 021151234 ', '03601', '89301', '2115', 'Boston'].map((z) => zip3Js(z, null))).toEqual(['02100', '02100', '02100', '00000', '00000', null, null]);
  });
});

describe('zip3: metadata, check and render', () => {
  const zip = column('zip', 'text', 'character varying(10)', 'varchar');
  const tbl = table('patients', [zip], null);
  it('renders the list it uses into the view', () => {
    const r = zip3.render({ value: sql`src.${ident('zip')}`, column: zip, table: tbl, params: zip3.params.parse({}), key: sql`NULL`, subject: null, rowKey: null });
    expect(r.text).toBe(`pgmask.zip3(src."zip"::text, '{"restricted":${JSON.stringify(zip3Restricted)}}'::jsonb)`);
    const custom = zip3.render({ value: sql`src.${ident('zip')}`, column: zip, table: tbl, params: zip3.params.parse({ restricted: ['021'] }), key: sql`NULL`, subject: null, rowKey: null });
    expect(custom.text).toBe(`pgmask.zip3(src."zip"::text, '{"restricted":["021"]}'::jsonb)`);
  });

  it('accepts text columns only and refuses ones too short for five characters', () => {
    expect(zip3.types).toEqual(['text']);
    const short = column('zip', 'text', 'character(3)', 'bpchar');
    expect(zip3.check!({ column: short, table: tbl, params: {}, subjectColumn: null, runtime: 'sql' }).map((p) => p.code)).toEqual(['ZIP3_COLUMN_TOO_SHORT']);
    expect(zip3.params.safeParse({ restricted: ['36'] }).success).toBe(false);
  });
});
