/**
 * Per-row cost guard: every transform's SQL twin must inline into the view as one expression
 * (a SQL function that is not inlined costs ~17 µs per call on PostgreSQL 18), with one HMAC
 * per value and the key as an InitPlan; parameters are constants in the view (no jsonb read per row). Only the PL/pgSQL helpers that do multi-use arithmetic
 * on a digest remain calls.
 */
import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql, type Sql } from '../../src/sql/index.ts';
import { registry } from '../../src/transforms/registry.ts';
import type { TypeFamily } from '../../src/catalog/catalog-snapshot.ts';
import { column, KEY_HEX, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['shift_date.sql', 'generalize_date.sql', 'age.sql', 'zip3.sql', 'noise.sql', 'bucket.sql', 'partial.sql', 'fake.sql']);
  await db.client.query(`CREATE TABLE test_keys (name text PRIMARY KEY, key bytea NOT NULL)`);
  await db.client.query(`INSERT INTO test_keys VALUES ('default', '\\x${KEY_HEX}')`);
  await db.client.query(`CREATE TABLE src_table (id int PRIMARY KEY, patient_id int, t text, d date, ts timestamp, tz timestamptz, i int, n numeric(7,2), f float8)`);
});
afterAll(async () => {
  await db?.drop();
});

const cols: Record<string, [string, TypeFamily, string, string]> = {
  t: ['t', 'text', 'text', 'text'],
  d: ['d', 'date', 'date', 'date'],
  ts: ['ts', 'timestamp', 'timestamp without time zone', 'timestamp'],
  tz: ['tz', 'timestamptz', 'timestamp with time zone', 'timestamptz'],
  i: ['i', 'integer', 'integer', 'int4'],
  n: ['n', 'numeric', 'numeric(7,2)', 'numeric'],
  f: ['f', 'float', 'double precision', 'float8'],
};

const rules: [string, string, Record<string, unknown>][] = [
  ['shift_date', 'd', { max_days: 30 }],
  ['shift_date', 'tz', { max_days: 30, keep_weekday: true, time_zone: 'Europe/Berlin' }],
  ['generalize_date', 'd', { to: 'quarter' }],
  ['generalize_date', 'tz', { to: 'month' }],
  ['age', 'd', {}],
  ['age', 'i', {}],
  ['zip3', 't', {}],
  ['noise', 'f', { relative: 0.05 }],
  ['noise', 'n', { absolute: 3, distribution: 'laplace' }],
  ['bucket', 'i', { width: 10 }],
  ['bucket', 'n', { as: 'text', ranges: [{ lt: 18.5, label: 'under' }, { gte: 18.5, label: 'over' }] }],
  ['partial', 't', { preset: 'email' }],
  ['partial', 't', { first: 1, last: 2 }],
  ['fake', 't', { kind: 'full_name' }],
];

const ALLOWED_CALLS = new Set(['_noise_laplace_factor', '_fake_from_digest']);

describe('transform SQL twins inline into the view', () => {
  for (const [name, col, params] of rules) {
    it(`${name} on ${cols[col]![2]} ${JSON.stringify(params)}`, async () => {
      const t = registry.get(name)!;
      const c = column(...cols[col]!);
      const expr: Sql = renderTransform(t, {
        value: sql`src.${ident(c.name)}`,
        column: c,
        table: table('src_table', [c], ['id']),
        params: t.params.parse(params),
        key: sql`(SELECT k.key FROM test_keys AS k WHERE k.name = 'default')`,
        subject: sql`src."patient_id"::text`,
        rowKey: sql`src."id"::text`,
      });
      const { rows } = await db.client.query<{ 'QUERY PLAN': string }>(sql`EXPLAIN (VERBOSE, COSTS OFF) SELECT ${expr} FROM src_table AS src`.text);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      const calls = [...plan.matchAll(/pgmask\.(\w+)\(/g)].map((m) => m[1]!).filter((f) => !ALLOWED_CALLS.has(f));
      expect(calls, plan).toEqual([]);
      // specialized at plan time: no jsonb read per row, no convert_to() of a constant per row
      expect(plan, plan).not.toMatch(/jsonb/);
      expect(plan, plan).not.toMatch(/convert_to\('/);
      const hmacs = (plan.match(/hmac\(/g) ?? []).length;
      expect(hmacs, plan).toBe(t.usesKey ? 1 : 0);
      if (t.usesKey) expect(plan).toMatch(/InitPlan/);
    });
  }
});
