/**
 * What pgmask knows about a live database, read once by `introspect()` and then
 * passed around as plain frozen data: anything that only needs to know the
 * schema takes a CatalogSnapshot, never a connection.
 */

/** Coarse type families that transforms declare support for. */
export type TypeFamily =
  | 'text' // text, varchar, char, citext, name
  | 'integer' // int2, int4, int8
  | 'numeric' // numeric/decimal
  | 'float' // float4, float8
  | 'date'
  | 'timestamp' // timestamp without time zone
  | 'timestamptz'
  | 'time' // time, timetz, interval
  | 'uuid'
  | 'boolean'
  | 'json' // json, jsonb
  | 'bytea'
  | 'array'
  | 'other'; // enums, inet, geometry, …

export interface CatalogColumn {
  readonly name: string;
  /** attnum: table order */
  readonly position: number;
  /** format_type(atttypid, atttypmod): the exact type to cast back to, e.g. `character varying(40)` */
  readonly sqlType: string;
  /** pg_type.typname of the base type (domains resolved), e.g. `varchar`, `int4`, `timestamptz` */
  readonly typeName: string;
  /** schema of the column's type as declared (for a domain or enum: its schema) */
  readonly typeSchema: string;
  readonly family: TypeFamily;
  readonly nullable: boolean;
  readonly comment: string | null;
}

export interface ForeignKey {
  readonly name: string;
  readonly columns: readonly string[];
  readonly refSchema: string;
  readonly refTable: string;
  readonly refColumns: readonly string[];
  /**
   * false for a constraint added `NOT VALID` and not validated since: rows written before it
   * may break it. Absent: validated (it holds for every row).
   */
  readonly validated?: false;
}

export interface TablePrivilege {
  readonly grantee: string; // role name, or 'PUBLIC'
  readonly privilege: string; // SELECT, INSERT, …
  /** null for a table-level grant, the column name for a column-level grant */
  readonly column: string | null;
}

export interface CatalogTable {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'partitioned table' | 'view' | 'materialized view' | 'foreign table';
  readonly owner: string;
  readonly columns: readonly CatalogColumn[];
  /** primary key columns in key order, or null */
  readonly primaryKey: readonly string[] | null;
  readonly foreignKeys: readonly ForeignKey[];
  readonly privileges: readonly TablePrivilege[];
  readonly comment: string | null;
  /** pg_class.reltuples: planner's estimate, -1 when never analyzed */
  readonly estimatedRows: number;
}

export interface CatalogRole {
  readonly name: string;
  readonly canLogin: boolean;
  readonly superuser: boolean;
  /** roles this role is a direct member of */
  readonly memberOf: readonly string[];
}

export interface CatalogSnapshot {
  /** server_version_num, e.g. 180001 */
  readonly serverVersionNum: number;
  readonly currentUser: string;
  readonly isSuperuser: boolean;
  readonly database: string;
  /** names listed by pg_available_extensions */
  readonly availableExtensions: readonly string[];
  /** installed extensions with the schema they live in */
  readonly installedExtensions: Readonly<Record<string, { readonly schema: string; readonly version: string }>>;
  readonly schemas: readonly string[];
  readonly roles: readonly CatalogRole[];
  /** tables (and views) of the introspected schemas, sorted by schema then name */
  readonly tables: readonly CatalogTable[];
  /**
   * the current (highest) version of each key in pgmask_private.keys, by name; absent or
   * without a name when pgmask's schema is not there yet (the key is then created as version 1)
   */
  readonly keyVersions?: Readonly<Record<string, number>>;
  /** Citus metadata when the citus extension is installed (pg_dist_partition); absent on a plain server */
  readonly citus?: CitusCatalog;
}

/**
 * How Citus places a table (pg_dist_partition.partmethod and repmodel): `distributed` is
 * hash-distributed by `distributionColumn`; `reference` is one shard copied to every node;
 * `other` is anything else Citus tracks (a Citus local table, a single-shard table, append
 * or range distribution).
 */
export interface CitusTable {
  readonly schema: string;
  readonly name: string;
  readonly placement: 'distributed' | 'reference' | 'other';
  /** column_to_column_name(logicalrelid, partkey) for a hash-distributed table, else null */
  readonly distributionColumn: string | null;
  readonly colocationId: number;
}

export interface CitusCatalog {
  /** pg_extension.extversion of citus, e.g. `13.0-1` */
  readonly version: string;
  /** every table in pg_dist_partition (all schemas), sorted by schema then name */
  readonly tables: readonly CitusTable[];
}

export function findCitusTable(snapshot: CatalogSnapshot, schema: string, name: string): CitusTable | undefined {
  return snapshot.citus?.tables.find((t) => t.schema === schema && t.name === name);
}

/** Every masked view pgmask creates carries a comment starting with this marker. */
export const PGMASK_COMMENT_MARKER = 'pgmask:';

/** A masked view, materialized view or (Citus mode) masked table that pgmask created (and may replace or drop). */
export function isPgmaskRelation(table: CatalogTable): boolean {
  return (table.kind === 'view' || table.kind === 'materialized view' || table.kind === 'table') && (table.comment?.startsWith(PGMASK_COMMENT_MARKER) ?? false);
}

export function findTable(snapshot: CatalogSnapshot, schema: string, name: string): CatalogTable | undefined {
  return snapshot.tables.find((t) => t.schema === schema && t.name === name);
}

/** Maps pg_type.typname (base type) to a family. */
export function typeFamily(typeName: string, typeCategory?: string): TypeFamily {
  switch (typeName) {
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'citext':
    case 'name':
      return 'text';
    case 'int2':
    case 'int4':
    case 'int8':
      return 'integer';
    case 'numeric':
      return 'numeric';
    case 'float4':
    case 'float8':
      return 'float';
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamp';
    case 'timestamptz':
      return 'timestamptz';
    case 'time':
    case 'timetz':
    case 'interval':
      return 'time';
    case 'uuid':
      return 'uuid';
    case 'bool':
      return 'boolean';
    case 'json':
    case 'jsonb':
      return 'json';
    case 'bytea':
      return 'bytea';
    default:
      return typeCategory === 'A' ? 'array' : 'other';
  }
}
