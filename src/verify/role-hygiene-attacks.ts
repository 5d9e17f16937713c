import { OWNER_ROLE } from '../plan/planner.ts';
import { param, sql } from '../sql/index.ts';
import { held, leaked, listSome, type Attack } from './attack-session.ts';
import { MEMBERSHIP_CHAIN } from './source-access-attacks.ts';

/**
 * Attacks that need no query trick: attributes and memberships that bypass every
 * grant, objects the role owns, and functions that read outside the database's
 * privilege system.
 */

/** Predefined roles that read data, files or other sessions' query texts regardless of grants. */
const PRIVILEGED_ROLES = [
  'pg_read_all_data',
  'pg_write_all_data',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_execute_server_program',
  'pg_read_all_stats',
  'pg_monitor',
  OWNER_ROLE,
];

const privilegedRoles: Attack = {
  id: 'privileged-roles',
  title: 'find attributes (SUPERUSER, BYPASSRLS, REPLICATION, CREATEROLE) and memberships (pg_read_all_data, pgmask_owner, a superuser, the source owner…) that bypass the masking',
  async run(s) {
    const found: string[] = [];
    const attrs = await s.rows<{ path: string; rolname: string; super: boolean; bypass: boolean; repl: boolean; createrole: boolean }>(
      sql`${MEMBERSHIP_CHAIN}
       SELECT chain.path, r.rolname, r.rolsuper AS super, r.rolbypassrls AS bypass, r.rolreplication AS repl, r.rolcreaterole AS createrole
         FROM chain JOIN pg_catalog.pg_roles r ON r.oid = chain.oid ORDER BY 1`,
    );
    for (const a of attrs) {
      const flags = [a.super && 'SUPERUSER', a.bypass && 'BYPASSRLS', a.repl && 'REPLICATION', a.createrole && 'CREATEROLE'].filter(Boolean);
      if (flags.length > 0) found.push(`${a.path} has ${flags.join(', ')}`);
      if (PRIVILEGED_ROLES.includes(a.rolname) && a.rolname !== s.subject.role) found.push(`member of ${a.rolname} (${a.path})`);
    }
    const owners = await s.rows<{ what: string }>(
      sql`${MEMBERSHIP_CHAIN}
       SELECT DISTINCT 'member of ' || chain.path || ', which owns ' || what AS what FROM (
         SELECT nspowner AS owner, 'schema ' || nspname AS what FROM pg_catalog.pg_namespace WHERE nspname IN (${param(s.facts.policy.sourceSchema)}, 'pgmask_private')
         UNION ALL SELECT relowner, 'table ' || ${param(s.facts.policy.sourceSchema)}::text || '.' || relname FROM pg_catalog.pg_class
          WHERE relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${param(s.facts.policy.sourceSchema)}) AND relkind IN ('r', 'p', 'v', 'm', 'f')
         UNION ALL SELECT datdba, 'database ' || datname FROM pg_catalog.pg_database WHERE datname = current_database()
       ) o JOIN chain ON chain.oid = o.owner ORDER BY 1`,
    );
    found.push(...owners.map((o) => o.what));
    if (found.length > 0) return leaked(`privileges that bypass every grant: ${listSome(found)}`, found);
    return held(`none of the ${attrs.length} role(s) in ${s.subject.role}'s membership chain has a bypassing attribute, a predefined data role, ${OWNER_ROLE}, or owns the source, its schema, pgmask_private or the database`);
  },
};

const maskingRoleLogin: Attack = {
  id: 'masking-role-login',
  title: 'check that the masking role is NOLOGIN (people log in as members, so access can be revoked per person)',
  appliesTo: (subject) => subject.maskingRole === subject.role,
  async run(s) {
    // by name: in Citus mode the session may be a login member's (Subject.through)
    const r = await s.rows<{ login: boolean }>(sql`SELECT rolcanlogin AS login FROM pg_catalog.pg_roles WHERE rolname = ${param(s.subject.role)}`);
    if (r[0]?.login) return leaked(`masking role ${s.subject.role} can log in (ALTER ROLE ${s.subject.role} NOLOGIN)`, [s.subject.role]);
    return held(`${s.subject.role} is NOLOGIN`);
  },
};

const ownedObjects: Attack = {
  id: 'owned-objects',
  title: 'find objects in the masked, pgmask and pgmask_private schemas owned by the role or a role it belongs to',
  async run(s) {
    const rows = await s.rows<{ what: string }>(
      sql`${MEMBERSHIP_CHAIN}
       SELECT DISTINCT o.what || ' (owner ' || chain.path || ')' AS what FROM (
         SELECT c.relowner AS owner, n.nspname || '.' || c.relname AS what FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN (${param(s.facts.policy.maskedSchema)}, 'pgmask', 'pgmask_private')
         UNION ALL SELECT p.proowner, p.oid::regprocedure::text FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname IN (${param(s.facts.policy.maskedSchema)}, 'pgmask', 'pgmask_private')
         UNION ALL SELECT nspowner, 'schema ' || nspname FROM pg_catalog.pg_namespace WHERE nspname IN (${param(s.facts.policy.maskedSchema)}, 'pgmask', 'pgmask_private')
       ) o JOIN chain ON chain.oid = o.owner ORDER BY 1`,
    );
    const found = rows.map((r) => r.what);
    if (found.length > 0) return leaked(`an owner can replace what the role is shown: ${listSome(found)}`, found);
    return held(`${s.subject.role} and its roles own nothing in ${s.facts.policy.maskedSchema}, pgmask or pgmask_private`);
  },
};

/** Functions that read files, other databases or the server, whatever the grants on tables say. */
const DANGEROUS_FUNCTIONS = ['dblink_connect_u', 'dblink_connect', 'dblink', 'dblink_exec', 'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'lo_import', 'lo_export', 'pg_file_write'];

const dangerousFunctions: Attack = {
  id: 'dangerous-functions',
  title: 'find functions the role may execute that read outside the grant system (dblink, server files, lo_import) or are LEAKPROOF outside pg_catalog',
  async run(s) {
    const rows = await s.rows<{ sig: string }>(
      sql`SELECT p.oid::regprocedure::text AS sig FROM pg_catalog.pg_proc p
        WHERE p.proname = ANY(${param(DANGEROUS_FUNCTIONS)}::text[]) AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE') ORDER BY 1`,
    );
    const found = rows.map((r) => `EXECUTE on ${r.sig}`);
    const leakproof = await s.rows<{ sig: string }>(
      sql`SELECT p.oid::regprocedure::text AS sig FROM pg_catalog.pg_proc p
        WHERE p.proleakproof AND p.pronamespace <> 'pg_catalog'::regnamespace AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE') ORDER BY 1`,
    );
    found.push(...leakproof.map((r) => `${r.sig} is LEAKPROOF: the planner runs it below a security_barrier`));
    const lo = await s.rows<{ on: string }>(sql`SELECT setting AS on FROM pg_catalog.pg_settings WHERE name = 'lo_compat_privileges'`);
    if (lo[0]?.on === 'on') found.push('lo_compat_privileges = on: every large object is readable');
    if (found.length > 0) return leaked(listSome(found), found);
    return held(`no EXECUTE on ${DANGEROUS_FUNCTIONS.length} file/remote-access function names, no user LEAKPROOF function, lo_compat_privileges off`);
  },
};

const largeObjects: Attack = {
  id: 'large-objects',
  title: 'read existing large objects and import a server file with lo_import',
  async run(s) {
    // one the role owns is its own data (it wrote it), not a leak
    const los = await s.rows<{ oid: number }>(
      sql`SELECT oid::int8::float8 AS oid FROM pg_catalog.pg_largeobject_metadata WHERE lomowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) ORDER BY oid LIMIT 1000`,
    );
    const found: string[] = [];
    for (const lo of los) {
      const r = await s.attempt(sql`SELECT pg_catalog.lo_get(${param(lo.oid)}::oid, 0, 16)`);
      if (r.ok) found.push(`large object ${lo.oid} is readable`);
    }
    const imp = await s.attempt(sql`SELECT pg_catalog.lo_import('/etc/hostname')`);
    if (imp.ok) found.push(`lo_import of a server file succeeded`);
    if (found.length > 0) return leaked(listSome(found), found);
    return held(`${los.length} large object(s), none readable; lo_import refused (${imp.ok ? '' : imp.error})`);
  },
};

export const roleHygieneAttacks: readonly Attack[] = [privilegedRoles, maskingRoleLogin, ownedObjects, dangerousFunctions, largeObjects];
