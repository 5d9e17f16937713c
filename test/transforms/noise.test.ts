import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ident, sql, type Sql } from '../../src/sql/index.ts';
import { noise } from '../../src/transforms/noise.ts';
import { noise as noiseJs, noiseLaplace, type NoiseOpts } from '../../src/transforms/js/noise.ts';
import type { CatalogColumn } from '../../src/catalog/catalog-snapshot.ts';
import { batch, column, KEY, KEY_HEX, randomInt, randomText, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['noise.sql']);
  await db.client.query(`CREATE TABLE test_keys (name text PRIMARY KEY, key bytea NOT NULL)`);
  await db.client.query(`INSERT INTO test_keys VALUES ('default', '\\x${KEY_HEX}')`);
});
afterAll(async () => {
  await db?.drop();
});

const keyRef = sql`(SELECT k.key FROM test_keys AS k WHERE k.name = 'default')`;

/** float8 as exact text: -0 and NaN kept apart, every other value by its shortest round-trip digits */
const exact = (n: number) => (Object.is(n, -0) ? '-0' : String(n));

function renderFor(col: CatalogColumn, params: Record<string, unknown>, runtime: 'sql' | 'plv8' = 'sql', subject: Sql | null = sql`src."id"::text`) {
  const tbl = table('measurements', [column('id', 'integer', 'integer', 'int4'), col], ['id']);
  return renderTransform(noise, { value: sql`src.${ident(col.name)}`, column: col, table: tbl, params: noise.params.parse(params), key: keyRef, subject, rowKey: sql`src."id"::text`, runtime });
}

describe('noise: JavaScript and SQL give the same float8', () => {
  for (const [fn, js] of [['noise', noiseJs], ['noise_laplace', noiseLaplace]] as const) {
  it(`${fn}: for 2,000 random values, row keys, columns and scales (one round trip)`, async () => {
    const rand = seededRandom(fn === 'noise' ? 5 : 6);
    const specials = [0, -0, NaN, Infinity, -Infinity, 1e280, 9.99e279, 1e-270, 9.9e-271, 5e-324, 1.7976931348623157e308, 2 ** 53 + 2, -(2 ** 31)];
    const values: number[] = [];
    const rowKeys: string[] = [];
    const opts: NoiseOpts[] = [];
    for (let i = 0; i < 2000; i++) {
      const kind = rand();
      values.push(
        kind < 0.05 ? specials[randomInt(rand, 0, specials.length - 1)]! : kind < 0.4 ? randomInt(rand, -100000, 100000) : (rand() - 0.5) * 10 ** randomInt(rand, -12, 18),
      );
      rowKeys.push(rand() < 0.5 ? String(randomInt(rand, 1, 1e9)) : randomText(rand, 30));
      const o: Record<string, unknown> = { column: randomText(rand, 12) || 'c' };
      if (rand() < 0.5) o.relative = [0.01, 0.05, 0.1, 1, 10, 1e-9][randomInt(rand, 0, 5)];
      else o.absolute = [1e-9, 0.5, 2.5, 100, 1e12][randomInt(rand, 0, 4)];
      opts.push(o as unknown as NoiseOpts);
    }
    const fromSql = await batch(db.client, `pgmask.${fn}(t.a1, t.a2, $4, t.a3)`, [values.map(exact), rowKeys, opts.map((o) => JSON.stringify(o))], ['float8', 'text', 'jsonb'], [Buffer.from(KEY)]);
    const mismatches = values
      .map((v, i) => ({ v, opts: opts[i], js: exact(js(v, rowKeys[i]!, KEY, opts[i]!)), sql: exact(Number(fromSql[i])) }))
      .filter((m) => m.js !== m.sql);
    expect(mismatches).toEqual([]);
    // the comparison is not vacuous: most values moved
    expect(values.filter((v, i) => Number.isFinite(v) && Number(fromSql[i]) !== v).length).toBeGreaterThan(1500);
  });
  }
});

describe('noise: masked values on the real server (100,000 rows)', () => {
  beforeAll(async () => {
    const c = db.client;
    await c.query(`CREATE TABLE measurements (id int PRIMARY KEY, weight_kg float8, score int4, price numeric(7,2))`);
    await c.query(`SELECT setseed(0.42)`);
    await c.query(`INSERT INTO measurements SELECT g, 40 + random() * 80, CASE WHEN g % 1000 = 0 THEN 2147483647 ELSE (random() * 1000)::int END, round((random() * 99999)::numeric, 2) FROM generate_series(1, 100000) g`);
    const weight = column('weight_kg', 'float', 'double precision', 'float8');
    await c.query(
      sql`CREATE VIEW masked AS SELECT src.id,
            ${renderFor(weight, { relative: 0.05 })} AS uniform,
            ${renderFor(weight, { relative: 0.05, distribution: 'laplace' })} AS laplace,
            ${renderFor(weight, { absolute: 2 })} AS absolute,
            CAST(${renderFor(column('score', 'integer', 'integer', 'int4'), { absolute: 1000 })} AS integer) AS score,
            CAST(${renderFor(column('price', 'numeric', 'numeric(7,2)', 'numeric'), { relative: 0.5, distribution: 'laplace' })} AS numeric(7,2)) AS price
          FROM measurements AS src`.text,
    );
    // the same columns through the runtime-independent jsonb functions (what the plv8 runtime's views call)
    await c.query(
      sql`CREATE VIEW masked_generic AS SELECT src.id,
            ${renderFor(weight, { relative: 0.05 }, 'plv8')} AS uniform,
            ${renderFor(weight, { relative: 0.05, distribution: 'laplace' }, 'plv8')} AS laplace,
            ${renderFor(weight, { absolute: 2 }, 'plv8')} AS absolute,
            CAST(${renderFor(column('score', 'integer', 'integer', 'int4'), { absolute: 1000 }, 'plv8')} AS integer) AS score,
            CAST(${renderFor(column('price', 'numeric', 'numeric(7,2)', 'numeric'), { relative: 0.5, distribution: 'laplace' }, 'plv8')} AS numeric(7,2)) AS price
          FROM measurements AS src`.text,
    );
  });

  it('gives the same values specialized (sql runtime views) as through the jsonb functions both runtimes implement', async () => {
    const { rows } = await db.client.query<{ n: string; differ: string }>(`
      SELECT count(*) AS n,
             count(*) FILTER (WHERE (s.uniform, s.laplace, s.absolute, s.score, s.price) IS DISTINCT FROM (g.uniform, g.laplace, g.absolute, g.score, g.price)) AS differ
        FROM masked s JOIN masked_generic g USING (id)`);
    expect(rows[0]).toEqual({ n: '100000', differ: '0' });
  });

  it('has a mean relative error within 10% of the configured scale, for uniform and laplace', async () => {
    const { rows } = await db.client.query<{ n: string; uniform: number; laplace: number; absolute: number; moved: string }>(`
      SELECT count(*) AS n,
             avg(abs(m.uniform - r.weight_kg) / r.weight_kg) AS uniform,
             avg(abs(m.laplace - r.weight_kg) / r.weight_kg) AS laplace,
             avg(abs(m.absolute - r.weight_kg)) AS absolute,
             count(*) FILTER (WHERE m.uniform <> r.weight_kg) AS moved
        FROM measurements r JOIN masked m USING (id)`);
    const r = rows[0]!;
    process.stdout.write(`[noise] 100,000 rows: mean relative error uniform ${r.uniform.toFixed(5)}, laplace ${r.laplace.toFixed(5)} (scale 0.05); mean absolute error ${r.absolute.toFixed(4)} (scale 2)\n`);
    expect(r.n).toBe('100000');
    expect(r.moved).toBe('100000');
    expect(Math.abs(r.uniform / 0.05 - 1)).toBeLessThan(0.1);
    expect(Math.abs(r.laplace / 0.05 - 1)).toBeLessThan(0.1);
    expect(Math.abs(r.absolute / 2 - 1)).toBeLessThan(0.1);
  });

  it('is identical across queries and sessions, so averaging repeated queries gains nothing', async () => {
    const digest = `SELECT md5(string_agg(id || ':' || uniform || ':' || laplace || ':' || score || ':' || price, ',' ORDER BY id)) AS h FROM masked WHERE id % 5 = 0`;
    const first = (await db.client.query<{ h: string }>(digest)).rows[0]!.h;
    const second = (await db.client.query<{ h: string }>(digest)).rows[0]!.h;
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query(`SET TimeZone = 'Asia/Tokyo'; SET DateStyle = 'German'`);
      expect((await other.query<{ h: string }>(digest)).rows[0]!.h).toBe(first);
    } finally {
      await other.end();
    }
    expect(second).toBe(first);
  });

  it('keeps integer and numeric(p,s) columns castable: rounded and clamped to the type range', async () => {
    const { rows } = await db.client.query<{ max_score: number; frac: string; over: string; price_max: string }>(`
      SELECT max(m.score) AS max_score,
             count(*) FILTER (WHERE m.price <> round(m.price, 2)) AS frac,
             count(*) FILTER (WHERE r.score = 2147483647 AND m.score = 2147483647) AS over,
             max(m.price)::text AS price_max
        FROM measurements r JOIN (SELECT id, score, price FROM masked OFFSET 0) m USING (id)`); // OFFSET 0: each masked value computed once
    expect(rows[0]!.max_score).toBe(2147483647);
    expect(Number(rows[0]!.over)).toBeGreaterThan(20); // about half of the 100 rows at the int4 maximum were pushed up and clamped
    expect(rows[0]!.frac).toBe('0');
    expect(Number(rows[0]!.price_max)).toBeLessThanOrEqual(99999.99);
  });
});

describe('noise: metadata, check and render', () => {
  const weight = column('weight_kg', 'float', 'double precision', 'float8');
  it('needs no primary key; refuses a session-dependent subject and fractional decimals on integers', () => {
    expect(noise.check!({ column: weight, table: table('obs', [weight], null), params: { relative: 0.05 }, subjectColumn: null, runtime: 'sql' })).toEqual([]);
    const int = column('n', 'integer', 'integer', 'int4');
    expect(noise.check!({ column: int, table: table('obs', [int], ['n']), params: { absolute: 1, decimals: 1 }, subjectColumn: null, runtime: 'sql' }).map((p) => p.code)).toEqual(['NOISE_DECIMALS_INTEGER']);
    const at = column('measured_at', 'timestamptz', 'timestamp with time zone', 'timestamptz');
    expect(noise.check!({ column: weight, table: table('obs', [at, weight], null), params: { relative: 0.05 }, subjectColumn: 'measured_at', runtime: 'sql' }).map((p) => p.code)).toEqual(['NOISE_SUBJECT_TYPE']);
    expect(noise.params.safeParse({ relative: 0.05, absolute: 1 }).success).toBe(false);
    expect(noise.params.safeParse({}).success).toBe(false);
    expect(noise.params.safeParse({ absolute: 1, min: 5, max: 1 }).success).toBe(false);
  });

  it('specializes the call on the sql runtime: constants, the label bytes precomputed, the value converted once, no guard a bounded type does not need', () => {
    const k = keyRef.text;
    // 'noise' NUL 'price' NUL
    const label = `'\\x6e6f69736500707269636500'::bytea`;
    expect(renderFor(column('price', 'numeric', 'numeric(7,2)', 'numeric'), { relative: 0.05 }).text).toBe(
      `greatest(least(floor(src."price"::float8 * (1 + '0.05'::float8 * pgmask._noise_uniform_factor(pgmask._labelled_hmac(${label}, src."price"::text || ':' || coalesce(src."id"::text, ''), ${k}))) * '100'::float8 + '0.5'::float8) / '100'::float8, '99999.99'::float8), '-99999.99'::float8)`,
    );
    expect(renderFor(column('n', 'integer', 'smallint', 'int2'), { absolute: 3, min: 0, distribution: 'laplace' }, 'sql', null).text).toBe(
      `greatest(least(floor(src."n"::float8 + '3'::float8 * pgmask._noise_laplace_factor(pgmask._labelled_hmac('\\x6e6f697365006e00'::bytea, src."n"::text || ':', ${k})) * '1'::float8 + '0.5'::float8) / '1'::float8, '32767'::float8), '0'::float8)`,
    );
    // float8: NaN, infinities, huge and tiny values pass unchanged
    expect(renderFor(weight, { relative: 0.05, decimals: -1 }).text).toBe(
      `CASE WHEN abs(src."weight_kg"::float8) < '1e+280'::float8 AND (src."weight_kg"::float8 = 0 OR abs(src."weight_kg"::float8) >= '1e-270'::float8) THEN floor(src."weight_kg"::float8 * (1 + '0.05'::float8 * pgmask._noise_uniform_factor(pgmask._labelled_hmac('\\x6e6f697365007765696768745f6b6700'::bytea, encode(float8send(src."weight_kg"::float8), 'hex') || ':' || coalesce(src."id"::text, ''), ${k}))) / '10'::float8 + '0.5'::float8) * '10'::float8 ELSE src."weight_kg"::float8 END`,
    );
    // plv8: the runtime-independent function with the jsonb options
    expect(renderFor(weight, { relative: 0.05 }, 'plv8').text).toBe(
      `pgmask.noise(src."weight_kg"::float8, encode(float8send(src."weight_kg"::float8), 'hex') || ':' || coalesce(src."id"::text, ''), ${k}, '{"column":"weight_kg","relative":0.05}'::jsonb)`,
    );
  });

});
