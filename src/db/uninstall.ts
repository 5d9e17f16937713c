import type pg from 'pg';
import { ExitCode, PgmaskError, databaseError } from '../errors.ts';
import { PGMASK_COMMENT_MARKER } from '../catalog/catalog-snapshot.ts';
import { OWNER_ROLE } from '../plan/nodes.ts';
import { searchPathNames } from '../plan/offboarding.ts';
import { dollarQuoted, ident, join, literal, sql, type Sql } from '../sql/index.ts';
import { query, queryRows } from './query.ts';

/** pgmask's own schemas: everything in them is pgmask's. */
const PGMASK_SCHEMAS = ['pgmask', 'pgmask_private'] as const;

/**
 * What `pgmask uninstall` removes from this database, read from the catalog (no policy
 * file needed: every policy applied here is removed), and what it keeps, with why.
 */
export interface UninstallPlan {
  readonly database: string;
  readonly installed: boolean;
  /** masked views, materialized views and (Citus mode) masked tables: those carrying pgmask's comment */
  readonly relations: readonly { readonly schema: string; readonly name: string; readonly kind: 'view' | 'materialized view' | 'table' }[];
  /** masked schemas left empty: dropped */
  readonly maskedSchemasDropped: readonly string[];
  /** masked schemas holding objects pgmask did not make: kept */
  readonly maskedSchemasKept: readonly { readonly schema: string; readonly objects: number }[];
  /** pgmask and pgmask_private (with the keys, the transforms, and pgcrypto when pgmask installed it there) */
  readonly pgmaskSchemas: readonly string[];
  /** per-database search_path settings naming a masked schema: reset */
  readonly searchPaths: readonly { readonly role: string; readonly value: string }[];
  /** masking roles, brokers and pgmask_owner; dropped when nothing in any database uses them any more */
  readonly roles: readonly { readonly role: string; readonly kind: 'masking role' | 'broker' | 'owner'; readonly usedElsewhere: readonly string[] }[];
  /** objects outside pgmask that depend on what uninstall drops: it refuses while any exists */
  readonly dependents: readonly string[];
}

export interface UninstallResult {
  readonly droppedRoles: readonly string[];
  readonly keptRoles: readonly { readonly role: string; readonly reason: string }[];
}

async function rows<R extends pg.QueryResultRow>(client: pg.ClientBase, what: string, statement: Sql): Promise<R[]> {
  try {
    return await queryRows<R>(client, statement);
  } catch (cause) {
    throw databaseError(cause, what);
  }
}

/** Reads what uninstall would do (changes nothing). */
export async function readUninstallPlan(client: pg.ClientBase): Promise<UninstallPlan> {
  const [head] = await rows<{ database: string; installed: boolean; policies: boolean }>(
    client,
    'cannot read the pgmask installation',
    sql`SELECT pg_catalog.current_database() AS "database", pg_catalog.to_regnamespace('pgmask') IS NOT NULL AS "installed",
               pg_catalog.to_regclass('pgmask.applied_policies') IS NOT NULL AS "policies"`,
  );
  const { database, installed } = head!;
  const empty = { relations: [], maskedSchemasDropped: [], maskedSchemasKept: [], pgmaskSchemas: [], searchPaths: [], roles: [], dependents: [] };
  if (!installed) return { database, installed, ...empty };
  const masked = head!.policies
    ? (
        await rows<{ schema: string }>(
          client,
          'cannot read pgmask.applied_policies',
          sql`SELECT DISTINCT p.masked_schema AS "schema" FROM pgmask.applied_policies p
               WHERE pg_catalog.to_regnamespace(pg_catalog.quote_ident(p.masked_schema)) IS NOT NULL ORDER BY 1`,
        )
      ).map((r) => r.schema)
    : [];
  const maskedList = textArray(masked);
  const relations = await rows<{ schema: string; name: string; kind: 'view' | 'materialized view' | 'table'; oid: string }>(
    client,
    'cannot read the masked relations',
    sql`SELECT n.nspname AS "schema", c.relname AS "name", c.oid::int8 AS "oid",
               CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'table' END AS "kind"
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ANY(${maskedList}) AND c.relkind IN ('v', 'm', 'r', 'p')
           AND pg_catalog.obj_description(c.oid, 'pg_class') LIKE ${literal(`${PGMASK_COMMENT_MARKER}%`)}
         ORDER BY 1, 2`,
  );
  // anything else that lives in a masked schema keeps it
  const others = await rows<{ schema: string; objects: number }>(
    client,
    'cannot read the masked schemas',
    sql`SELECT n.nspname AS "schema", count(d.objid)::int AS "objects"
          FROM pg_catalog.pg_namespace n
          LEFT JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = n.oid AND d.deptype = 'n'
               AND NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND pg_catalog.obj_description(d.objid, 'pg_class') LIKE ${literal(`${PGMASK_COMMENT_MARKER}%`)})
         WHERE n.nspname = ANY(${maskedList})
         GROUP BY 1 ORDER BY 1`,
  );
  const pgmaskSchemas = (
    await rows<{ schema: string }>(
      client,
      'cannot read the pgmask schemas',
      sql`SELECT nspname AS "schema" FROM pg_catalog.pg_namespace WHERE nspname = ANY(${textArray(PGMASK_SCHEMAS)}) ORDER BY 1`,
    )
  ).map((r) => r.schema);
  const dependents = await externalDependents(client, relations.map((r) => r.oid));
  const settings = await rows<{ role: string; value: string }>(
    client,
    'cannot read the role settings',
    sql`SELECT r.rolname AS "role", pg_catalog.substr(c, pg_catalog.length('search_path=') + 1) AS "value"
          FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole, pg_catalog.unnest(s.setconfig) AS c
         WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
           AND c LIKE 'search_path=%' ORDER BY 1`,
  );
  const searchPaths = settings.filter((s) => searchPathNames(s.value).some((n) => masked.includes(n)));
  const roles = await pgmaskRoles(client, masked);
  return {
    database,
    installed,
    relations: relations.map(({ schema, name, kind }) => ({ schema, name, kind })),
    maskedSchemasDropped: others.filter((o) => o.objects === 0).map((o) => o.schema),
    maskedSchemasKept: others.filter((o) => o.objects > 0),
    pgmaskSchemas,
    searchPaths,
    roles,
    dependents,
  };
}

function textArray(v: readonly string[]): Sql {
  return v.length === 0 ? sql`ARRAY[]::text[]` : sql`ARRAY[${join(v.map((x) => literal(x)))}]::text[]`;
}

/**
 * Objects outside pgmask's schemas and masked relations that depend on something uninstall
 * drops (a user's view over a masked view or a pgmask function, a default calling pgcrypto
 * installed in schema pgmask): dropping would fail, or with CASCADE take them along.
 */
async function externalDependents(client: pg.ClientBase, maskedOids: readonly string[]): Promise<string[]> {
  const oids = sql`ARRAY[${maskedOids.length > 0 ? join(maskedOids.map((o) => literal(o))) : sql`NULL`}]::oid[]`;
  const found = await rows<{ what: string }>(
    client,
    'cannot read what depends on pgmask',
    sql`WITH inside AS (
  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid FROM pg_catalog.pg_class c
   WHERE c.relnamespace IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('pgmask', 'pgmask_private')) OR c.oid = ANY(${oids})
  UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid FROM pg_catalog.pg_proc p
   WHERE p.pronamespace IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('pgmask', 'pgmask_private'))
  UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid FROM pg_catalog.pg_type t
   WHERE t.typnamespace IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('pgmask', 'pgmask_private'))
), owner_of AS (
  -- the relation or namespace each dependent object belongs to
  SELECT d.classid, d.objid, d.objsubid,
         COALESCE(CASE d.classid
           WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN COALESCE((SELECT indrelid FROM pg_catalog.pg_index WHERE indexrelid = d.objid), d.objid)
           WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN (SELECT ev_class FROM pg_catalog.pg_rewrite WHERE oid = d.objid)
           WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT adrelid FROM pg_catalog.pg_attrdef WHERE oid = d.objid)
           WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT conrelid FROM pg_catalog.pg_constraint WHERE oid = d.objid)
           WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT tgrelid FROM pg_catalog.pg_trigger WHERE oid = d.objid)
         END, 0) AS relid,
         CASE d.classid
           WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN (SELECT pronamespace FROM pg_catalog.pg_proc WHERE oid = d.objid)
           WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN (SELECT typnamespace FROM pg_catalog.pg_type WHERE oid = d.objid)
         END AS nsp
    FROM pg_catalog.pg_depend d JOIN inside i ON i.classid = d.refclassid AND i.oid = d.refobjid
   WHERE d.deptype IN ('n', 'a')
)
SELECT DISTINCT pg_catalog.pg_describe_object(o.classid, o.objid, o.objsubid) AS "what"
  FROM owner_of o
 WHERE NOT EXISTS (SELECT FROM inside i WHERE i.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND i.oid = o.relid)
   AND NOT EXISTS (SELECT FROM inside i WHERE i.classid = o.classid AND i.oid = o.objid)
   AND COALESCE(o.nsp NOT IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('pgmask', 'pgmask_private')), true)
   AND o.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass, 'pg_catalog.pg_rewrite'::pg_catalog.regclass, 'pg_catalog.pg_attrdef'::pg_catalog.regclass,
                     'pg_catalog.pg_constraint'::pg_catalog.regclass, 'pg_catalog.pg_trigger'::pg_catalog.regclass,
                     'pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_type'::pg_catalog.regclass)
 ORDER BY 1`,
  );
  return found.map((r) => r.what);
}

/**
 * The roles pgmask gave access here: grantees of the masked schemas and relations (masking
 * roles), of pgmask.reveal (brokers), and pgmask_owner; with the other databases whose
 * objects they own or hold privileges on (pg_shdepend), where they must stay.
 */
async function pgmaskRoles(client: pg.ClientBase, masked: readonly string[]): Promise<UninstallPlan['roles']> {
  const found = await rows<{ role: string; kind: 'masking role' | 'broker' | 'owner'; elsewhere: string[] }>(
    client,
    'cannot read the roles pgmask granted',
    sql`WITH grantees AS (
  SELECT a.grantee, 'masking role' AS kind FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
   WHERE n.nspname = ANY(${textArray(masked)}) AND a.grantee <> n.nspowner
  UNION SELECT a.grantee, 'masking role' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, pg_catalog.aclexplode(c.relacl) a
   WHERE n.nspname = ANY(${textArray(masked)}) AND a.grantee <> c.relowner
  UNION SELECT a.grantee, 'broker' FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
   WHERE p.pronamespace = pg_catalog.to_regnamespace('pgmask') AND p.proname = 'reveal' AND a.grantee <> p.proowner
  UNION SELECT r.oid, 'owner' FROM pg_catalog.pg_roles r WHERE r.rolname = ${literal(OWNER_ROLE)}
)
SELECT r.rolname AS "role", min(g.kind) AS "kind",
       ARRAY(SELECT DISTINCT d.datname::text FROM pg_catalog.pg_shdepend s JOIN pg_catalog.pg_database d ON d.oid = s.dbid
              WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND s.refobjid = r.oid
                AND d.datname <> pg_catalog.current_database() ORDER BY 1) AS "elsewhere"
  FROM grantees g JOIN pg_catalog.pg_roles r ON r.oid = g.grantee
 WHERE NOT r.rolsuper AND r.rolname <> CURRENT_USER AND (g.kind = 'owner' OR r.rolname <> ${literal(OWNER_ROLE)})
 GROUP BY r.oid, r.rolname ORDER BY CASE min(g.kind) WHEN 'masking role' THEN 0 WHEN 'broker' THEN 1 ELSE 2 END, 1`,
  );
  return found.map((r) => ({ role: r.role, kind: r.kind, usedElsewhere: r.elsewhere }));
}

/**
 * Removes what the plan lists, in one transaction: the masked relations, the emptied masked
 * schemas, pgmask's schemas, the search_path settings, what pgmask_owner owns or was granted
 * here (DROP OWNED BY: the source tables' grants among them), then each role nothing in any
 * database uses any more. Refuses (nothing changed) while objects outside pgmask depend on it.
 */
export async function runUninstall(client: pg.ClientBase, plan: UninstallPlan, opts: { signal?: AbortSignal } = {}): Promise<UninstallResult> {
  if (plan.dependents.length > 0) {
    throw new PgmaskError({
      code: 'UNINSTALL_DEPENDENTS',
      message: `${plan.dependents.length} object(s) outside pgmask depend on what uninstall would drop: ${plan.dependents.slice(0, 5).join('; ')}${plan.dependents.length > 5 ? '; …' : ''}`,
      hint: 'drop or change them first (uninstall never drops what pgmask did not create); nothing was changed',
      exitCode: ExitCode.database,
      details: plan.dependents.map((d) => ({ code: 'UNINSTALL_DEPENDENT', severity: 'error' as const, message: d })),
    });
  }
  const run = async (what: string, statement: Sql) => {
    try {
      await query(client, statement);
    } catch (cause) {
      throw databaseError(cause, `uninstall: ${what}`, 'the whole uninstall was rolled back; nothing was changed');
    }
  };
  await run('cannot start the transaction', sql`BEGIN`);
  try {
    await run('cannot prepare the transaction', sql`SET LOCAL search_path = pg_catalog, pg_temp`);
    for (const r of plan.relations) {
      const kind = r.kind === 'view' ? sql`VIEW` : r.kind === 'materialized view' ? sql`MATERIALIZED VIEW` : sql`TABLE`;
      await run(`cannot drop ${r.schema}.${r.name}`, sql`DROP ${kind} IF EXISTS ${ident(r.schema, r.name)}`);
    }
    for (const s of plan.maskedSchemasDropped) await run(`cannot drop schema ${s}`, sql`DROP SCHEMA ${ident(s)}`);
    // nothing outside them depends on their contents (checked above): CASCADE takes only pgmask's objects
    if (plan.pgmaskSchemas.length > 0) await run('cannot drop the pgmask schemas', sql`DROP SCHEMA ${join(plan.pgmaskSchemas.map((s) => ident(s)))} CASCADE`);
    for (const p of plan.searchPaths) {
      await run(`cannot reset the search_path of ${p.role}`, sql`ALTER ROLE ${ident(p.role)} IN DATABASE ${ident(plan.database)} RESET search_path`);
    }
    // pgmask_owner's grants left here are pgmask's: USAGE on the source schemas, SELECT on the source tables
    // (not DROP OWNED BY, which would also revoke what it holds on shared objects: other databases)
    for (const r of plan.roles) if (r.kind === 'owner') await revokeHere(client, r.role);
    const result = await dropUnusedRoles(client, plan);
    if (opts.signal?.aborted) throw new PgmaskError({ code: 'INTERRUPTED', message: 'uninstall was interrupted (Ctrl-C)', hint: 'it was rolled back; nothing was changed', exitCode: ExitCode.interrupted });
    await run('cannot commit', sql`COMMIT`);
    return result;
  } catch (error) {
    await query(client, sql`ROLLBACK`).catch(() => {});
    throw error;
  }
}

/** Revokes every privilege `role` holds on an object of this database (tables, sequences, schemas, functions). */
async function revokeHere(client: pg.ClientBase, role: string): Promise<void> {
  // names are quoted by the server (regclass, regprocedure, %I), never pasted from the catalog here
  const body = sql`
DECLARE
  held record;
BEGIN
  FOR held IN
    SELECT s.classid, s.objid FROM pg_catalog.pg_shdepend AS s
     WHERE s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
       AND s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
       AND s.refobjid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ${literal(role)})
       AND s.deptype = 'a' AND s.objsubid = 0
  LOOP
    IF held.classid = 'pg_catalog.pg_class'::pg_catalog.regclass THEN
      EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM %I',
        CASE (SELECT relkind FROM pg_catalog.pg_class WHERE oid = held.objid) WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
        held.objid::pg_catalog.regclass, ${literal(role)});
    ELSIF held.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN
      EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA %I FROM %I', (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = held.objid), ${literal(role)});
    ELSIF held.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
      EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %I', held.objid::pg_catalog.regprocedure, ${literal(role)});
    END IF;
  END LOOP;
END
`;
  try {
    await query(client, sql`DO ${dollarQuoted(body.text)}`);
  } catch (cause) {
    throw databaseError(cause, `uninstall: cannot revoke the privileges of ${role} in this database`, 'the whole uninstall was rolled back; nothing was changed');
  }
}

/** Drops each of the plan's roles that nothing in any database uses any more, and is no login. */
async function dropUnusedRoles(client: pg.ClientBase, plan: UninstallPlan): Promise<UninstallResult> {
  const dropped: string[] = [];
  const kept: { role: string; reason: string }[] = [];
  for (const r of plan.roles) {
    const [use] = await rows<{ shdepend: string[]; settings: number; login: boolean }>(
      client,
      `cannot read what still uses ${r.role}`,
      sql`SELECT ARRAY(SELECT DISTINCT COALESCE(d.datname::text, 'the cluster') FROM pg_catalog.pg_shdepend s LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
                        WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND s.refobjid = r.oid ORDER BY 1) AS "shdepend",
                 (SELECT count(*)::int FROM pg_catalog.pg_db_role_setting WHERE setrole = r.oid) AS "settings",
                 r.rolcanlogin AS "login"
            FROM pg_catalog.pg_roles r WHERE r.rolname = ${literal(r.role)}`,
    );
    if (!use) continue;
    if (use.login) kept.push({ role: r.role, reason: 'it can log in: a person or application, not a role pgmask made' });
    else if (use.shdepend.length > 0) kept.push({ role: r.role, reason: `it still owns objects or holds privileges in ${use.shdepend.join(', ')}` });
    else if (use.settings > 0) kept.push({ role: r.role, reason: 'it has role settings (ALTER ROLE … SET) pgmask did not make' });
    else {
      try {
        await query(client, sql`DROP ROLE ${ident(r.role)}`);
      } catch (cause) {
        throw databaseError(cause, `uninstall: cannot drop role ${r.role}`, 'the whole uninstall was rolled back; nothing was changed. Run it as a superuser (roles are cluster-wide)');
      }
      dropped.push(r.role);
    }
  }
  return { droppedRoles: dropped, keptRoles: kept };
}
