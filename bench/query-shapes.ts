import type pg from 'pg';
import { ident, literal, param, sql, type Sql } from '../src/sql/index.ts';
import { queryRows } from '../src/db/query.ts';

/**
 * The four query shapes of issue 6. The same SQL text runs against every source;
 * only the schema changes, so a masked source answers exactly the query an
 * analyst's BI tool would send to it.
 */
export interface QueryShape {
  readonly name: string;
  readonly description: string;
  /** parameters for this source, computed once after set-up (e.g. an existing pseudonym) */
  parameters(client: pg.ClientBase, schema: string): Promise<unknown[]>;
  /** the query on `schema`, with `parameters` bound (sent apart from the text) */
  query(schema: string, parameters: readonly unknown[]): Sql;
}

export const biAggregate: QueryShape = {
  name: 'BI aggregate',
  description: 'observations GROUP BY month and LOINC code: count and average of the (noised) value',
  parameters: async () => [],
  query: (schema) =>
    sql`SELECT date_trunc('month', o.observed_at) AS month, o.loinc_code, count(*) AS n, avg(o.value_num) AS mean_value
  FROM ${ident(schema, 'observations')} o
 GROUP BY 1, 2`,
};

export const pseudonymJoin: QueryShape = {
  name: 'join on pseudonyms',
  description: 'encounters ⋈ patients on the (pseudonymized) patient_id, counted by department and sex',
  parameters: async () => [],
  query: (schema) =>
    sql`SELECT e.department, p.sex, count(*) AS n
  FROM ${ident(schema, 'encounters')} e
  JOIN ${ident(schema, 'patients')} p ON p.patient_id = e.patient_id
 GROUP BY 1, 2`,
};

export const pointLookup: QueryShape = {
  name: 'point lookup by pseudonym',
  description: 'one patient by its (pseudonymized) patient_id',
  async parameters(client, schema) {
    // an existing patient as this source shows it: a pseudonym in a masked source
    const q = sql`SELECT patient_id FROM ${ident(schema, 'patients')} OFFSET ${literal(7)} LIMIT 1`;
    const row = (await queryRows<{ patient_id: string }>(client, q))[0];
    if (!row) throw new Error(`no patient in ${schema}.patients to look up`);
    return [row.patient_id];
  },
  query: (schema, [patientId]) => sql`SELECT * FROM ${ident(schema, 'patients')} WHERE patient_id = ${param(patientId)}`,
};

export const fullFetch: QueryShape = {
  name: 'fetch 10,000 rows',
  description: 'every column of 10,000 encounters, sent to the client',
  parameters: async () => [],
  query: (schema) => sql`SELECT * FROM ${ident(schema, 'encounters')} LIMIT 10000`,
};

export const queryShapes: readonly QueryShape[] = [biAggregate, pseudonymJoin, pointLookup, fullFetch];
