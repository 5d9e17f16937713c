import pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import { Kysely, PostgresDialect, sql, type PostgresPool } from 'kysely';
import {
  typeFamily,
  type CatalogColumn,
  type CatalogRole,
  type CatalogSnapshot,
  type CatalogTable,
  type ForeignKey,
  type TablePrivilege,
} from '../catalog/catalog-snapshot.ts';
import { databaseError } from '../errors.ts';
import { deepFreeze } from '../deep-freeze.ts';
import { isPool } from './connection.ts';
import { readCitusCatalog } from './citus-catalog.ts';
import { query } from './query.ts';
import { param, sql as pgmaskSql } from '../sql/index.ts';

type Connection = pg.Pool | pg.PoolClient | pg.Client;

const relationKinds: Readonly<Record<string, CatalogTable['kind']>> = {
  r: 'table',
  p: 'partitioned table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
};

/**
 * Reads everything pgmask needs to know about a database into a frozen
 * CatalogSnapshot: the relations of `schemas` (partitions excluded, only their
 * parent), their columns, keys, grants and comments, plus cluster facts (roles,
 * extensions, schemas, the session's user and server version).
 *
 * One catalog query per kind of fact, never one per table, so 200 tables cost
 * the same dozen round trips as two. All queries run on one connection.
 *
 * @example
 *   const snapshot = await introspect(pool, ['public']);
 *   findTable(snapshot, 'public', 'patients')?.columns.map((c) => c.sqlType);
 *   // ['integer', 'character varying(40)', 'date']
 */
export async function introspect(conn: Connection, schemas: readonly string[]): Promise<CatalogSnapshot> {
  try {
    if (isPool(conn)) {
      const client = await conn.connect();
      try {
        return await introspectOn(client, schemas);
      } finally {
        client.release();
      }
    }
    return await introspectOn(conn, schemas);
  } catch (cause) {
    throw databaseError(cause, `cannot read the catalog of schemas ${schemas.map((s) => JSON.stringify(s)).join(', ')}`);
  }
}

/**
 * Kysely over one already-connected client: its "pool" always hands out that
 * client, and neither release nor end closes it (the caller owns it).
 */
function kyselyOnClient(client: pg.PoolClient | pg.Client): Kysely<any> {
  const lease = {
    query: (text: string, params: readonly unknown[]) => client.query(text, [...params]),
    release: () => {},
  };
  const pool = { connect: async () => lease, end: async () => {} } as unknown as PostgresPool;
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
}

interface RelationRow {
  oid: string;
  schema: string;
  name: string;
  relkind: string;
  owner: string;
  comment: string | null;
  reltuples: number | string;
}

interface ColumnRow {
  relid: string;
  name: string;
  position: number;
  sqlType: string;
  typeSchema: string;
  baseName: string;
  baseCategory: string;
  notNull: boolean;
  comment: string | null;
}

interface KeyColumnRow {
  relid: string;
  conname: string;
  ord: string | number;
  column: string;
  refSchema: string | null;
  refTable: string | null;
  refColumn: string | null;
  /** foreign keys only: pg_constraint.convalidated */
  validated?: boolean;
}

interface PrivilegeRow {
  relid: string;
  grantee: string;
  privilege: string;
  column: string | null;
}

/**
 * format_type() leaves out the schema of a type that is visible on the
 * search_path, so the session's search_path is pinned to pg_catalog while the
 * catalog is read: sqlType is then schema-qualified for every non-catalog type
 * (`public.citext`, `clinic.mrn`), whatever the caller's search_path. The
 * caller's setting is restored afterwards.
 */
async function introspectOn(client: pg.PoolClient | pg.Client, schemas: readonly string[]): Promise<CatalogSnapshot> {
  const saved = (await query<{ path: string }>(client, pgmaskSql`SELECT pg_catalog.current_setting('search_path') AS path`)).rows[0]!.path;
  await query(client, pgmaskSql`SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)`);
  let snapshot: CatalogSnapshot;
  try {
    snapshot = await readCatalog(client, schemas);
  } catch (err) {
    await query(client, pgmaskSql`SELECT pg_catalog.set_config('search_path', ${param(saved)}, false)`).catch(() => {});
    throw err;
  }
  await query(client, pgmaskSql`SELECT pg_catalog.set_config('search_path', ${param(saved)}, false)`);
  return snapshot;
}

/**
 * The catalog in named phases, one query each (a constant number whatever the number of
 * tables): relations, their columns, keys and grants, then roles, extensions, schemas, the
 * session and the key versions; assembled into one frozen snapshot.
 */
async function readCatalog(client: pg.PoolClient | pg.Client, schemas: readonly string[]): Promise<CatalogSnapshot> {
  const db = kyselyOnClient(client);
  try {
    const relations = await readRelations(db, schemas);
    const relids = relations.map((r) => r.oid);
    const columns = await readColumns(db, relids);
    const primaryKeys = await readPrimaryKeys(db, relids);
    const foreignKeys = await readForeignKeys(db, relids);
    const privileges = await readPrivileges(db, relids);
    const roleRows = await readRoles(db);
    const { available, installed } = await readExtensions(db);
    const schemaRows = await readSchemaNames(db);
    const session = await readSession(db);
    const keyVersionRows = await readKeyVersions(db);

    const tables = assembleTables(relations, columns, primaryKeys, foreignKeys, privileges);
    // Citus's metadata only where the extension is: a plain server is never asked about pg_dist_*
    const citusExtension = installed.find((e) => e.name === 'citus');
    const citus = citusExtension ? await readCitusCatalog(client, citusExtension.version) : undefined;

    return deepFreeze({
      serverVersionNum: Number(session.serverVersionNum),
      currentUser: session.currentUser,
      isSuperuser: session.isSuperuser === true,
      database: session.database,
      availableExtensions: available.sort(byCodePoint),
      installedExtensions: Object.fromEntries(
        installed
          .sort((a, b) => byCodePoint(a.name, b.name))
          .map((e) => [e.name, { schema: e.schema, version: e.version }] as const),
      ),
      schemas: schemaRows.map((s) => s.name).sort(byCodePoint),
      roles: roleRows
        .map(
          (r): CatalogRole => ({
            name: r.name,
            canLogin: r.canLogin,
            superuser: r.superuser,
            memberOf: [...(r.memberOf ?? [])].sort(byCodePoint),
          }),
        )
        .sort((a, b) => byCodePoint(a.name, b.name)),
      tables,
      keyVersions: Object.fromEntries(keyVersionRows.sort((a, b) => byCodePoint(a.name, b.name)).map((k) => [k.name, k.version] as const)),
      ...(citus ? { citus } : {}),
    });
  } finally {
    await db.destroy();
  }
}

function readRelations(db: Kysely<any>, schemas: readonly string[]): Promise<RelationRow[]> {
  // COLLATE "C": byte order of UTF-8 = code point order, independent of the database's locale
  return db
    .selectFrom('pg_catalog.pg_class as c')
    .innerJoin('pg_catalog.pg_namespace as n', 'n.oid', 'c.relnamespace')
    .select([
      sql<string>`c.oid::text`.as('oid'),
      'n.nspname as schema',
      'c.relname as name',
      sql<string>`c.relkind::text`.as('relkind'),
      sql<string>`pg_catalog.pg_get_userbyid(c.relowner)`.as('owner'),
      sql<string | null>`pg_catalog.obj_description(c.oid, 'pg_class')`.as('comment'),
      sql<number>`c.reltuples::float8`.as('reltuples'),
    ])
    .where(sql<boolean>`n.nspname = ANY(${[...schemas]}::text[])`)
    .where(sql<boolean>`c.relkind IN ('r', 'p', 'v', 'm', 'f')`)
    .where('c.relispartition', '=', false)
    .orderBy(sql`n.nspname COLLATE "C"`)
    .orderBy(sql`c.relname COLLATE "C"`)
    .$castTo<RelationRow>()
    .execute();
}

function readColumns(db: Kysely<any>, relids: readonly string[]): Promise<ColumnRow[]> {
  // a domain may be over another domain: follow typbasetype until a non-domain type
  return db
    .withRecursive('domain_base(domain_oid, base_oid)', (qb) =>
      qb
        .selectFrom('pg_catalog.pg_type as t')
        .select(['t.oid as domain_oid', 't.typbasetype as base_oid'])
        .where('t.typtype', '=', 'd')
        .unionAll((qb2) =>
          qb2
            .selectFrom('domain_base as d')
            .innerJoin('pg_catalog.pg_type as t', 't.oid', 'd.base_oid')
            .select(['d.domain_oid', 't.typbasetype as base_oid'])
            .where('t.typtype', '=', 'd'),
        ),
    )
    .selectFrom('pg_catalog.pg_attribute as a')
    .innerJoin('pg_catalog.pg_type as t', 't.oid', 'a.atttypid')
    .innerJoin('pg_catalog.pg_namespace as tn', 'tn.oid', 't.typnamespace')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('domain_base as d')
          .innerJoin('pg_catalog.pg_type as bt', 'bt.oid', 'd.base_oid')
          .select(['d.domain_oid', 'd.base_oid'])
          .where('bt.typtype', '<>', 'd')
          .as('db'),
      (join) => join.onRef('db.domain_oid', '=', 'a.atttypid'),
    )
    .innerJoin('pg_catalog.pg_type as base', (join) => join.on(sql`base.oid`, '=', sql`COALESCE(db.base_oid, a.atttypid)`))
    .select([
      sql<string>`a.attrelid::text`.as('relid'),
      'a.attname as name',
      'a.attnum as position',
      sql<string>`pg_catalog.format_type(a.atttypid, a.atttypmod)`.as('sqlType'),
      'tn.nspname as typeSchema',
      'base.typname as baseName',
      sql<string>`base.typcategory::text`.as('baseCategory'),
      'a.attnotnull as notNull',
      sql<string | null>`pg_catalog.col_description(a.attrelid, a.attnum)`.as('comment'),
    ])
    .where(sql<boolean>`a.attrelid = ANY(${[...relids]}::oid[])`)
    .where('a.attnum', '>', 0)
    .where('a.attisdropped', '=', false)
    .orderBy('a.attrelid')
    .orderBy('a.attnum')
    .$castTo<ColumnRow>()
    .execute();
}

function readPrimaryKeys(db: Kysely<any>, relids: readonly string[]): Promise<KeyColumnRow[]> {
  return db
    .selectFrom('pg_catalog.pg_constraint as k')
    .innerJoin(sql`LATERAL (SELECT * FROM unnest(k.conkey) WITH ORDINALITY AS x(attnum, ord))`.as('u'), (join) => join.onTrue())
    .innerJoin('pg_catalog.pg_attribute as a', (join) =>
      join.onRef('a.attrelid', '=', 'k.conrelid').onRef('a.attnum', '=', sql.ref('u.attnum')),
    )
    .select([
      sql<string>`k.conrelid::text`.as('relid'),
      'k.conname',
      'u.ord',
      'a.attname as column',
      sql<null>`NULL`.as('refSchema'),
      sql<null>`NULL`.as('refTable'),
      sql<null>`NULL`.as('refColumn'),
    ])
    .where(sql<boolean>`k.conrelid = ANY(${[...relids]}::oid[])`)
    .where('k.contype', '=', 'p')
    .orderBy('k.conrelid')
    .orderBy('u.ord')
    .$castTo<KeyColumnRow>()
    .execute();
}

function readForeignKeys(db: Kysely<any>, relids: readonly string[]): Promise<KeyColumnRow[]> {
  // conparentid = 0: a foreign key to a partitioned table also gets one clone per referenced partition
  return db
    .selectFrom('pg_catalog.pg_constraint as k')
    .innerJoin(sql`LATERAL (SELECT * FROM unnest(k.conkey, k.confkey) WITH ORDINALITY AS x(attnum, refattnum, ord))`.as('u'), (join) => join.onTrue())
    .innerJoin('pg_catalog.pg_attribute as a', (join) =>
      join.onRef('a.attrelid', '=', 'k.conrelid').onRef('a.attnum', '=', sql.ref('u.attnum')),
    )
    .innerJoin('pg_catalog.pg_attribute as ra', (join) =>
      join.onRef('ra.attrelid', '=', 'k.confrelid').onRef('ra.attnum', '=', sql.ref('u.refattnum')),
    )
    .innerJoin('pg_catalog.pg_class as rc', 'rc.oid', 'k.confrelid')
    .innerJoin('pg_catalog.pg_namespace as rn', 'rn.oid', 'rc.relnamespace')
    .select([
      sql<string>`k.conrelid::text`.as('relid'),
      'k.conname',
      'u.ord',
      'a.attname as column',
      'rn.nspname as refSchema',
      'rc.relname as refTable',
      'ra.attname as refColumn',
      'k.convalidated as validated',
    ])
    .where(sql<boolean>`k.conrelid = ANY(${[...relids]}::oid[])`)
    .where('k.contype', '=', 'f')
    .where('k.conparentid', '=', 0)
    .orderBy('k.conrelid')
    .orderBy(sql`k.conname COLLATE "C"`)
    .orderBy('u.ord')
    .$castTo<KeyColumnRow>()
    .execute();
}

/** Table grants (the defaults spelt out) and column grants of the relations. */
async function readPrivileges(db: Kysely<any>, relids: readonly string[]): Promise<PrivilegeRow[]> {
  // a NULL relacl means the default grants (the owner holds everything): acldefault() spells them out
  const tablePrivileges = await db
    .selectFrom('pg_catalog.pg_class as c')
    .innerJoin(sql`LATERAL aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner)))`.as('x'), (join) => join.onTrue())
    .select([
      sql<string>`c.oid::text`.as('relid'),
      sql<string>`CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(x.grantee) END`.as('grantee'),
      'x.privilege_type as privilege',
      sql<null>`NULL`.as('column'),
    ])
    .where(sql<boolean>`c.oid = ANY(${[...relids]}::oid[])`)
    .$castTo<PrivilegeRow>()
    .execute();

  const columnPrivileges = await db
    .selectFrom('pg_catalog.pg_attribute as a')
    .innerJoin(sql`LATERAL aclexplode(a.attacl)`.as('x'), (join) => join.onTrue())
    .select([
      sql<string>`a.attrelid::text`.as('relid'),
      sql<string>`CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(x.grantee) END`.as('grantee'),
      'x.privilege_type as privilege',
      'a.attname as column',
    ])
    .where(sql<boolean>`a.attrelid = ANY(${[...relids]}::oid[])`)
    .where('a.attnum', '>', 0)
    .where('a.attisdropped', '=', false)
    .where('a.attacl', 'is not', null)
    .$castTo<PrivilegeRow>()
    .execute();
  return [...tablePrivileges, ...columnPrivileges];
}

function readRoles(db: Kysely<any>): Promise<{ name: string; canLogin: boolean; superuser: boolean; memberOf: string[] }[]> {
  return db
    .selectFrom('pg_catalog.pg_roles as r')
    .select([
      'r.rolname as name',
      'r.rolcanlogin as canLogin',
      'r.rolsuper as superuser',
      (eb) =>
        eb
          .selectFrom('pg_catalog.pg_auth_members as m')
          .innerJoin('pg_catalog.pg_roles as g', 'g.oid', 'm.roleid')
          // DISTINCT: since PostgreSQL 16 one membership can be granted by several grantors
          .select(sql<string[]>`COALESCE(array_agg(DISTINCT g.rolname::text), '{}')`.as('x'))
          .whereRef('m.member', '=', 'r.oid')
          .as('memberOf'),
    ])
    .$castTo<{ name: string; canLogin: boolean; superuser: boolean; memberOf: string[] }>()
    .execute();
}

/** Extensions the server offers, and those installed here (schema, version). */
async function readExtensions(db: Kysely<any>): Promise<{ available: string[]; installed: { name: string; schema: string; version: string }[] }> {
  const available = await db
    .selectFrom('pg_catalog.pg_available_extensions as e')
    .select('e.name')
    .$castTo<{ name: string }>()
    .execute();

  const installed = await db
    .selectFrom('pg_catalog.pg_extension as e')
    .innerJoin('pg_catalog.pg_namespace as n', 'n.oid', 'e.extnamespace')
    .select(['e.extname as name', 'n.nspname as schema', 'e.extversion as version'])
    .$castTo<{ name: string; schema: string; version: string }>()
    .execute();
  return { available: available.map((e) => e.name), installed };
}

function readSchemaNames(db: Kysely<any>): Promise<{ name: string }[]> {
  // temporary schemas come and go with sessions; they are not part of the database's shape
  return db
    .selectFrom('pg_catalog.pg_namespace as n')
    .select('n.nspname as name')
    .where('n.nspname', 'not like', 'pg\\_temp\\_%')
    .where('n.nspname', 'not like', 'pg\\_toast\\_temp\\_%')
    .$castTo<{ name: string }>()
    .execute();
}

function readSession(db: Kysely<any>): Promise<{ currentUser: string; isSuperuser: boolean; serverVersionNum: string; database: string }> {
  return db
    .selectNoFrom([
      sql<string>`current_user::text`.as('currentUser'),
      sql<boolean>`(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)`.as('isSuperuser'),
      sql<string>`current_setting('server_version_num')`.as('serverVersionNum'),
      sql<string>`current_database()::text`.as('database'),
    ])
    .$castTo<{ currentUser: string; isSuperuser: boolean; serverVersionNum: string; database: string }>()
    .executeTakeFirstOrThrow();
}

async function readKeyVersions(db: Kysely<any>): Promise<{ name: string; version: number }[]> {
  // names and versions only: the key bytes never leave the database. Checked first, not
  // caught: a failed query would abort a transaction the caller may have open.
  // catalog joins, not to_regclass(): the planner may evaluate a stable function while it
  // estimates, and to_regclass raises "permission denied for schema" for a role without USAGE
  const keysReadable = await sql<{ ok: boolean }>`
    SELECT COALESCE((
      SELECT pg_catalog.has_schema_privilege(n.oid, 'USAGE') AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
         AND EXISTS (SELECT FROM pg_catalog.pg_attribute AS a WHERE a.attrelid = c.oid AND a.attname = 'version' AND NOT a.attisdropped)
        FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       WHERE n.nspname = 'pgmask_private' AND c.relname = 'keys'), false) AS ok`.execute(db);
  if (!keysReadable.rows[0]?.ok) return [];
  return (await sql<{ name: string; version: number }>`
        SELECT k.name, pg_catalog.max(k.version)::int4 AS version FROM pgmask_private.keys AS k GROUP BY k.name`.execute(db)).rows;
}

function assembleTables(
  relations: readonly RelationRow[],
  columns: readonly ColumnRow[],
  primaryKeys: readonly KeyColumnRow[],
  foreignKeys: readonly KeyColumnRow[],
  privileges: readonly PrivilegeRow[],
): CatalogTable[] {
  const columnsOf = groupBy(columns, (c) => c.relid);
  const pkOf = groupBy(primaryKeys, (k) => k.relid);
  const fkOf = groupBy(foreignKeys, (k) => k.relid);
  const privilegesOf = groupBy(privileges, (p) => p.relid);

  const tables = relations.map((r): CatalogTable => {
    const kind = relationKinds[r.relkind];
    if (!kind) throw new Error(`unexpected relkind ${r.relkind} for ${r.schema}.${r.name}`);
    const pk = pkOf.get(r.oid);
    return {
      schema: r.schema,
      name: r.name,
      kind,
      owner: r.owner,
      columns: (columnsOf.get(r.oid) ?? [])
        .map(
          (c): CatalogColumn => ({
            name: c.name,
            position: Number(c.position),
            sqlType: c.sqlType,
            typeName: c.baseName,
            typeSchema: c.typeSchema,
            family: typeFamily(c.baseName, c.baseCategory),
            nullable: !c.notNull,
            comment: c.comment,
          }),
        )
        .sort((a, b) => a.position - b.position),
      primaryKey: pk ? [...pk].sort((a, b) => Number(a.ord) - Number(b.ord)).map((k) => k.column) : null,
      foreignKeys: buildForeignKeys(fkOf.get(r.oid) ?? []),
      privileges: dedupePrivileges(privilegesOf.get(r.oid) ?? []),
      comment: r.comment,
      estimatedRows: Number(r.reltuples),
    };
  });
  return tables.sort((a, b) => byCodePoint(a.schema, b.schema) || byCodePoint(a.name, b.name));
}

function buildForeignKeys(rows: readonly KeyColumnRow[]): ForeignKey[] {
  const byName = groupBy(rows, (r) => r.conname);
  return [...byName.entries()]
    .map(([name, cols]): ForeignKey => {
      const ordered = [...cols].sort((a, b) => Number(a.ord) - Number(b.ord));
      const first = ordered[0]!;
      return {
        name,
        columns: ordered.map((c) => c.column),
        refSchema: first.refSchema ?? '',
        refTable: first.refTable ?? '',
        refColumns: ordered.map((c) => c.refColumn ?? ''),
        ...(first.validated === false ? { validated: false as const } : {}),
      };
    })
    .sort((a, b) => byCodePoint(a.name, b.name));
}

/** One entry per (grantee, privilege, column); a privilege granted by two grantors is still one fact. */
function dedupePrivileges(rows: readonly PrivilegeRow[]): TablePrivilege[] {
  const seen = new Map<string, TablePrivilege>();
  for (const r of rows) {
    const key = JSON.stringify([r.grantee, r.privilege, r.column]);
    if (!seen.has(key)) seen.set(key, { grantee: r.grantee, privilege: r.privilege, column: r.column });
  }
  // table-level grants first ('' sorts before every column name, which is never empty)
  return [...seen.values()].sort(
    (a, b) =>
      byCodePoint(a.column ?? '', b.column ?? '') ||
      byCodePoint(a.grantee, b.grantee) ||
      byCodePoint(a.privilege, b.privilege),
  );
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

/** Code point order (what COLLATE "C" gives for UTF-8), not UTF-16 unit order and not locale order. */
export function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** The catalog as pgmask sees a policy's schemas (names qualified: introspect() pins search_path = pg_catalog). */
export function snapshotFor(client: pg.ClientBase, policy: Pick<Policy, 'schemas'>): Promise<CatalogSnapshot> {
  return introspect(client as pg.Client, policy.schemas.flatMap((s) => [s.source, s.masked]));
}
