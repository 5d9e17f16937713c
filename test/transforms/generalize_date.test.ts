import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ident, sql } from '../../src/sql/index.ts';
import { generalizeDate } from '../../src/transforms/generalize-date.ts';
import { generalizeDate as generalizeDateJs, type DatePeriod } from '../../src/transforms/js/generalize-date.ts';
import { formatCivil, daysInMonth } from '../../src/transforms/js/civil-date.ts';
import { batch, column, randomInt, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['generalize_date.sql']);
});
afterAll(async () => {
  await db?.drop();
});

const periods: DatePeriod[] = ['year', 'quarter', 'month'];

/** random dates over PostgreSQL's whole range, BC included, as PostgreSQL prints them (DateStyle ISO) */
function randomDates(seed: number, n: number, withTime: boolean): string[] {
  const rand = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const year = rand() < 0.8 ? randomInt(rand, 1890, 2030) : randomInt(rand, -4712, withTime ? 294275 : 5874896);
    const month = randomInt(rand, 1, 12);
    const day = randomInt(rand, 1, daysInMonth(year, month));
    const time = withTime ? `${String(randomInt(rand, 0, 23)).padStart(2, '0')}:${String(randomInt(rand, 0, 59)).padStart(2, '0')}:${String(randomInt(rand, 0, 59)).padStart(2, '0')}${rand() < 0.3 ? '.' + String(randomInt(rand, 1, 999999)).padStart(6, '0').replace(/0+$/, '') : ''}` : null;
    out.push(formatCivil({ year, month, day, time }));
  }
  return out;
}

describe('generalize_date: JavaScript and SQL agree', () => {
  for (const [type, withTime] of [['date', false], ['timestamp', true]] as const) {
    it(`on 2,000 random ${type} values over the whole range (one round trip)`, async () => {
      const values = randomDates(type === 'date' ? 3 : 4, 2000, withTime);
      const opts = values.map((_, i) => JSON.stringify({ to: periods[i % 3] }));
      // the values go in and come out as text, as through the plv8 wrappers
      await db.client.query(`SET DateStyle = 'ISO, MDY'`);
      const fromSql = await batch(db.client, `pgmask.generalize_date(t.a1, t.a2)`, [values, opts], [type, 'jsonb']);
      expect(fromSql).toEqual(values.map((v, i) => generalizeDateJs(v, { to: periods[i % 3]! })));
    });
  }

  it('keeps infinity, truncates to the first day of each period', () => {
    expect(generalizeDateJs('infinity', { to: 'year' })).toBe('infinity');
    expect(generalizeDateJs('2024-11-30', { to: 'quarter' })).toBe('2024-10-01');
    expect(generalizeDateJs('2024-02-29 13:14:15.5', { to: 'month' })).toBe('2024-02-01 00:00:00');
    expect(generalizeDateJs('0044-03-15 BC', { to: 'year' })).toBe('0044-01-01 BC');
    expect(() => generalizeDateJs('29.02.2024', { to: 'year' })).toThrow(/ISO DateStyle/);
  });
});

describe('generalize_date: timestamptz on the wall clock of a fixed zone', () => {
  const col = column('admitted_at', 'timestamptz', 'timestamp with time zone', 'timestamptz');
  const tbl = table('visits', [col], null);
  const render = (params: Record<string, unknown>) => renderTransform(generalizeDate, { value: sql`src.${ident('admitted_at')}`, column: col, table: tbl, params: generalizeDate.params.parse(params), key: sql`NULL`, subject: null, rowKey: null });

  it('renders exact SQL', () => {
    expect(render({ to: 'month', time_zone: 'Europe/Berlin' }).text).toBe(
      `((pgmask.generalize_date((src."admitted_at" AT TIME ZONE 'Europe/Berlin'), '{"to":"month"}'::jsonb)) AT TIME ZONE 'Europe/Berlin')`,
    );
    expect(render({ to: 'year' }).text).toBe(`((pgmask.generalize_date((src."admitted_at" AT TIME ZONE 'UTC'), '{"to":"year"}'::jsonb)) AT TIME ZONE 'UTC')`);
    expect(generalizeDate.params.safeParse({ to: 'week' }).success).toBe(false);
    expect(generalizeDate.params.safeParse({ to: 'year', time_zone: "UTC'; DROP" }).success).toBe(false);
  });

  it('gives local midnight of the first day in that zone, whatever the session TimeZone', async () => {
    await db.client.query(`CREATE TABLE visits (admitted_at timestamptz)`);
    await db.client.query(`INSERT INTO visits VALUES ('2024-03-31 23:30:00+00'), ('2024-04-01 00:30:00+02'), ('2024-10-27 01:30:00+00'), ('2023-12-31 23:59:59-05'), (NULL), ('infinity')`);
    await db.client.query(sql`CREATE VIEW masked_visits AS SELECT CAST(${render({ to: 'month', time_zone: 'Europe/Berlin' })} AS timestamptz) AS admitted_at FROM visits AS src`.text);
    const read = async (zone: string) => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(`SET TimeZone = '${zone}'`);
        return (await c.query<{ t: string | null }>(`SELECT (admitted_at AT TIME ZONE 'Europe/Berlin')::text AS t FROM masked_visits`)).rows.map((r) => r.t);
      } finally {
        await c.end();
      }
    };
    const expected = ['2024-04-01 00:00:00', '2024-04-01 00:00:00', '2024-10-01 00:00:00', '2024-01-01 00:00:00', null, 'infinity'];
    expect(await read('UTC')).toEqual(expected);
    expect(await read('America/Los_Angeles')).toEqual(expected);
  });
});
