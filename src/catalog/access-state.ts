/**
 * What the catalog says about access to the masked schemas beyond what a
 * CatalogSnapshot holds: who has USAGE on them, which roles carry a
 * per-database search_path (pgmask sets one for each member), which runtime
 * and keys are installed. Read once, before planning; the planner derives the
 * revokes (offboarding) and the plan summary from it.
 */
export interface AccessState {
  /** USAGE on a masked schema, by grantee (never PUBLIC: pgmask revokes it) */
  readonly schemaUsage: readonly { readonly schema: string; readonly grantee: string }[];
  /** per-database search_path settings of roles: here (this database) or in another database of the cluster */
  readonly searchPaths: readonly { readonly role: string; readonly here: boolean; readonly value: string }[];
  /** the language of the installed transform functions: 'sql' | 'plv8', or null when none are installed */
  readonly runtime: 'sql' | 'plv8' | null;
  /** key names in pgmask_private.keys, or null when the table cannot be read */
  readonly keys: readonly string[] | null;
  /**
   * memberships that give no access (PostgreSQL 16+: every grant of it WITH INHERIT FALSE,
   * SET FALSE, like the ADMIN OPTION CREATE ROLE gives a non-superuser creator): the member
   * reads nothing through the role, so offboarding leaves it alone
   */
  readonly inertMemberships: readonly { readonly role: string; readonly member: string }[];
}

export const NO_ACCESS_STATE: AccessState = Object.freeze({ schemaUsage: [], searchPaths: [], runtime: null, keys: null, inertMemberships: [] });

