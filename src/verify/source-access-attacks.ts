import { ident, param, sql, type Sql } from '../sql/index.ts';
import { savepoint } from '../db/query.ts';
import { copyStatementOut } from '../db/copy-stream.ts';
import { held, leaked, listSome, type Attack, type AttackSession } from './attack-session.ts';

/**
 * Security model 1: the masking role never reads a source table. These attacks try
 * the reads themselves, then look for every way a grant could reach a source
 * column: PUBLIC, a role the subject belongs to (transitively), a column-level
 * grant, a default privilege that will grant the next table.
 */

const RELKINDS = sql`('r', 'p', 'v', 'm', 'f')`;

/**
 * `c` is a source relation: a table-like relation that no extension owns. An extension
 * installed in the source schema (pg_stat_statements; Citus's citus_tables, citus_schemas)
 * brings its own relations and grants (often SELECT to PUBLIC): they hold no source data.
 */
export const SOURCE_RELATION: Sql = sql`c.relkind IN ${RELKINDS} AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext
  WHERE ext.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ext.objid = c.oid AND ext.deptype = 'e')`;

/** The subject and every role it belongs to, transitively, with the path as text. */
export const MEMBERSHIP_CHAIN: Sql = sql`WITH RECURSIVE chain(oid, path) AS (
  SELECT oid, rolname::text FROM pg_catalog.pg_roles WHERE rolname = current_user
  UNION
  SELECT m.roleid, chain.path || ' → ' || r.rolname FROM pg_catalog.pg_auth_members m
    JOIN chain ON m.member = chain.oid JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
)`;

const sourceRead: Attack = {
  id: 'source-read',
  title: 'read every source relation and column directly (SELECT, and any other privilege on it)',
  async run(s) {
    const source = s.facts.policy.sourceSchema;
    const found: string[] = [];
    for (const rel of s.facts.sourceRelations) {
      const r = await s.attempt(sql`SELECT * FROM ${ident(source, rel.name)} LIMIT 1`);
      if (r.ok) found.push(`${source}.${rel.name}: SELECT * succeeded (${r.rows.length} row read)`);
    }
    const columns = await s.rows<{ rel: string; col: string }>(
      sql`SELECT c.relname AS rel, a.attname AS col FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${param(source)}) AND ${SOURCE_RELATION}
          AND pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')`,
    );
    for (const { rel, col } of columns) {
      const r = await s.attempt(sql`SELECT ${ident(col)} FROM ${ident(source, rel)} LIMIT 1`);
      if (r.ok) found.push(`${source}.${rel}.${col}: SELECT succeeded`);
    }
    const other = await s.rows<{ rel: string; priv: string }>(
      sql`SELECT c.relname AS rel, p.priv FROM pg_catalog.pg_class c
         CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
        WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${param(source)}) AND ${SOURCE_RELATION}
          AND pg_catalog.has_table_privilege(c.oid, p.priv)
        ORDER BY 1, 2`,
    );
    for (const { rel, priv } of other) found.push(`${source}.${rel}: has ${priv}`);
    if (found.length > 0) return leaked(`reached source data: ${listSome(found)}`, found);
    const n = s.facts.sourceRelations.reduce((k, r) => k + r.columns.length, 0);
    return held(`permission denied on all ${s.facts.sourceRelations.length} relations and ${n} columns of ${source}`);
  },
};

const publicGrants: Attack = {
  id: 'source-grants-public',
  title: 'find privileges granted to PUBLIC on source relations, their columns, or the keys table',
  async run(s) {
    const rows = await s.rows<{ what: string }>(
      sql`SELECT n.nspname || '.' || c.relname || ': ' || a.privilege_type AS what
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, pg_catalog.aclexplode(c.relacl) a
        WHERE (n.nspname = ${param(s.facts.policy.sourceSchema)} AND ${SOURCE_RELATION} OR n.nspname = 'pgmask_private') AND a.grantee = 0
       UNION ALL
       SELECT n.nspname || '.' || c.relname || '.' || att.attname || ': ' || a.privilege_type
         FROM pg_catalog.pg_attribute att JOIN pg_catalog.pg_class c ON c.oid = att.attrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, pg_catalog.aclexplode(att.attacl) a
        WHERE (n.nspname = ${param(s.facts.policy.sourceSchema)} AND ${SOURCE_RELATION} OR n.nspname = 'pgmask_private') AND a.grantee = 0
       ORDER BY 1`,
    );
    const found = rows.map((r) => `PUBLIC has ${r.what}`);
    if (found.length > 0) return leaked(`every role reaches raw data: ${listSome(found)}`, found);
    return held(`no privilege on ${s.facts.policy.sourceSchema} relations, their columns or pgmask_private is granted to PUBLIC`);
  },
};

const roleGrants: Attack = {
  id: 'source-grants-roles',
  title: 'find table privileges on source relations held by the role or any role it belongs to (transitively)',
  async run(s) {
    const rows = await s.rows<{ what: string }>(
      sql`${MEMBERSHIP_CHAIN}
       SELECT DISTINCT n.nspname || '.' || c.relname || ': ' || a.privilege_type || ' via ' || chain.path AS what
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
              pg_catalog.aclexplode(c.relacl) a JOIN chain ON chain.oid = a.grantee
        WHERE (n.nspname = ${param(s.facts.policy.sourceSchema)} AND ${SOURCE_RELATION} OR n.nspname = 'pgmask_private')
       ORDER BY 1`,
    );
    const found = rows.map((r) => r.what);
    if (found.length > 0) return leaked(`granted through roles: ${listSome(found)}`, found);
    return held(`neither ${s.subject.role} nor any role it belongs to holds a privilege on a source relation or pgmask_private`);
  },
};

const columnGrants: Attack = {
  id: 'source-grants-column',
  title: 'find column-level grants on source columns to the role, a role it belongs to, or PUBLIC',
  async run(s) {
    const rows = await s.rows<{ what: string }>(
      sql`${MEMBERSHIP_CHAIN}
       SELECT DISTINCT n.nspname || '.' || c.relname || '.' || att.attname || ': ' || a.privilege_type || ' to ' ||
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE coalesce(chain.path, a.grantee::regrole::text) END AS what
         FROM pg_catalog.pg_attribute att JOIN pg_catalog.pg_class c ON c.oid = att.attrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
              pg_catalog.aclexplode(att.attacl) a LEFT JOIN chain ON chain.oid = a.grantee
        WHERE (n.nspname = ${param(s.facts.policy.sourceSchema)} OR n.nspname = 'pgmask_private') AND (a.grantee = 0 OR chain.oid IS NOT NULL)
       ORDER BY 1`,
    );
    const found = rows.map((r) => r.what);
    if (found.length > 0) return leaked(`column grants reach raw columns: ${listSome(found)}`, found);
    return held(`no column-level grant on ${s.facts.policy.sourceSchema} or pgmask_private reaches ${s.subject.role}`);
  },
};

const defaultPrivileges: Attack = {
  id: 'default-privileges',
  title: 'find default privileges that grant future source tables (or key tables) to the role, its roles, or PUBLIC',
  async run(s) {
    const rows = await s.rows<{ what: string }>(
      sql`${MEMBERSHIP_CHAIN}
       SELECT DISTINCT 'ALTER DEFAULT PRIVILEGES FOR ROLE ' || d.defaclrole::regrole::text ||
              coalesce(' IN SCHEMA ' || n.nspname, '') || ' GRANT ' || a.privilege_type || ' ON ' ||
              CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' ELSE d.defaclobjtype::text END ||
              ' TO ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE chain.path END AS what
         FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace,
              pg_catalog.aclexplode(d.defaclacl) a LEFT JOIN chain ON chain.oid = a.grantee
        WHERE d.defaclobjtype = 'r' AND (d.defaclnamespace = 0 OR n.nspname IN (${param(s.facts.policy.sourceSchema)}, 'pgmask_private'))
          AND (a.grantee = 0 OR chain.oid IS NOT NULL) AND a.grantee <> d.defaclrole
       ORDER BY 1`,
    );
    const found = rows.map((r) => r.what);
    if (found.length > 0) return leaked(`the next table created there is readable: ${listSome(found)}`, found);
    return held(`no default privilege grants tables in ${s.facts.policy.sourceSchema} or pgmask_private to ${s.subject.role}, its roles or PUBLIC`);
  },
};

const pgStats: Attack = {
  id: 'pg-stats',
  title: 'read planner statistics (most common values, histograms) of source tables in pg_stats and pg_stats_ext',
  async run(s) {
    const source = s.facts.policy.sourceSchema;
    const rows = await s.rows<{ what: string }>(sql`SELECT tablename || '.' || attname AS what FROM pg_catalog.pg_stats WHERE schemaname = ${param(source)} ORDER BY 1`);
    const ext = await s.attempt<{ what: string }>(sql`SELECT tablename || '.' || statistics_name AS what FROM pg_catalog.pg_stats_ext WHERE schemaname = ${param(source)}`);
    const found = [...rows.map((r) => r.what), ...(ext.ok ? ext.rows.map((r) => `${r.what} (extended)`) : [])];
    if (found.length > 0) return leaked(`pg_stats shows raw values of ${listSome(found)}`, found);
    return held(`pg_stats shows the role none of the ${s.facts.sourceStatsRows} statistics rows about ${source} (they need SELECT on the column)`);
  },
};

/** COPY … TO STDOUT through the copy protocol, in a savepoint; resolves to the bytes received or the error. */
export async function copyOut(s: AttackSession, statement: Sql): Promise<{ ok: true; bytes: number } | { ok: false; error: string }> {
  try {
    const bytes = await savepoint(s.client, async () => {
      const stream = copyStatementOut(s.client, statement);
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: Buffer) => void (received += chunk.length));
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      return received;
    });
    return { ok: true, bytes };
  } catch (e) {
    s.noteFailure((e as { code?: string }).code ?? null, (e as Error).message);
    return { ok: false, error: (e as Error).message };
  }
}

const copy: Attack = {
  id: 'copy',
  title: 'COPY source relations and COPY (SELECT …) of them TO STDOUT',
  async run(s) {
    const source = s.facts.policy.sourceSchema;
    const found: string[] = [];
    for (const rel of s.facts.sourceRelations) {
      const table = ident(source, rel.name);
      const attempts = [sql`COPY (SELECT * FROM ${table} LIMIT 1) TO STDOUT`, ...(rel.kind === 'r' ? [sql`COPY ${table} TO STDOUT`] : [])];
      for (const a of attempts) {
        const r = await copyOut(s, a);
        if (r.ok) found.push(`${a.text} returned ${r.bytes} bytes`);
      }
    }
    if (found.length > 0) return leaked(`COPY read source data: ${listSome(found, 3)}`, found);
    return held(`COPY of every one of the ${s.facts.sourceRelations.length} source relations was refused`);
  },
};


const derivedRelations: Attack = {
  id: 'source-through-views',
  title: 'read views and materialized views outside the masked schema that are built on source tables (directly or through other views)',
  async run(s) {
    const rows = await s.rows<{ rel: string; base: string; schema: string; name: string }>(
      sql`WITH RECURSIVE built_on(rel, base) AS (
         SELECT r.ev_class, d.refobjid FROM pg_catalog.pg_rewrite r
           JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
           JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
          WHERE t.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${param(s.facts.policy.sourceSchema)}) AND r.ev_class <> d.refobjid
         UNION
         SELECT r.ev_class, b.base FROM built_on b
           JOIN pg_catalog.pg_depend d ON d.refobjid = b.rel AND d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
           JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
          WHERE r.ev_class <> b.rel
       )
       SELECT DISTINCT c.oid::regclass::text AS rel, b.base::regclass::text AS base, n.nspname AS schema, c.relname AS name
         FROM built_on b JOIN pg_catalog.pg_class c ON c.oid = b.rel JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN (${param(s.facts.policy.sourceSchema)}, ${param(s.facts.policy.maskedSchema)}) AND pg_catalog.has_any_column_privilege(c.oid, 'SELECT')
        ORDER BY 1, 2`,
    );
    // the policy's own views in its other masked schemas read this schema's tables where a consent
    // route crosses schemas (clin_masked.visits hides the rows of patients reg.patients filters out):
    // their section's attacks check them; anything else there built on these tables is suspect
    const policyView = (schema: string, name: string) => s.facts.wholePolicy.tables.some((t) => t.maskedSchema === schema && t.name === name);
    const found: string[] = [];
    for (const r of rows.filter((row) => !policyView(row.schema, row.name))) {
      const read = await s.attempt(sql`SELECT * FROM ${ident(r.schema, r.name)} LIMIT 1`);
      found.push(`${r.rel} (built on ${r.base}) is readable${read.ok ? ` and returned ${read.rows.length} row` : ''}`);
    }
    if (found.length > 0) return leaked(`views outside ${s.facts.policy.maskedSchema} expose source tables unmasked: ${listSome(found)}`, found);
    return held(`no view or materialized view outside ${s.facts.policy.maskedSchema} and ${s.facts.policy.sourceSchema} built on a source table is readable`);
  },
};

const definerFunctions: Attack = {
  id: 'definer-functions',
  title: 'find SECURITY DEFINER functions the role may execute whose owner reads a source table or the keys',
  async run(s) {
    const rows = await s.rows<{ what: string }>(
      sql`SELECT p.oid::regprocedure::text || ' runs as ' || pg_catalog.pg_get_userbyid(p.proowner) ||
              CASE WHEN o.rolsuper THEN ' (a superuser)' ELSE ', who reads ' || (
                SELECT string_agg(n.nspname || '.' || c.relname, ', ' ORDER BY c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE (n.nspname = ${param(s.facts.policy.sourceSchema)} AND ${SOURCE_RELATION} OR n.nspname = 'pgmask_private' AND c.relkind = 'r')
                   AND pg_catalog.has_table_privilege(p.proowner, c.oid, 'SELECT')) END AS what
         FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles o ON o.oid = p.proowner
        WHERE p.prosecdef AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
          AND p.pronamespace <> 'pg_catalog'::regnamespace
          AND (o.rolsuper OR EXISTS (
                SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE (n.nspname = ${param(s.facts.policy.sourceSchema)} AND ${SOURCE_RELATION} OR n.nspname = 'pgmask_private' AND c.relkind = 'r')
                   AND pg_catalog.has_table_privilege(p.proowner, c.oid, 'SELECT')))
        ORDER BY 1`,
    );
    const found = rows.map((r) => r.what);
    if (found.length > 0) return leaked(`the role may call code that reads raw data with another role's rights: ${listSome(found, 3)}`, found);
    return held('no SECURITY DEFINER function the role may execute is owned by a role that reads the source tables or the keys');
  },
};

export const sourceAccessAttacks: readonly Attack[] = [sourceRead, publicGrants, roleGrants, columnGrants, defaultPrivileges, derivedRelations, definerFunctions, pgStats, copy];
