import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { textForJs } from '../../plv8/compile-install.ts';
import { sql, trustedSqlText } from '../../src/sql/index.ts';

/**
 * The plv8 runtime hands dates to JavaScript as text. That text must be PostgreSQL's ISO
 * spelling whatever DateStyle/TimeZone the analyst's session (or BI tool) uses, or the two
 * runtimes would disagree.
 */
describe('date text handed to PLV8', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const values: [string, string][] = [
    ['date', '2020-02-29'],
    ['date', '0044-03-15 BC'],
    ['date', 'infinity'],
    ['date', '-infinity'],
    ['date', '12020-01-01'],
    // the last and first dates PostgreSQL has: no timestamp holds them, so to_char (which takes one) cannot spell them
    ['date', '5874897-12-31'],
    ['date', '4714-11-24 BC'],
    ['date', '0001-01-01'],
    ['date', '0001-12-31 BC'],
    ['timestamp', '2020-02-29 13:45:00'],
    ['timestamp', '2020-02-29 13:45:00.5'],
    ['timestamp', '2020-02-29 13:45:00.000123'],
    ['timestamp', '0044-03-15 12:00:00 BC'],
    ['timestamp', 'infinity'],
    ['timestamptz', '2021-03-28 01:30:00+00'],
    ['timestamptz', '2021-10-31 00:59:59.25+00'],
  ];

  it.each(values)('%s %s is spelled as ISO/UTC under any DateStyle and TimeZone', async (type, text) => {
    const c = await db.pool.connect();
    try {
      await c.query(`SET DateStyle = 'ISO, MDY'; SET TimeZone = 'UTC'`);
      const iso = (await c.query(`SELECT $1::${type}::text AS t`, [text])).rows[0].t;
      for (const style of ['SQL, DMY', 'German', 'Postgres, MDY', 'ISO, YMD']) {
        await c.query(`SET DateStyle = '${style}'; SET TimeZone = 'America/Los_Angeles'`);
        const expr = textForJs(sql`v`, type);
        const got = (await c.query(sql`SELECT ${expr} AS t FROM (SELECT $1::${trustedSqlText(type)} AS v) x`.text, [text])).rows[0].t;
        expect(got, style).toBe(iso);
      }
    } finally {
      await c.query('RESET DateStyle; RESET TimeZone');
      c.release();
    }
  });
});
