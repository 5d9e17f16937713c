import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { planMigration } from '../../src/plan/planner.ts';
import { registry } from '../../src/transforms/registry.ts';
import { snapshotFor } from '../../src/db/introspect.ts';
import pg from 'pg';

/**
 * Issue 17: a transform that takes a scalar type takes arrays of it, element by element. Each
 * array column here holds its row's scalar value in several places (and NULLs), in one, two and
 * three dimensions with lower bounds other than 1: every masked element must equal the masked
 * scalar (same keying, so the same subject and value give the same output), NULL elements stay
 * NULL, and dimensions and bounds are the source's.
 */
const schemaSql = `
CREATE TABLE t (
  id int PRIMARY KEY, pid text NOT NULL,
  w real, ws real[],
  c text, cs varchar(24)[],
  d date, ds date[],
  ts timestamptz, tss timestamptz[],
  n int, ns int[],
  p text, ps text[],
  r text, rs text[]
);
INSERT INTO t SELECT g, 'P' || (g % 3),
  70.5 + g, NULL, 'code' || g, NULL, date '2024-02-10' + g, NULL, timestamptz '2024-02-10 10:00+00' + g * interval '5 hours', NULL,
  g * 7, NULL, 'abcdef' || g, NULL, 'secret' || g, NULL
FROM generate_series(1, 6) g;
UPDATE t SET
  ws = ARRAY[w, NULL, w],
  cs = ('[0:1][2:3]={{' || c || ',NULL},{' || c || ',' || c || '}}')::varchar(24)[],
  ds = ('[-1:1]={' || d || ',NULL,' || d || '}')::date[],
  tss = ARRAY[[[ts, ts]], [[NULL, ts]]],
  ns = ARRAY[n, n, NULL],
  ps = ARRAY[p],
  rs = ARRAY[r, NULL];
UPDATE t SET ws = '{}', ns = NULL WHERE id = 6;
`;

const policyText = `version: 1
source_schema: public
masked_schema: masked
runtime: sql
keys: [default]
subject: pid
roles:
  arrays_analyst: {}
tables:
  t:
    columns:
      id: keep
      pid: pseudonymize
      w: { noise: { relative: 0.1, decimals: 2 } }
      ws: { noise: { relative: 0.1, decimals: 2 } }
      c: pseudonymize
      cs: pseudonymize
      d: { shift_date: { max_days: 30 } }
      ds: { shift_date: { max_days: 30 } }
      ts: { generalize_date: { to: month } }
      tss: { generalize_date: { to: month } }
      n: { bucket: { width: 10 } }
      ns: { bucket: { width: 10 } }
      p: { partial: { first: 2, last: 1 } }
      ps: { partial: { first: 2, last: 1 } }
      r: { redact: { value: "x" } }
      rs: { redact: { value: "x" } }
`;

describe('array columns: scalar transforms element by element', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pgmask_arrays');
    await db.query(schemaSql);
    await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
  });
  afterAll(async () => {
    await db?.query('DROP OWNED BY arrays_analyst').catch(() => {});
    await db?.query('DROP ROLE IF EXISTS arrays_analyst').catch(() => {});
    await db?.drop();
  });

  it('masks every element as the scalar column, keeping NULL elements, dimensions and lower bounds', async () => {
    const { rows } = await db.query(`
      SELECT m.id,
        array_dims(m.ws) AS ws_dims, m.ws = ARRAY[m.w, NULL, m.w] IS NOT FALSE AS ws_ok, m.ws[2] IS NULL AS ws_null, m.ws[1] = m.ws[3] AND m.ws[1] <> s.w AND abs(m.ws[1] - s.w) <= 0.2 * s.w AS ws_eq,
        array_dims(m.cs) AS cs_dims, m.cs[0][2] = m.c AND m.cs[1][2] = m.c AND m.cs[1][3] = m.c AND m.cs[0][3] IS NULL AS cs_ok,
        array_dims(m.ds) AS ds_dims, m.ds[-1] = m.d AND m.ds[1] = m.d AND m.ds[0] IS NULL AS ds_ok, m.d <> s.d AS d_moved,
        array_dims(m.tss) AS tss_dims, m.tss[1][1][1] = m.ts AND m.tss[2][1][2] = m.ts AND m.tss[2][1][1] IS NULL AS tss_ok,
        array_dims(m.ns) AS ns_dims, m.ns[1] = m.n AND m.ns[2] = m.n AND m.ns[3] IS NULL AS ns_ok,
        m.ps = ARRAY[m.p] AS ps_ok, m.p AS p, m.rs::text AS rs
      FROM masked.t m JOIN public.t s USING (id) ORDER BY m.id`);
    expect(rows).toHaveLength(6);
    for (const r of rows.slice(0, 5)) {
      expect(r).toMatchObject({ ws_dims: '[1:3]', ws_null: true, ws_eq: true, cs_dims: '[0:1][2:3]', cs_ok: true, ds_dims: '[-1:1]', ds_ok: true, d_moved: true });
      expect(r).toMatchObject({ tss_dims: '[1:2][1:1][1:2]', tss_ok: true, ns_dims: '[1:3]', ns_ok: true, ps_ok: true, rs: '{x,NULL}' });
      expect(r.p).toMatch(/^ab\*+\d$/);
    }
    // an empty array stays empty, a NULL array NULL
    expect(rows[5]).toMatchObject({ ws_dims: null, ns_dims: null });
    const [empty] = (await db.query(`SELECT ws::text AS ws, ns IS NULL AS ns_null FROM masked.t WHERE id = 6`)).rows;
    expect(empty).toEqual({ ws: '{}', ns_null: true });
  });

  it('keeps the column types of the source (varchar(24)[], real[], timestamptz[] …)', async () => {
    const types = async (schema: string) =>
      (await db.query(`SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a WHERE a.attrelid = '${schema}.t'::regclass AND a.attnum > 0 ORDER BY a.attnum`)).rows;
    expect(await types('masked')).toEqual(await types('public'));
  });

  it('renders the same array wrapper on the plv8 runtime around the plv8 element call (the wrapper is SQL both runtimes share)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const policy = parsePolicy(policyText.replace('runtime: sql', 'runtime: plv8'), 'policy.yaml', registry);
      const snapshot = await snapshotFor(client, policy);
      const plv8Snapshot = { ...snapshot, availableExtensions: [...snapshot.availableExtensions, 'plv8'] };
      const view = planMigration({ policy, snapshot: plv8Snapshot, registry, runtime: 'plv8', runtimeSql: '', pgmaskVersion: 'test' }).nodes.find((n) => n.kind === 'CreateMaskedView')!;
      const ws = view.kind === 'CreateMaskedView' ? view.columns.find((c) => c.name === 'ws')!.expression.text : '';
      expect(ws).toContain('pgmask._array_shape(ARRAY(SELECT ');
      expect(ws).toContain('pgmask.noise("pgmask_el"."e"::float8');
      expect(ws).toContain('FROM unnest("src"."ws") WITH ORDINALITY AS pgmask_el(e, i) ORDER BY pgmask_el.i), "src"."ws")');
    } finally {
      await client.end();
    }
  });

  it('refuses a transform that takes neither the array nor its element type, at the rule', async () => {
    const bad = policyText.replace('ns: { bucket: { width: 10 } }', 'ns: { zip3: {} }');
    await expect(applyPolicy(db.url, bad, { file: 'policy.yaml' })).rejects.toMatchObject({ code: 'POLICY_INVALID', exitCode: 3 });
  });
});
