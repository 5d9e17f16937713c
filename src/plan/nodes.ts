import type { Sql } from '../sql/index.ts';

/**
 * The DDL tree the planner builds and the renderer turns into SQL. Nodes are
 * frozen, `kind`-tagged data; the renderer's exhaustive switch makes a node kind
 * that nobody renders a compile error.
 */
export type PlanNode =
  | Header
  | Preamble
  | EnsureExtension
  | InstallRuntime
  | EnsureKey
  | EnsureOwnerAccess
  | EnsureSchema
  | DropView
  | CreateMaskedView
  | EnsureRole
  | GrantMaskingRole
  | GrantBrokers
  | RevokeAccess
  | RevokeMembership
  | RestrictPlv8
  | CitusPreamble
  | CitusReferenceKeys
  | CreateCitusMaskedTable
  | FillCitusMaskedTable;

export interface Header {
  readonly kind: 'Header';
  readonly pgmaskVersion: string;
  readonly policyHash: string;
  readonly policyFile: string;
  readonly runtime: 'sql' | 'plv8';
  /** source schema → masked schema, in policy order */
  readonly schemas: readonly { readonly source: string; readonly masked: string }[];
  /** Citus mode (src/plan/citus.ts): masked relations are distributed tables */
  readonly citus?: boolean;
}

/** Session settings for the rest of the migration (SET LOCAL: gone at COMMIT). */
export interface Preamble {
  readonly kind: 'Preamble';
}

export interface EnsureExtension {
  readonly kind: 'EnsureExtension';
  readonly name: 'pgcrypto' | 'plv8';
  /** schema to create it in when missing */
  readonly schema: string;
}

/** The transform functions of one runtime, from sql/ or the PLV8 build (text shipped with pgmask). */
export interface InstallRuntime {
  readonly kind: 'InstallRuntime';
  readonly runtime: 'sql' | 'plv8';
  readonly body: Sql;
  /** schema where pgcrypto lives, put on search_path while the functions are created */
  readonly pgcryptoSchema: string;
}

export interface EnsureKey {
  readonly kind: 'EnsureKey';
  readonly name: string;
  readonly pgcryptoSchema: string;
}

/** pgmask_owner (which owns the views) may read the source table. */
export interface EnsureOwnerAccess {
  readonly kind: 'EnsureOwnerAccess';
  readonly schema: string;
  readonly tables: readonly string[];
}

export interface EnsureSchema {
  readonly kind: 'EnsureSchema';
  readonly name: string;
}

export interface DropView {
  readonly kind: 'DropView';
  readonly schema: string;
  readonly name: string;
  /** a materialized view (DROP MATERIALIZED VIEW) rather than a view */
  readonly materialized: boolean;
  /** a masked table of Citus mode (DROP TABLE), whatever `materialized` says */
  readonly table?: boolean;
  readonly reason: string;
}

/** An index on a materialized masked view (a unique one on the masked primary key, others on join keys). */
export interface MaskedIndex {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

export interface MaskedColumn {
  readonly name: string;
  /** the masked expression as a tree, already cast to `type` (a Cast node) */
  readonly masked: Expr;
  /** `masked` rendered (what the view's SELECT list holds) */
  readonly expression: Sql;
  /** SQL type of the view column */
  readonly type: string;
  readonly comment: string;
}

/**
 * A foreign key whose referenced row can hide this row (consent filters cascade):
 * the referenced table's subject-level filter, or a route onward from it. Rendered
 * as `NOT EXISTS (a hidden referenced row)`, which PostgreSQL plans as an anti-join
 * on the key (and a semi-join for each further hop).
 */
export interface SubjectRoute {
  /** foreign key columns of the referencing table */
  readonly columns: readonly string[];
  readonly refSchema: string;
  readonly refTable: string;
  readonly refColumns: readonly string[];
  /** the referenced table's subject-level row filter, or null when only a route onward hides its rows */
  readonly filter: string | null;
  readonly routes: readonly SubjectRoute[];
}

/**
 * The order rows leave a masked view in. Storage order gives away insertion order
 * (position ≈ raw id ≈ raw date), so by default a dynamic view sorts by a keyed hash
 * of the row key, and a materialized view stores rows sorted by the masked primary
 * key (a value the analyst sees anyway, so position adds nothing).
 */
export type RowOrder =
  | { readonly kind: 'storage' }
  /** `ORDER BY hashtextextended(rowKey, seed)`, seed derived from `key` once per query */
  | { readonly kind: 'keyed'; readonly rowKey: Expr; readonly key: Expr }
  /** `ORDER BY` these output columns (1-based positions of the masked primary key) */
  | { readonly kind: 'masked key'; readonly positions: readonly number[] };

export interface CreateMaskedView {
  readonly kind: 'CreateMaskedView';
  readonly schema: string;
  readonly name: string;
  readonly sourceSchema: string;
  readonly sourceTable: string;
  readonly columns: readonly MaskedColumn[];
  /** the policy's row filter (validated SQL boolean expression), or null */
  readonly filter: string | null;
  /** foreign keys whose hidden referenced rows hide this table's rows too */
  readonly subjectRoutes: readonly SubjectRoute[];
  readonly rowOrder: RowOrder;
  readonly comment: string;
  /**
   * served from a materialized view: filtered rows are never stored (so no
   * security_barrier is needed), refreshed by `pgmask refresh`
   */
  readonly materialized: boolean;
  /** indexes of a materialized view (empty for a dynamic view) */
  readonly indexes: readonly MaskedIndex[];
  /** the table's subject column (whose rows belong to one person), or null */
  readonly subject: string | null;
  /**
   * the subject column may repeat across rows (it is not the table's whole primary key), so
   * per-subject work (shift_date's offset, the subject's pseudonym) is done once per subject
   * value (render.ts, subjectOnce)
   */
  readonly subjectRepeats: boolean;
}

export interface EnsureRole {
  readonly kind: 'EnsureRole';
  readonly name: string;
}

export interface GrantMaskingRole {
  readonly kind: 'GrantMaskingRole';
  readonly role: string;
  /** each masked schema with the views in it the role may read */
  readonly schemas: readonly { readonly name: string; readonly views: readonly string[] }[];
  readonly members: readonly string[];
  readonly database: string;
}

/**
 * The honest brokers of the policy: pgmask.reveal (created by pgmask's migration 0006) is
 * owned by pgmask_owner, so it reads keys as that role; EXECUTE on it and SELECT on
 * pgmask.reveal_log go to these roles and are taken from anyone else (a broker removed from
 * the policy loses them).
 */
export interface GrantBrokers {
  readonly kind: 'GrantBrokers';
  readonly brokers: readonly { readonly role: string; readonly members: readonly string[] }[];
}

/**
 * PLV8 runs a view's transform in the querying role's own JavaScript context and
 * hands it the key as an argument: a role allowed to run its own plv8 code (a DO
 * block, a function) could plant code there that receives the key. So no masking
 * role, member or PUBLIC may use the language.
 */
export interface RestrictPlv8 {
  readonly kind: 'RestrictPlv8';
  readonly roles: readonly string[];
}

/**
 * Expression nodes: a masked column's SQL expression as a tree down to its leaves, so
 * that specialization, verify's oracle (a column computed with another key) and the
 * report's utility query work on nodes rather than on rendered text. Rendered by
 * `renderExpression` (src/plan/render.ts), exhaustively like the DDL nodes.
 */
export type Expr = ColumnReference | KeyReference | Cast | Constant | TransformCall | SqlTemplate;

/** a column of the source row, e.g. `src."mrn"` */
export interface ColumnReference {
  readonly kind: 'ColumnReference';
  /** the alias of the source table in the view (`src`) */
  readonly table: string;
  readonly column: string;
}

/** the rule's key: a scalar subquery on pgmask_private.keys, which PostgreSQL runs once per query (an InitPlan) */
export interface KeyReference {
  readonly kind: 'KeyReference';
  readonly name: string;
  /** the key version the view names (it keeps its key until the next migrate after `pgmask keys rotate`) */
  readonly version: number;
}

export interface Cast {
  readonly kind: 'Cast';
  readonly expression: Expr;
  /** SQL type name, as the catalog spells it (e.g. `numeric(5,1)`) */
  readonly type: string;
  /** `x::type` rather than `CAST(x AS type)` (the same meaning; the short form reads better inside calls) */
  readonly short: boolean;
}

/** a self-contained SQL expression known when the migration is generated: a literal, precomputed bytes, an array constant */
export interface Constant {
  readonly kind: 'Constant';
  readonly sql: Sql;
}

/** a call of a function in schema pgmask with positional arguments */
export interface TransformCall {
  readonly kind: 'TransformCall';
  /** the function name inside schema pgmask, e.g. `zip3` */
  readonly fn: string;
  readonly args: readonly Expr[];
}

/**
 * SQL text with holes for sub-expressions (Kysely's RawNode): `fragments[0] args[0]
 * fragments[1] … args[n-1] fragments[n]`. The fragments are trusted Sql made by
 * `sql`/`literal`/`ident`; every column, key or call inside stays a node.
 */
export interface SqlTemplate {
  readonly kind: 'SqlTemplate';
  readonly fragments: readonly Sql[];
  readonly args: readonly Expr[];
}

/** The NOLOGIN role that owns the masked views and reads the source tables and keys. */
export const OWNER_ROLE = 'pgmask_owner';

/**
 * Offboarding: a role the policy no longer names as a masking role (removed or
 * renamed) loses SELECT on the masked views and USAGE on the masked schema.
 */
export interface RevokeAccess {
  readonly kind: 'RevokeAccess';
  readonly role: string;
  readonly schema: string;
  /** views of `schema` the role holds SELECT on */
  readonly views: readonly string[];
  readonly usage: boolean;
}

/**
 * Offboarding: a member the policy no longer lists loses the masking role, and
 * the search_path pgmask set for it in this database.
 */
export interface RevokeMembership {
  readonly kind: 'RevokeMembership';
  readonly role: string;
  readonly member: string;
  readonly database: string;
  /** the member's search_path in this database names a masked schema of the policy: reset it */
  readonly resetSearchPath: boolean;
}

/**
 * Citus mode (src/plan/citus.ts, docs/scale.md): the migration transaction runs every
 * multi-shard command over one connection per node, which Citus needs when one
 * transaction creates objects, distributes tables and writes a reference table.
 */
export interface CitusPreamble {
  readonly kind: 'CitusPreamble';
}

/** Citus mode: pgmask_private.keys becomes a reference table (once), so every worker reads the key locally. */
export interface CitusReferenceKeys {
  readonly kind: 'CitusReferenceKeys';
}

/** How a masked table of Citus mode is placed. */
export type CitusPlacement =
  /** hash-distributed by the (pseudonymized) subject column, in the co-location group of `colocateWith` (null: a new group) */
  | { readonly kind: 'distributed'; readonly column: string; readonly colocateWith: { readonly schema: string; readonly name: string } | null }
  /** a table without a subject column: one shard copied to every node */
  | { readonly kind: 'reference' };

/**
 * Citus mode: a masked relation is a table in the masked schema (a view of a distributed
 * table would run its shard queries as the analyst, who must never read a raw shard),
 * owned by pgmask_owner, with its indexes created before it is distributed so every
 * shard gets them.
 */
export interface CreateCitusMaskedTable {
  readonly kind: 'CreateCitusMaskedTable';
  readonly schema: string;
  readonly name: string;
  readonly sourceSchema: string;
  readonly sourceTable: string;
  readonly columns: readonly MaskedColumn[];
  readonly placement: CitusPlacement;
  /** the unique index on the masked key (with the distribution column added when it lacks it), then join-key indexes */
  readonly indexes: readonly MaskedIndex[];
  readonly comment: string;
}

/**
 * Citus mode: fill (or, in `pgmask refresh`, refill after TRUNCATE) one masked table by
 * `INSERT … SELECT` from the raw tables, then CLUSTER it on its masked key so storage
 * order tells nothing (the SELECT has no ORDER BY: Citus repartitions an INSERT … SELECT
 * only without one).
 */
export interface FillCitusMaskedTable {
  readonly kind: 'FillCitusMaskedTable';
  readonly schema: string;
  readonly name: string;
  readonly sourceSchema: string;
  readonly columns: readonly string[];
  /** `SELECT … FROM <source> AS src WHERE <filter and consent routes>`, rendered by the planner */
  readonly select: Sql;
  /** the index CLUSTER sorts by (the masked key), or null for `row_order: storage` */
  readonly clusterIndex: string | null;
}
