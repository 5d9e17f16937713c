import { renderTransform } from '../support/render-transform.ts';
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
    const m = /'\{([0-9,]*)\}'::text\[\]\)\)/.exec(sqlFileText('zip3.sql'));
    expect(m).not.toBeNull();
    expect(m![1]!.split(',')).toEqual([...zip3Restricted]);
  });

  it('gives the same results specialized (the list as a text[] constant) as through the jsonb function', async () => {
    const values = ['02115', '02115-1234', ' 021151234 ', '03601', '89301', '2115', 'Boston', '', ' 12345 6789 ', '12345--6789', null];
    const lists = [undefined, ['021'], []];
    for (const restricted of lists) {
      const params = zip3.params.parse(restricted === undefined ? {} : { restricted });
      const tbl = table('t', [column('zip', 'text', 'text', 'text')], null);
      const specialized = renderTransform(zip3, { value: sql`t.a1`, column: tbl.columns[0]!, table: tbl, params, key: sql`NULL`, subject: null, rowKey: null });
      expect(specialized.text).toMatch(/^pgmask\._zip3\(/);
      const fromView = await batch(db.client, specialized.text, [values], ['text']);
      const fromFunction = await batch(db.client, 'pgmask.zip3(t.a1, t.a2)', [values, values.map(() => JSON.stringify(restricted === undefined ? {} : { restricted }))], ['text', 'jsonb']);
      expect(fromView).toEqual(fromFunction);
    }
  });

  it('follows Safe Harbor on the examples', () => {
    expect(['02115', '02115-1234', ' 021151234 ', '03601', '89301', '2115', 'Boston'].map((z) => zip3Js(z, null))).toEqual(['02100', '02100', '02100', '00000', '00000', null, null]);
  });
});

describe('zip3: metadata, check and render', () => {
  const zip = column('zip', 'text', 'character varying(10)', 'varchar');
  const tbl = table('patients', [zip], null);
  it('renders the list it uses into the view', () => {
    const r = renderTransform(zip3, { value: sql`src.${ident('zip')}`, column: zip, table: tbl, params: zip3.params.parse({}), key: sql`NULL`, subject: null, rowKey: null });
    expect(r.text).toBe(`pgmask._zip3(src."zip"::text, '{${zip3Restricted.join(',')}}'::text[])`);
    const custom = renderTransform(zip3, { value: sql`src.${ident('zip')}`, column: zip, table: tbl, params: zip3.params.parse({ restricted: ['021'] }), key: sql`NULL`, subject: null, rowKey: null });
    expect(custom.text).toBe(`pgmask._zip3(src."zip"::text, '{021}'::text[])`);
    const plv8 = renderTransform(zip3, { value: sql`src.${ident('zip')}`, column: zip, table: tbl, params: zip3.params.parse({ restricted: ['021'] }), key: sql`NULL`, subject: null, rowKey: null, runtime: 'plv8' });
    expect(plv8.text).toBe(`pgmask.zip3(src."zip"::text, '{"restricted":["021"]}'::jsonb)`);
  });

  it('accepts text columns only and refuses ones too short for five characters', () => {
    expect(zip3.types).toEqual(['text']);
    const short = column('zip', 'text', 'character(3)', 'bpchar');
    expect(zip3.check!({ column: short, table: tbl, params: {}, subjectColumn: null, runtime: 'sql' }).map((p) => p.code)).toEqual(['ZIP3_COLUMN_TOO_SHORT']);
    expect(zip3.params.safeParse({ restricted: ['36'] }).success).toBe(false);
  });
});
