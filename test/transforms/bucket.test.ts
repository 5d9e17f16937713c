import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql } from '../../src/sql/index.ts';
import { bucket } from '../../src/transforms/bucket.ts';
import { bucket as bucketJs, bucketLabel, type BucketOpts, type BucketLabelOpts } from '../../src/transforms/js/bucket.ts';
import { batch, column, randomInt, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['bucket.sql']);
});
afterAll(async () => {
  await db?.drop();
});

/** numeric text as PostgreSQL prints it: integers, decimals of any scale, huge and tiny, and the specials */
function randomNumeric(rand: () => number): string {
  const k = rand();
  if (k < 0.03) return ['NaN', 'Infinity', '-Infinity'][randomInt(rand, 0, 2)]!;
  const sign = rand() < 0.3 ? '-' : '';
  if (k < 0.4) return sign + String(randomInt(rand, 0, 200));
  if (k < 0.5) return sign + String(randomInt(rand, 1, 9)) + '0'.repeat(randomInt(rand, 10, 30));
  const frac = String(randomInt(rand, 0, 999999)).padStart(6, '0').slice(0, randomInt(rand, 1, 6));
  return `${sign}${randomInt(rand, 0, 100000)}.${frac}`;
}

describe('bucket: JavaScript and SQL agree', () => {
  it('on 2,000 random values and widths/origins (one round trip, exact decimals)', async () => {
    const rand = seededRandom(12);
    const widths = [1, 5, 10, 0.1, 0.25, 2.5, 1e-7, 1e21, 7, 1000];
    const values: string[] = [];
    const opts: BucketOpts[] = [];
    for (let i = 0; i < 2000; i++) {
      values.push(randomNumeric(rand));
      const width = widths[randomInt(rand, 0, widths.length - 1)]!;
      const min = rand() < 0.2 ? { min: ['-100', '-9223372036854775808', '0.5'][randomInt(rand, 0, 2)]! } : {};
      opts.push(rand() < 0.4 ? { width, origin: [0, 1, -0.25, 3.5, -100][randomInt(rand, 0, 4)]!, ...min } : { width, ...min });
    }
    const fromSql = await batch(db.client, 'pgmask.bucket(t.a1, t.a2)', [values, opts.map((o) => JSON.stringify(o))], ['numeric', 'jsonb']);
    expect(fromSql).toEqual(values.map((v, i) => bucketJs(v, opts[i]!)));
  });

  it('on 2,000 random values against labelled ranges with every kind of bound', async () => {
    const rand = seededRandom(13);
    const sets: BucketLabelOpts[] = [
      { ranges: [{ lt: 18, label: 'minor' }, { gte: 18, lt: 65, label: 'adult' }, { gte: 65, label: 'senior' }] },
      { ranges: [{ lte: 0, label: 'non-positive' }, { gt: 0, lte: 0.5, label: 'small 😀' }, { gt: 1000, label: 'big' }], default: 'other' },
      { ranges: [{ gte: 100.25, lt: 100.5, label: 'narrow' }] },
      { ranges: [{ label: 'everything' }] },
    ];
    const values = Array.from({ length: 2000 }, () => randomNumeric(rand));
    const chosen = values.map(() => sets[randomInt(rand, 0, sets.length - 1)]!);
    const fromSql = await batch(db.client, 'pgmask.bucket_label(t.a1, t.a2)', [values, chosen.map((o) => JSON.stringify(o))], ['numeric', 'jsonb']);
    expect(fromSql).toEqual(values.map((v, i) => bucketLabel(v, chosen[i]!)));
    // the sql runtime's views specialize the ranges into a CASE: the same labels
    const n = column('v', 'numeric', 'numeric', 'numeric');
    for (const set of sets) {
      const specialized = renderTransform(bucket, { value: sql`t.a1`, column: n, table: table('t', [n], null), params: bucket.params.parse({ ...set, as: 'text' }), key: sql`NULL`, subject: null, rowKey: null });
      expect(specialized.text).not.toMatch(/jsonb|bucket_label/);
      expect(await batch(db.client, specialized.text, [values], ['numeric'])).toEqual(values.map((v) => bucketLabel(v, set)));
    }
  });

  it('bins exactly where float8 would not', () => {
    expect(bucketJs('0.3', { width: 0.1 })).toBe('0.3');
    expect(bucketJs('-0.05', { width: 0.1 })).toBe('-0.1');
    expect(bucketJs('17', { width: 2.5, origin: 1 })).toBe('16.0');
    expect(bucketLabel('17.999999999999999999', { ranges: [{ lt: 18, label: 'minor' }] })).toBe('minor');
  });
});

describe('bucket: metadata, check and render on the server', () => {
  const age = column('age', 'integer', 'integer', 'int4');
  const bmi = column('bmi', 'numeric', 'numeric(4,1)', 'numeric');
  const tbl = table('patients', [age, bmi], null);
  const render = (col: typeof age, params: Record<string, unknown>) => renderTransform(bucket, { value: sql`src.${ident(col.name)}`, column: col, table: tbl, params: bucket.params.parse(params), key: sql`NULL`, subject: null, rowKey: null });

  it('validates params, output type and integer widths', () => {
    expect(bucket.params.safeParse({ ranges: [{ lt: 1, label: 'a' }] }).success).toBe(false); // as: text missing
    expect(bucket.params.safeParse({ width: 10, ranges: [{ lt: 1, label: 'a' }], as: 'text' }).success).toBe(false);
    expect(bucket.params.safeParse({ width: 0 }).success).toBe(false);
    expect(bucket.outputType!(age, bucket.params.parse({ ranges: [{ lt: 1, label: 'a' }], as: 'text' }))).toBe('text');
    expect(bucket.outputType!(age, bucket.params.parse({ width: 10 }))).toBeNull();
    expect(bucket.check!({ column: age, table: tbl, params: { width: 2.5 }, subjectColumn: null, runtime: 'sql' }).map((p) => p.code)).toEqual(['BUCKET_FRACTIONAL_WIDTH']);
  });

  it('renders exact SQL, clamps integer bins to the type minimum, and runs', async () => {
    expect(render(age, { width: 10 }).text).toBe(`pgmask.bucket(src."age"::numeric, '{"min":"-2147483648","width":10}'::jsonb)`);
    // labelled ranges are specialized into a CASE with constant bounds (no jsonpath per row)
    expect(render(bmi, { as: 'text', ranges: [{ lt: 25, label: 'normal' }], default: 'over' }).text).toBe(
      `CASE WHEN src."bmi"::numeric IS NULL THEN NULL WHEN src."bmi"::numeric < 25::numeric THEN 'normal' ELSE 'over' END`,
    );
    await db.client.query(`CREATE TABLE patients (age int, bmi numeric(4,1))`);
    await db.client.query(`INSERT INTO patients VALUES (37, 22.5), (-2147483648, 30.0), (NULL, NULL)`);
    const { rows } = await db.client.query(
      sql`SELECT CAST(${render(age, { width: 10 })} AS integer) AS age, CAST(${render(bmi, { as: 'text', ranges: [{ lt: 25, label: 'normal' }], default: 'over' })} AS text) AS bmi FROM patients AS src`.text,
    );
    expect(rows).toEqual([
      { age: 30, bmi: 'normal' },
      { age: -2147483648, bmi: 'over' },
      { age: null, bmi: null },
    ]);
  });
});
