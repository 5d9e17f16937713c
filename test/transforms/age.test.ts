import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql } from '../../src/sql/index.ts';
import { age } from '../../src/transforms/age.ts';
import { ageBirthDate, ageBirthTimestamp, ageYears } from '../../src/transforms/js/age.ts';
import { daysInMonth, formatCivil } from '../../src/transforms/js/civil-date.ts';
import { batch, column, randomInt, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['age.sql', 'generalize_date.sql']);
  await db.client.query(`SET DateStyle = 'ISO, MDY'`);
});
afterAll(async () => {
  await db?.drop();
});

function randomDate(rand: () => number, lo: number, hi: number): string {
  const year = randomInt(rand, lo, hi);
  const month = randomInt(rand, 1, 12);
  return formatCivil({ year, month, day: randomInt(rand, 1, daysInMonth(year, month)), time: null });
}

describe('age: JavaScript and SQL agree', () => {
  it('on 2,000 random ages (integers, decimals, long decimals, specials)', async () => {
    const rand = seededRandom(7);
    const specials = ['NaN', 'Infinity', '-Infinity', '89', '89.0', '89.000000000000000000000001', '90', '-0.5'];
    const values = Array.from({ length: 2000 }, () => {
      const k = rand();
      if (k < 0.05) return specials[randomInt(rand, 0, specials.length - 1)]!;
      if (k < 0.6) return String(randomInt(rand, -5, 130));
      return `${randomInt(rand, 0, 130)}.${String(randomInt(rand, 0, 99999)).padStart(5, '0')}`;
    });
    expect(await batch(db.client, 'pgmask.age(t.a1)', [values], ['numeric'])).toEqual(values.map(ageYears));
  });

  it('on 2,000 random birth dates and timestamps against random reference dates (leap days, BC)', async () => {
    const rand = seededRandom(8);
    const births: string[] = [];
    const asOf: string[] = [];
    for (let i = 0; i < 2000; i++) {
      births.push(rand() < 0.02 ? (rand() < 0.5 ? 'infinity' : '-infinity') : randomDate(rand, rand() < 0.05 ? -500 : 1880, 2030));
      asOf.push(rand() < 0.2 ? ['2024-02-29', '2023-02-28', '2000-02-29', '2025-01-01'][randomInt(rand, 0, 3)]! : randomDate(rand, rand() < 0.05 ? 1 : 1990, 2040));
    }
    expect(await batch(db.client, 'pgmask.age(t.a1, t.a2)', [births, asOf], ['date', 'date'])).toEqual(births.map((b, i) => ageBirthDate(b, asOf[i]!)));
    const stamps = births.map((b, i) => (b.endsWith('infinity') ? b : b.endsWith(' BC') ? b.replace(' BC', ` ${String(i % 24).padStart(2, '0')}:30:00 BC`) : `${b} ${String(i % 24).padStart(2, '0')}:30:00`));
    expect(await batch(db.client, 'pgmask.age(t.a1, t.a2)', [stamps, asOf], ['timestamp', 'date'])).toEqual(stamps.map((b, i) => ageBirthTimestamp(b, asOf[i]!)));
  });

  it('makes everyone 90 or older exactly 90 on the reference date and leaves younger people alone', async () => {
    const { rows } = await db.client.query<{ b: string; a: string; years: number }>(`
      SELECT b::text, pgmask.age(b, date '2024-02-29')::text AS a, extract(year FROM age(date '2024-02-29', pgmask.age(b, date '2024-02-29')))::int AS years
        FROM (VALUES (date '1900-01-01'), ('1934-02-28'), ('1934-02-27'), ('1934-03-01'), ('1950-06-30')) v(b)`);
    expect(rows).toEqual([
      { b: '1900-01-01', a: '1934-02-28', years: 90 },
      { b: '1934-02-28', a: '1934-02-28', years: 90 },
      { b: '1934-02-27', a: '1934-02-28', years: 90 },
      { b: '1934-03-01', a: '1934-03-01', years: 89 },
      { b: '1950-06-30', a: '1950-06-30', years: 73 },
    ]);
  });
});

describe('age: metadata, check and render', () => {
  const birth = column('birth_date', 'date', 'date', 'date');
  const years = column('age_years', 'integer', 'integer', 'int4');
  const tbl = table('patients', [birth, years], null);
  const render = (col: typeof birth, params: Record<string, unknown>) => renderTransform(age, { value: sql`src.${ident(col.name)}`, column: col, table: tbl, params: age.params.parse(params), key: sql`NULL`, subject: null, rowKey: null });

  it('renders as_of as a literal, or today on the wall clock of time_zone (a STABLE view)', () => {
    expect(render(birth, { as_of: '2025-01-01' }).text).toBe(`pgmask.age(src."birth_date", '2025-01-01'::date)`);
    expect(render(birth, {}).text).toBe(`pgmask.age(src."birth_date", (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date)`);
    expect(render(years, {}).text).toBe(`pgmask.age(src."age_years"::numeric)`);
  });

  it('checks as_of and refuses date parameters on an age column', () => {
    const check = (col: typeof birth, params: Record<string, unknown>) => age.check!({ column: col, table: tbl, params: age.params.parse(params), subjectColumn: null, runtime: 'sql' }).map((p) => p.code);
    expect(check(birth, { as_of: '2023-02-29' })).toEqual(['AGE_AS_OF']);
    expect(check(birth, { as_of: '2024-02-29' })).toEqual([]);
    expect(check(years, { as_of: '2024-02-29' })).toEqual(['AGE_PARAM_TYPE']);
    expect(age.params.safeParse({ as_of: '1/2/2024' }).success).toBe(false);
  });

  it('year_only reduces every birth date, capped or not, to 1 January of its year (Safe Harbor alone)', async () => {
    expect(render(birth, { as_of: '2025-06-15', year_only: true }).text).toBe(
      `pgmask.generalize_date(pgmask.age(src."birth_date", '2025-06-15'::date), '{"to":"year"}'::jsonb)`,
    );
    const check = (params: Record<string, unknown>) => age.check!({ column: years, table: tbl, params: age.params.parse(params), subjectColumn: null, runtime: 'sql' }).map((p) => p.code);
    expect(check({ year_only: true })).toEqual(['AGE_PARAM_TYPE']);
    await db.client.query(`CREATE TABLE born (birth_date date)`);
    await db.client.query(`INSERT INTO born VALUES ('1930-05-02'), ('1980-07-31'), ('2000-02-29'), (NULL)`);
    const { rows } = await db.client.query(sql`SELECT CAST(${render(birth, { as_of: '2025-06-15', year_only: true })} AS date)::text AS b FROM born AS src ORDER BY src.birth_date`.text);
    expect(rows.map((r) => r.b)).toEqual(['1935-01-01', '1980-01-01', '2000-01-01', null]);
  });

  it('runs on the server: today by default, and the cast back keeps the column type', async () => {
    await db.client.query(`CREATE TABLE patients (birth_date date, age_years int)`);
    await db.client.query(`INSERT INTO patients VALUES (current_date - interval '95 years', 95), (current_date - interval '30 years', 30), (NULL, NULL)`);
    const { rows } = await db.client.query(sql`SELECT CAST(${render(birth, {})} AS date)::text AS b, CAST(${render(years, {})} AS integer) AS y FROM patients AS src ORDER BY y`.text);
    expect(rows.map((r) => r.y)).toEqual([30, 90, null]);
    const today = (await db.client.query<{ d: string }>(`SELECT ((CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date - interval '90 years')::date::text AS d`)).rows[0]!.d;
    expect(rows[1]!.b).toBe(today);
  });
});
