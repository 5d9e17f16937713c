import type pg from 'pg';
import type { CitusCatalog, CitusTable } from '../catalog/catalog-snapshot.ts';
import { query } from './query.ts';
import { sql } from '../sql/index.ts';

/**
 * Which tables Citus distributes, read from its metadata on the coordinator (the citus
 * extension is installed). One query: pg_dist_partition (partmethod 'h' = hash, 'n' = none;
 * repmodel 't' marks a reference table), the distribution column's name from
 * column_to_column_name(logicalrelid, partkey), and the co-location group.
 */
export async function readCitusCatalog(client: pg.ClientBase, version: string): Promise<CitusCatalog> {
  const rows = (
    await query<{ schema: string; name: string; method: string; repmodel: string; column: string | null; colocation: number }>(
      client,
      sql`SELECT n.nspname AS schema, c.relname AS name, p.partmethod::text AS method, p.repmodel::text AS repmodel,
              CASE WHEN p.partmethod = 'h' THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END AS column,
              p.colocationid::int4 AS colocation
         FROM pg_catalog.pg_dist_partition AS p
         JOIN pg_catalog.pg_class AS c ON c.oid = p.logicalrelid
         JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
    )
  ).rows;
  const tables = rows.map(
    (r): CitusTable => ({
      schema: r.schema,
      name: r.name,
      placement: r.method === 'h' ? 'distributed' : r.method === 'n' && r.repmodel === 't' ? 'reference' : 'other',
      distributionColumn: r.column,
      colocationId: Number(r.colocation),
    }),
  );
  return { version, tables };
}
