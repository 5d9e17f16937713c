import type pg from 'pg';
import { ExitCode, PgmaskError, databaseError, type ErrorDetail } from '../errors.ts';
import { ident, join, literal, sql } from '../sql/index.ts';
import { query, queryRows, savepoint } from './query.ts';

/** The role that owns the masked views (created by migrations/0001_init.sql). */
const OWNER_ROLE = 'pgmask_owner';

/** What a policy migration touches, for the privilege check (see docs/privileges.md). */
export interface MigrateTargets {
  readonly sources: readonly { readonly schema: string; readonly table: string }[];
  readonly maskedSchemas: readonly string[];
  /** masking roles of the policy */
  readonly roles: readonly string[];
  /** login members of the masking roles */
  readonly members: readonly string[];
}

/** What the connected role may do, read in one query (nothing is changed). */
export interface MigrateRoleFacts {
  readonly user: string;
  readonly database: string;
  readonly superuser: boolean;
  readonly createRole: boolean;
  readonly serverVersionNum: number;
  readonly createOnDatabase: boolean;
  /** pgmask.schema_migrations exists: pgmask was migrated here before */
  readonly bootstrapped: boolean;
  /** owner of schema pgmask, when it exists */
  readonly pgmaskSchemaOwner: string | null;
  /** may write pgmask's own tables (INSERT on pgmask.schema_migrations) */
  readonly writesPgmaskTables: boolean;
  readonly ownerRoleExists: boolean;
  /** member of pgmask_owner with the right to become it (SET ROLE) */
  readonly ownerRoleMember: boolean;
  /** may grant pgmask_owner (ADMIN OPTION; on PostgreSQL 15 and older CREATEROLE is enough) */
  readonly ownerRoleAdmin: boolean;
  /** source tables the role neither owns nor may grant SELECT on */
  readonly ungrantableSources: readonly string[];
  /** existing masked schemas the role may not create views in */
  readonly closedMaskedSchemas: readonly string[];
  /** existing roles (masking roles and members) the role may not grant or alter (PostgreSQL 16+: needs ADMIN OPTION) */
  readonly unmanageableRoles: readonly string[];
  /** roles of the policy that do not exist yet (they are created: CREATEROLE) */
  readonly missingRoles: readonly string[];
}

export async function readMigrateRoleFacts(client: pg.ClientBase, targets: MigrateTargets): Promise<MigrateRoleFacts> {
  const sources = targets.sources.length > 0 ? join(targets.sources.map((s) => sql`(${literal(s.schema)}, ${literal(s.table)})`)) : sql`(NULL::text, NULL::text)`;
  const schemas = targets.maskedSchemas.length > 0 ? join(targets.maskedSchemas.map((s) => sql`(${literal(s)})`)) : sql`(NULL::text)`;
  const roleNames = [...new Set([...targets.roles, ...targets.members])];
  const roles = roleNames.length > 0 ? join(roleNames.map((r) => sql`(${literal(r)})`)) : sql`(NULL::text)`;
  const statement = sql`WITH me AS (SELECT r.* FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER),
  v AS (SELECT current_setting('server_version_num')::int AS num),
  src(schema_name, table_name) AS (VALUES ${sources}),
  masked(schema_name) AS (VALUES ${schemas}),
  wanted(role_name) AS (VALUES ${roles})
SELECT CURRENT_USER AS "user",
  pg_catalog.current_database() AS "database",
  me.rolsuper AS "superuser",
  me.rolcreaterole AS "createRole",
  v.num AS "serverVersionNum",
  pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') AS "createOnDatabase",
  pg_catalog.to_regclass('pgmask.schema_migrations') IS NOT NULL AS "bootstrapped",
  (SELECT pg_catalog.pg_get_userbyid(n.nspowner)::text FROM pg_catalog.pg_namespace n WHERE n.nspname = 'pgmask') AS "pgmaskSchemaOwner",
  COALESCE(pg_catalog.to_regclass('pgmask.schema_migrations') IS NOT NULL
    AND pg_catalog.has_table_privilege('pgmask.schema_migrations', 'SELECT, INSERT'), false) AS "writesPgmaskTables",
  EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(OWNER_ROLE)}) AS "ownerRoleExists",
  COALESCE((SELECT pg_catalog.pg_has_role(${literal(OWNER_ROLE)}, CASE WHEN v.num >= 160000 THEN 'SET' ELSE 'MEMBER' END)
            FROM pg_catalog.pg_roles WHERE rolname = ${literal(OWNER_ROLE)}), false) AS "ownerRoleMember",
  COALESCE((SELECT pg_catalog.pg_has_role(${literal(OWNER_ROLE)}, 'MEMBER WITH ADMIN OPTION') OR (v.num < 160000 AND me.rolcreaterole)
            FROM pg_catalog.pg_roles WHERE rolname = ${literal(OWNER_ROLE)}), false) AS "ownerRoleAdmin",
  ARRAY(SELECT pg_catalog.format('%I.%I', src.schema_name, src.table_name) FROM src
        JOIN pg_catalog.pg_namespace n ON n.nspname = src.schema_name
        JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = src.table_name
        WHERE NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
          AND NOT pg_catalog.has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')
        ORDER BY 1) AS "ungrantableSources",
  ARRAY(SELECT masked.schema_name FROM masked JOIN pg_catalog.pg_namespace n ON n.nspname = masked.schema_name
        WHERE NOT pg_catalog.has_schema_privilege(n.oid, 'CREATE') ORDER BY 1) AS "closedMaskedSchemas",
  ARRAY(SELECT r.rolname::text FROM wanted JOIN pg_catalog.pg_roles r ON r.rolname = wanted.role_name
        WHERE v.num >= 160000 AND NOT me.rolsuper AND NOT pg_catalog.pg_has_role(r.oid, 'MEMBER WITH ADMIN OPTION') ORDER BY 1) AS "unmanageableRoles",
  ARRAY(SELECT wanted.role_name FROM wanted WHERE wanted.role_name IS NOT NULL
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = wanted.role_name) ORDER BY 1) AS "missingRoles"
FROM me, v`;
  try {
    return (await queryRows<MigrateRoleFacts>(client, statement))[0]!;
  } catch (cause) {
    throw databaseError(cause, 'cannot read the privileges of the connected role');
  }
}

/**
 * Every privilege a migrate by this role lacks, each with the statement that grants it
 * (pure: facts in, problems out). A superuser lacks nothing. The policy migration itself
 * grants pgmask_owner to the migrating role when that role may (see ensureOwnerRoleMembership).
 */
export function missingMigratePrivileges(f: MigrateRoleFacts, targets: MigrateTargets): ErrorDetail[] {
  if (f.superuser) return [];
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const me = q(f.user);
  const problems: ErrorDetail[] = [];
  const need = (code: string, message: string, hint: string) => problems.push({ code, severity: 'error', message, hint });
  if (!f.createOnDatabase) {
    // CREATE SCHEMA IF NOT EXISTS checks it even when the schema exists
    need('NEEDS_CREATE_ON_DATABASE', `${f.user} may not create schemas in database ${f.database} (migrate creates pgmask, pgmask_private and the masked schema when missing)`, `GRANT CREATE ON DATABASE ${q(f.database)} TO ${me};`);
  }
  if (f.bootstrapped && !f.writesPgmaskTables) {
    need(
      'NEEDS_PGMASK_SCHEMA_OWNER',
      `${f.user} may not write pgmask's own tables here: schema pgmask belongs to ${f.pgmaskSchemaOwner ?? 'another role'}, who ran the first migrate`,
      `migrate as ${f.pgmaskSchemaOwner ?? 'that role'}, or hand pgmask over to ${f.user} with the statements in docs/privileges.md ("Handing pgmask over")`,
    );
  }
  const createsRoles = !f.ownerRoleExists || f.missingRoles.length > 0;
  if (!f.createRole && (createsRoles || targets.members.length > 0)) {
    need('NEEDS_CREATEROLE', `${f.user} lacks CREATEROLE (migrate creates pgmask_owner and the masking roles, grants them to their members and sets the members' search_path)`, `ALTER ROLE ${me} CREATEROLE;`);
  }
  if (f.ownerRoleExists && !f.ownerRoleMember && !f.ownerRoleAdmin) {
    need('NEEDS_PGMASK_OWNER', `${f.user} is not a member of ${OWNER_ROLE}, which owns the masked views (ALTER VIEW … OWNER TO ${OWNER_ROLE} needs it)`, `GRANT ${OWNER_ROLE} TO ${me};`);
  }
  for (const t of f.ungrantableSources) {
    need('NEEDS_SOURCE_TABLE', `${f.user} neither owns source table ${t} nor may grant SELECT on it (migrate grants ${OWNER_ROLE} SELECT on every source table)`, `ALTER TABLE ${t} OWNER TO ${me};  -- or: GRANT SELECT ON ${t} TO ${me} WITH GRANT OPTION;`);
  }
  for (const s of f.closedMaskedSchemas) {
    need('NEEDS_CREATE_ON_MASKED_SCHEMA', `${f.user} may not create views in the masked schema ${s}`, `GRANT CREATE ON SCHEMA ${q(s)} TO ${me};  -- or ALTER SCHEMA ${q(s)} OWNER TO ${me};`);
  }
  for (const r of f.unmanageableRoles) {
    need('NEEDS_ADMIN_OPTION', `${f.user} may not grant or alter role ${r} (PostgreSQL 16 and later: CREATEROLE applies only to roles one has ADMIN OPTION on)`, `GRANT ${q(r)} TO ${me} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;`);
  }
  return problems;
}

/** Fails with every missing privilege at once (exit 4), before anything runs. */
export function assertMigratePrivileges(facts: MigrateRoleFacts, targets: MigrateTargets): void {
  const problems = missingMigratePrivileges(facts, targets);
  if (problems.length === 0) return;
  const first = problems[0]!;
  throw new PgmaskError({
    code: problems.length === 1 ? first.code : 'NEEDS_PRIVILEGES',
    message: problems.length === 1 ? first.message : `${facts.user} lacks ${problems.length} privileges that migrate needs`,
    hint: `as a superuser (or the owner), run: ${problems.map((p) => p.hint).join(' ')} — see docs/privileges.md; nothing was changed`,
    exitCode: ExitCode.database,
    details: problems,
  });
}

/**
 * Makes the migrating role a member of pgmask_owner when it is not one yet and may grant
 * it (a non-superuser that just created pgmask_owner, like PostgreSQL 16's
 * createrole_self_grant): the policy migration hands every view to pgmask_owner, which
 * needs membership. Runs inside the migration transaction; returns the role granted to, or null.
 */
export async function ensureOwnerRoleMembership(client: pg.ClientBase): Promise<string | null> {
  const probe = sql`SELECT CURRENT_USER AS "user",
  (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = CURRENT_USER) AS "superuser",
  pg_catalog.pg_has_role(${literal(OWNER_ROLE)}, CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) AS "member"`;
  let facts: { user: string; superuser: boolean; member: boolean };
  try {
    facts = (await queryRows<{ user: string; superuser: boolean; member: boolean }>(client, probe))[0]!;
  } catch (cause) {
    throw databaseError(cause, `cannot read the membership of the migrating role in ${OWNER_ROLE}`);
  }
  if (facts.superuser || facts.member) return null;
  // a role that may not grant it goes on: the policy SQL then fails where it needs it (the CLI checked first)
  try {
    await savepoint(client, () => query(client, sql`GRANT ${ident(OWNER_ROLE)} TO CURRENT_USER`));
    return facts.user;
  } catch {
    return null;
  }
}

/**
 * Offboarding revokes memberships; PostgreSQL 16+ keeps one grant per grantor and lets a
 * role revoke only grants made by a role whose privileges it has (a superuser: all). A grant
 * this role may not take back (a superuser's GRANT by hand) refuses the migrate before it
 * runs, naming the statement that does it (exit 4): a migrate that reported the member
 * offboarded while it still reads would be worse.
 */
export async function assertRevocableMemberships(client: pg.ClientBase, pairs: readonly { readonly role: string; readonly member: string }[]): Promise<void> {
  if (pairs.length === 0) return;
  const wanted = join(pairs.map((p) => sql`(${literal(p.role)}, ${literal(p.member)})`));
  const statement = sql`WITH wanted(role_name, member_name) AS (VALUES ${wanted})
SELECT w.role_name AS "role", w.member_name AS "member", pg_catalog.pg_get_userbyid(m.grantor)::text AS "grantor", CURRENT_USER::text AS "user"
  FROM wanted w
  JOIN pg_catalog.pg_roles g ON g.rolname = w.role_name
  JOIN pg_catalog.pg_roles u ON u.rolname = w.member_name
  JOIN pg_catalog.pg_auth_members m ON m.roleid = g.oid AND m.member = u.oid
 WHERE pg_catalog.current_setting('server_version_num')::int >= 160000
   AND NOT pg_catalog.pg_has_role(m.grantor, 'USAGE')
 ORDER BY 1, 2, 3`;
  let rows: { role: string; member: string; grantor: string; user: string }[];
  try {
    rows = await queryRows<{ role: string; member: string; grantor: string; user: string }>(client, statement);
  } catch (cause) {
    throw databaseError(cause, 'cannot read who granted the memberships to revoke');
  }
  if (rows.length === 0) return;
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const details: ErrorDetail[] = rows.map((r) => ({
    code: 'NEEDS_REVOKE_BY_GRANTOR',
    severity: 'error',
    message: `${r.member} is no longer a member of ${r.role} in the policy, but ${r.grantor} granted it and ${r.user} may not revoke ${r.grantor}'s grants`,
    hint: `REVOKE ${q(r.role)} FROM ${q(r.member)} GRANTED BY ${q(r.grantor)};`,
  }));
  throw new PgmaskError({
    code: 'NEEDS_REVOKE_BY_GRANTOR',
    message: details.length === 1 ? details[0]!.message : `${details.length} memberships the policy no longer gives were granted by roles ${rows[0]!.user} may not revoke for`,
    hint: `as ${[...new Set(rows.map((r) => r.grantor))].join(' or ')} (or a superuser), run: ${details.map((d) => d.hint).join(' ')} — then migrate again; nothing was changed`,
    exitCode: ExitCode.database,
    details,
  });
}
