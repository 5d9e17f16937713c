import type { Policy } from '../policy/policy.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { citusLoginMember, citusMode } from '../plan/citus.ts';
import { usageError } from '../errors.ts';
import { ident, sql, type Sql } from '../sql/index.ts';

/**
 * Who `pgmask report` reads the masked relations as, and the statements that open that
 * read-only session. On one server: the masking role itself. In Citus mode the masked
 * relations are distributed tables, and Citus opens its connections to the workers as the
 * session's current role (its CurrentUserName() is the role after SET ROLE or SET SESSION
 * AUTHORIZATION: Citus source, metadata_cache.c), so a NOLOGIN masking role cannot read
 * them; the report reads as one of its login members instead, which sees what the analysts
 * see (and needs node-to-node access like every analyst login: docs/scale.md).
 */
export interface RiskReader {
  /** the role the session becomes and reads as */
  readonly role: string;
  /** the masking role whose view is measured (= role on one server) */
  readonly maskingRole: string;
  /** Citus mode: read through this login member because the masking role cannot reach the workers */
  readonly throughMember: boolean;
  /** a superuser admin becomes the role faithfully; any other admin must be a member of it */
  readonly impersonation: 'session authorization' | 'set role';
}

/** The reader for `role` (a masking role, or a login member given with --role). Throws a usage error when Citus mode leaves none. */
export function chooseRiskReader(policy: Policy, snapshot: CatalogSnapshot, role: string): RiskReader {
  const impersonation = snapshot.isSuperuser ? 'session authorization' : 'set role';
  const live = snapshot.roles.find((r) => r.name === role);
  if (!citusMode(policy, snapshot) || live?.canLogin) return { role, maskingRole: maskingRoleOf(policy, snapshot, role), throughMember: false, impersonation };
  const member = citusLoginMember(policy, snapshot, role);
  if (!member) {
    throw usageError(
      'REPORT_NO_LOGIN_MEMBER',
      `masking role ${role} has no login member to read the distributed masked tables as: Citus opens its worker connections as the current role, which a NOLOGIN role cannot be`,
      `add a login member to roles.${role}.members (with node-to-node access: docs/scale.md) and run pgmask migrate, pass --role with a login member of ${role}, or --login-url with an analyst's login`,
    );
  }
  return { role: member, maskingRole: role, throughMember: true, impersonation };
}

function maskingRoleOf(policy: Policy, snapshot: CatalogSnapshot, role: string): string {
  if (policy.roles.some((r) => r.name === role)) return role;
  const memberOf = snapshot.roles.find((r) => r.name === role)?.memberOf ?? [];
  return policy.roles.find((r) => r.members.includes(role) || memberOf.includes(r.name))?.name ?? role;
}

/** The statements that open the report's risk session as `reader`, or in a --login-url session as that login (its transaction is always rolled back). */
export function riskSessionStatements(reader: RiskReader | null, workMem: Sql): Sql[] {
  const statements = [sql`BEGIN READ ONLY`, sql`SET LOCAL search_path = pg_catalog`, sql`SET LOCAL work_mem = ${workMem}`];
  if (reader === null) return statements;
  return [...statements, reader.impersonation === 'session authorization' ? sql`SET LOCAL SESSION AUTHORIZATION ${ident(reader.role)}` : sql`SET LOCAL ROLE ${ident(reader.role)}`];
}
