import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import { ident, literal, param, sql, trustedSqlText } from '../src/sql/index.ts';
import { query, queryRows } from '../src/db/query.ts';
import { rawSource, SourceUnavailable, type BenchContext, type BenchSource, type PipelineApi } from './bench-sources.ts';
import type { QueryShape } from './query-shapes.ts';

/**
 * The benchmark of issue 12: one table of `scale` rows (id bigint, mrn, birth_date, zip, sex,
 * weight numeric(5,1)), the rules id/mrn pseudonymize, birth_date shift_date (subject id),
 * zip zip3, weight noise relative 0.05, against the view a careful DBA writes by hand for
 * the same rules (bench/dba-baseline.sql): per query shape, and per transform (each masked
 * column read alone). `npm run bench -- --dataset people` runs it.
 */
export async function loadPeople(client: pg.ClientBase, scale: number, seed: number): Promise<void> {
  await client.query(`CREATE TABLE public.people (id bigint PRIMARY KEY, mrn text NOT NULL, birth_date date, zip text, sex text, weight numeric(5,1))`);
  await client.query(`SELECT setseed(${1 / (seed + 1)})`);
  // ZIP codes: most valid 5-digit codes, some ZIP+4, some restricted areas, some junk
  await client.query(`
    INSERT INTO public.people
    SELECT i, 'M' || lpad(i::text, 9, '0'),
           date '1925-01-01' + (random() * 36000)::int,
           CASE WHEN random() < 0.03 THEN '036' || lpad((random() * 99)::int::text, 2, '0')
                WHEN random() < 0.05 THEN 'n/a'
                WHEN random() < 0.2 THEN lpad((random() * 99999)::int::text, 5, '0') || '-' || lpad((random() * 9999)::int::text, 4, '0')
                ELSE lpad((random() * 99999)::int::text, 5, '0') END,
           CASE WHEN random() < 0.5 THEN 'F' ELSE 'M' END,
           round((40 + random() * 80)::numeric, 1)
      FROM generate_series(1, ${scale}) i`);
  await client.query('VACUUM ANALYZE public.people');
}

/**
 * The pgmask policy with the same rules as the hand-written view. Like the hand-written view
 * it shows rows in storage order (`row_order: storage`, a reviewed risk), unless `keyedOrder`:
 * then the view sorts every query by a keyed hash of the row key (pgmask's default, against
 * the row-order leak of issue 10), a cost the hand-written view does not pay.
 */
export function peoplePolicy(maskedSchema: string, role: string, materialize: boolean, keyedOrder = false): string {
  return `version: 1
source_schema: public
masked_schema: ${maskedSchema}
runtime: sql
subject: id
keys: [default]
${materialize ? 'materialize: true\n' : ''}roles:
  ${role}:
    members: []
tables:
  people:
${keyedOrder ? '' : '    row_order: storage\n'}    columns:
      id: pseudonymize
      mrn: { pseudonymize: { prefix: "MRN-" } }
      birth_date: { shift_date: { max_days: 365 } }
      zip: zip3
      sex: keep
      weight: { noise: { relative: 0.05 } }
`;
}

export const dbaHandWrittenSource: BenchSource = {
  name: 'hand-written pgcrypto view',
  schema: 'hand_masked',
  async setup(ctx) {
    const text = await readFile(new URL('./dba-baseline.sql', import.meta.url), 'utf8');
    await query(ctx.client, trustedSqlText(text));
    return ctx.url;
  },
};

function pipelineOf(ctx: BenchContext): PipelineApi {
  if (!ctx.pipeline) throw new SourceUnavailable(`pipeline not available (${ctx.pipelineProblem ?? 'no applyPolicy'})`);
  return ctx.pipeline;
}

export const dbaPgmaskSource: BenchSource = {
  name: 'pgmask sql runtime',
  schema: 'pgmask_sql',
  async setup(ctx) {
    await pipelineOf(ctx).applyPolicy(ctx.url, peoplePolicy('pgmask_sql', ctx.role, false), { file: 'bench-people.yaml' });
    return ctx.url;
  },
};

/** The same views read by a session with jit = off (what a site may set for its members; pgmask leaves jit alone, docs/performance.md). */
export const dbaPgmaskNoJitSource: BenchSource = {
  name: 'pgmask sql runtime, jit off',
  schema: 'pgmask_sql',
  async setup(ctx) {
    return withOptions(ctx.url, '-c jit=off');
  },
};

export const dbaHandNoJitSource: BenchSource = {
  name: 'hand-written, jit off',
  schema: 'hand_masked',
  async setup(ctx) {
    return withOptions(ctx.url, '-c jit=off');
  },
};

/** pgmask's default row order (keyed), in a copy of the data */
export const dbaPgmaskKeyedOrderSource: BenchSource = {
  name: 'pgmask sql runtime, keyed row order',
  schema: 'pgmask_keyed',
  ownDatabase: true,
  async setup(ctx) {
    const url = await ctx.cloneDatabase('keyed');
    await pipelineOf(ctx).applyPolicy(url, peoplePolicy('pgmask_keyed', ctx.role, false, true), { file: 'bench-people-keyed.yaml' });
    return url;
  },
};

export const dbaMaterializedSource: BenchSource = {
  name: 'pgmask materialized',
  schema: 'pgmask_mat',
  ownDatabase: true,
  async setup(ctx) {
    const url = await ctx.cloneDatabase('mat');
    await pipelineOf(ctx).applyPolicy(url, peoplePolicy('pgmask_mat', ctx.role, true), { file: 'bench-people-mat.yaml' });
    return url;
  },
};

function withOptions(url: string, options: string): string {
  const u = new URL(url);
  u.searchParams.set('options', options);
  return u.toString();
}

export const dbaSources: readonly BenchSource[] = [rawSource, dbaHandWrittenSource, dbaHandNoJitSource, dbaPgmaskSource, dbaPgmaskNoJitSource, dbaPgmaskKeyedOrderSource, dbaMaterializedSource];

const people = (schema: string) => ident(schema, 'people');

function columnAlone(name: string, transform: string, aggregate: string): QueryShape {
  return {
    name: `${transform} alone`,
    description: `${aggregate} over the masked ${name} column only`,
    parameters: async () => [],
    query: (schema) => sql`SELECT ${trustedSqlText(aggregate)} FROM ${people(schema)} AS p`,
  };
}

export const dbaShapes: readonly QueryShape[] = [
  {
    name: 'BI aggregate',
    description: 'zip, sex, count(*), avg(weight) GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5 (zip3 + noise per row)',
    parameters: async () => [],
    query: (schema) => sql`SELECT p.zip, p.sex, count(*), avg(p.weight) FROM ${people(schema)} AS p GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5`,
  },
  {
    name: 'fetch 10,000 rows',
    description: 'SELECT * … LIMIT 10000: every masked column of 10,000 rows, sent to the client',
    parameters: async () => [],
    query: (schema) => sql`SELECT * FROM ${people(schema)} LIMIT 10000`,
  },
  {
    name: 'point lookup by pseudonym',
    description: 'one person by the (pseudonymized) MRN an analyst was given',
    async parameters(client, schema) {
      const row = (await queryRows<{ mrn: string }>(client, sql`SELECT p.mrn FROM ${people(schema)} AS p OFFSET ${literal(7)} LIMIT 1`))[0];
      if (!row) throw new Error(`no row in ${schema}.people`);
      return [row.mrn];
    },
    query: (schema, [mrn]) => sql`SELECT * FROM ${people(schema)} AS p WHERE p.mrn = ${param(mrn)}`,
  },
  columnAlone('mrn', 'pseudonymize (text)', 'count(p.mrn)'),
  columnAlone('id', 'pseudonymize (bigint, Feistel)', 'sum(p.id)'),
  columnAlone('birth_date', 'shift_date', 'max(p.birth_date)'),
  columnAlone('zip', 'zip3', 'count(p.zip)'),
  columnAlone('weight', 'noise', 'avg(p.weight)'),
];
