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
  | RestrictPlv8;

export interface Header {
  readonly kind: 'Header';
  readonly pgmaskVersion: string;
  readonly policyHash: string;
  readonly policyFile: string;
  readonly runtime: 'sql' | 'plv8';
  readonly sourceSchema: string;
  readonly maskedSchema: string;
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
  /** the masked expression, already cast to `type` */
  readonly expression: Sql;
  /** SQL type of the view column */
  readonly type: string;
  readonly comment: string;
}

export interface CreateMaskedView {
  readonly kind: 'CreateMaskedView';
  readonly schema: string;
  readonly name: string;
  readonly sourceSchema: string;
  readonly sourceTable: string;
  readonly columns: readonly MaskedColumn[];
  /** the policy's row filter (validated SQL boolean expression), or null */
  readonly filter: string | null;
  readonly comment: string;
  /**
   * served from a materialized view: filtered rows are never stored (so no
   * security_barrier is needed), refreshed by `pgmask refresh`
   */
  readonly materialized: boolean;
  /** indexes of a materialized view (empty for a dynamic view) */
  readonly indexes: readonly MaskedIndex[];
}

export interface EnsureRole {
  readonly kind: 'EnsureRole';
  readonly name: string;
}

export interface GrantMaskingRole {
  readonly kind: 'GrantMaskingRole';
  readonly role: string;
  readonly maskedSchema: string;
  readonly views: readonly string[];
  readonly members: readonly string[];
  readonly database: string;
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
