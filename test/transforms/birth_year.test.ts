import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql } from '../../src/sql/index.ts';
import { birthYear } from '../../src/transforms/birth-year.ts';
import { birthYear as birthYearJs } from '../../src/transforms/js/birth-year.ts';
import { batch, column, randomInt, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['birth_year.sql']);
});
afterAll(async () => {
  await db?.drop();
});

describe('birth_year: JavaScript and SQL agree', () => {
  it('on 2,000 random years and reference dates (one round trip)', async () => {
    const rand = seededRandom(31);
    const years: string[] = [];
    const asOf: string[] = [];
    for (let i = 0; i < 2000; i++) {
      years.push(String(randomInt(rand, 1800, 2030)));
      asOf.push(`${randomInt(rand, 1990, 2060)}-${String(randomInt(rand, 1, 12)).padStart(2, '0')}-${String(randomInt(rand, 1, 28)).padStart(2, '0')}`);
    }
    const fromSql = await batch(db.client, 'pgmask.birth_year(t.a1, t.a2)', [years, asOf], ['int8', 'date']);
    const fromJs = years.map((y, i) => birthYearJs(y, asOf[i]!));
    expect(fromSql).toEqual(fromJs);
    // both sides of the cap occur
    expect(fromJs.filter((y, i) => y !== years[i]).length).toBeGreaterThan(200);
    expect(fromJs.filter((y, i) => y === years[i]).length).toBeGreaterThan(200);
  });

  it('top-codes every year implying 90 or more, and keeps the others', () => {
    expect(['1900', '1934', '1935', '1936', '1950', '2020'].map((y) => birthYearJs(y, '2025-01-01'))).toEqual(['1935', '1935', '1935', '1936', '1950', '2020']);
  });
});

describe('birth_year: render and check', () => {
  const yob = column('year_of_birth', 'integer', 'integer', 'int4');
  const tbl = table('person', [yob], null);
  it('passes as_of into the view, or today in the time zone without it', () => {
    const fixed = renderTransform(birthYear, { value: sql`src.${ident('year_of_birth')}`, column: yob, table: tbl, params: birthYear.params.parse({ as_of: '2025-01-01' }), key: sql`NULL`, subject: null, rowKey: null });
    expect(fixed.text).toBe(`pgmask.birth_year(src."year_of_birth"::int8, '2025-01-01'::date)`);
    const today = renderTransform(birthYear, { value: sql`src.${ident('year_of_birth')}`, column: yob, table: tbl, params: birthYear.params.parse({}), key: sql`NULL`, subject: null, rowKey: null });
    expect(today.text).toBe(`pgmask.birth_year(src."year_of_birth"::int8, (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date)`);
  });

  it('refuses a non-calendar as_of and non-integer columns', () => {
    expect(birthYear.check!({ column: yob, table: tbl, params: { as_of: '2025-02-30' }, subjectColumn: null, runtime: 'sql' }).map((p) => p.code)).toEqual(['BIRTH_YEAR_AS_OF']);
    expect(birthYear.types).toEqual(['integer']);
  });
});
