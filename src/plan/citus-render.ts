import { ident, join, literal, sql, trustedSqlText, typeName, type Sql } from '../sql/index.ts';
import { OWNER_ROLE, type CitusPreamble, type CitusReferenceKeys, type CreateCitusMaskedTable, type FillCitusMaskedTable } from './nodes.ts';

/**
 * The SQL of Citus mode's plan nodes (src/plan/citus.ts). Each statement kind carries a
 * comment naming the Citus function or documented behaviour it relies on, so the
 * generated migration (and its pinned copy, test/plan/citus-clinic.sql) can be reviewed
 * against the Citus documentation statement by statement.
 */
export function renderCitusNode(node: CitusPreamble | CitusReferenceKeys | CreateCitusMaskedTable | FillCitusMaskedTable): Sql {
  switch (node.kind) {
    case 'CitusPreamble':
      return sql`-- Citus (setting citus.multi_shard_modify_mode, SET LOCAL): every multi-shard command of this transaction
-- runs over one connection per node, as Citus requires when one transaction creates objects (schemas,
-- functions), distributes tables and writes a reference table
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';`;
    case 'CitusReferenceKeys':
      return sql`-- Citus (create_reference_table): the keys become one shard copied to every node, written with two-phase
-- commit, so a worker reads the key beside the rows it masks (no subplan ships it per query); the existing
-- rows are copied. pg_dist_partition lists the table once it is a reference table: then nothing is done
SELECT pg_catalog.create_reference_table('pgmask_private.keys')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p WHERE p.logicalrelid = 'pgmask_private.keys'::pg_catalog.regclass);`;
    case 'CreateCitusMaskedTable':
      return createTable(node);
    case 'FillCitusMaskedTable':
      return renderCitusFill(node);
    default: {
      const unreachable: never = node;
      throw new Error(`no renderer for Citus plan node ${JSON.stringify(unreachable)}`);
    }
  }
}

function createTable(node: CreateCitusMaskedTable): Sql {
  const table = ident(node.schema, node.name);
  const columns = node.columns.map((c) => sql`  ${ident(c.name)} ${typeName(c.type)}`);
  const comments = node.columns.map((c) => sql`COMMENT ON COLUMN ${ident(node.schema, node.name, c.name)} IS ${literal(c.comment)};`);
  const indexes = node.indexes.map(
    (ix) => sql`CREATE ${ix.unique ? sql`UNIQUE INDEX` : sql`INDEX`} ${ident(ix.name)} ON ${table} (${join(ix.columns.map((c) => ident(c)))});`,
  );
  const name = literal(table.text);
  const distribute =
    node.placement.kind === 'reference'
      ? sql`-- Citus (create_reference_table): no subject column, so one shard copied to every node; joins with any
-- distributed masked table stay on the worker
SELECT pg_catalog.create_reference_table(${name});`
      : sql`-- Citus (create_distributed_table, colocate_with): hash-distributed by the pseudonymized subject column; ${node.placement.colocateWith === null ? sql`'none'
-- starts the co-location group the other masked tables of this subject join` : sql`co-located with
-- ${trustedSqlText(`${node.placement.colocateWith.schema}.${node.placement.colocateWith.name}`.replace(/[\r\n]/g, ' '))}, so a join on the pseudonymized subject runs shard by shard on the workers`}
SELECT pg_catalog.create_distributed_table(${name}, ${literal(node.placement.column)}, colocate_with => ${
          node.placement.colocateWith === null ? literal('none') : literal(ident(node.placement.colocateWith.schema, node.placement.colocateWith.name).text)
        });`;
  return sql`CREATE TABLE ${table} (
${join(columns, ',\n')}
);
ALTER TABLE ${table} OWNER TO ${ident(OWNER_ROLE)};
REVOKE ALL ON ${table} FROM PUBLIC;
COMMENT ON TABLE ${table} IS ${literal(node.comment)};
${join(comments, '\n')}
-- Citus: a unique index of a distributed table must include its distribution column; indexes that exist when
-- the table is distributed are created on every shard
${join(indexes, '\n')}
${distribute}`;
}

/**
 * One masked table filled from its source (the migration, and `pgmask refresh` after its
 * TRUNCATE): INSERT … SELECT, then CLUSTER on the masked key.
 */
export function renderCitusFill(node: FillCitusMaskedTable): Sql {
  const table = ident(node.schema, node.name);
  const cluster =
    node.clusterIndex === null
      ? sql`-- row_order: storage (a reviewed decision): not clustered`
      : sql`-- Citus (CLUSTER of a distributed table, propagated to every shard): each shard is rewritten sorted by the
-- masked key, so the order rows are stored and returned in tells nothing about raw keys or insertion order
CLUSTER ${table} USING ${ident(node.clusterIndex)};`;
  return sql`-- Citus (INSERT … SELECT): the target is distributed by a pseudonym, not by the raw key, so Citus repartitions
-- the rows between workers (no ORDER BY, no LIMIT: those would pull every row to the coordinator); the shard
-- queries run as the role that runs this, which needs node-to-node access (pg_dist_authinfo or certificates)
SET LOCAL search_path = pg_catalog, ${ident(node.sourceSchema)};
INSERT INTO ${table} (${join(node.columns.map((c) => ident(c)))})
${node.select};
SET LOCAL search_path = pg_catalog;
${cluster}`;
}
