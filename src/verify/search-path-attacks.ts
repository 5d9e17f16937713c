import { ident, literal, operatorName, param, serverDeparsedSql, sql, typeName, type Sql } from '../sql/index.ts';
import { query } from '../db/query.ts';
import { held, leaked, listSome, type Attack, type AttackSession } from './attack-session.ts';

/**
 * A name resolved through the caller's search_path at run time (a SQL function
 * with a string body, an operator) can be redirected to a look-alike the role
 * wrote, which then receives the key argument. Views bind names when created;
 * pgmask functions must too.
 */

const HIJACK_TAG = 'pgmask-verify-hijack:';
const MAX_LOOKALIKES = 400;

/** Splits a search_path setting into schema names ("$user" → the role). */
export function parseSearchPath(value: string, role: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^,\s]+))\s*(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null && m[0] !== '') {
    const name = m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!;
    out.push(name === '$user' ? role : name);
  }
  return out;
}

async function writableSchemas(s: AttackSession): Promise<string[]> {
  return (
    await s.rows<{ nspname: string }>(
      sql`SELECT nspname FROM pg_catalog.pg_namespace WHERE pg_catalog.has_schema_privilege(oid, 'CREATE') AND nspname !~ '^pg_(temp|toast)' ORDER BY 1`,
    )
  ).map((r) => r.nspname);
}

const hijack: Attack = {
  id: 'search-path-hijack',
  title: 'create look-alike functions and operators in a schema the role can write, put it first on search_path, and read the views',
  async run(s) {
    const writable = await writableSchemas(s);
    if (writable.length === 0) return held('the role can create objects in no schema (pg_temp is never searched for functions or operators, even when the path names it; types: the pg-temp attack): no place for a look-alike');
    const evil = writable[0]!;
    // names the views' functions use: the functions themselves and every identifier called in their bodies
    const bodies = await s.rows<{ name: string; body: string }>(
      sql`SELECT p.proname AS name, concat_ws(' ', p.prosrc, CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END) AS body
         FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pgmask')`,
    );
    const names = new Set<string>();
    const operators = new Set<string>();
    for (const b of bodies) {
      names.add(b.name);
      if (b.body.length > 200_000) continue; // a PLV8 bundle: JavaScript, no SQL names
      for (const m of b.body.matchAll(/\b([a-z_][a-z0-9_]*)\s*\(/gi)) names.add(m[1]!.toLowerCase());
      for (const m of b.body.matchAll(/(\|\||->>|->|#|<<|>>|[+\-*/%&|=<>])/g)) operators.add(m[1]!);
    }
    const overloads = await s.rows<{ name: string; args: string; ret: string }>(
      sql`SELECT p.proname AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args, pg_catalog.format_type(p.prorettype, NULL) AS ret
         FROM pg_catalog.pg_proc p
        WHERE p.proname = ANY(${param([...names])}::text[]) AND p.prokind = 'f' AND p.pronamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${param(evil)})
          AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes) t JOIN pg_catalog.pg_type ty ON ty.oid = t WHERE ty.typtype = 'p')
          AND (SELECT typtype FROM pg_catalog.pg_type WHERE oid = p.prorettype) <> 'p'
        ORDER BY 1, 2 LIMIT ${literal(MAX_LOOKALIKES)}`,
    );
    const ops = await s.rows<{ name: string; left: string; right: string; ret: string }>(
      sql`SELECT o.oprname AS name, pg_catalog.format_type(o.oprleft, NULL) AS left, pg_catalog.format_type(o.oprright, NULL) AS right, pg_catalog.format_type(o.oprresult, NULL) AS ret
         FROM pg_catalog.pg_operator o
        WHERE o.oprname = ANY(${param([...operators])}::text[]) AND o.oprleft <> 0 AND o.oprnamespace = 'pg_catalog'::regnamespace
          AND o.oprleft IN ('text'::regtype, 'bytea'::regtype, 'int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype, 'float8'::regtype, 'jsonb'::regtype, 'date'::regtype, 'timestamptz'::regtype, 'bit'::regtype)
        ORDER BY 1, 2, 3`,
    );
    // argument lists are SQL the server deparsed (pg_get_function_identity_arguments); types are format_type() output
    const baseline = await readSample(s);
    let created = 0;
    for (const f of overloads) {
      const body = lookalikeBody(`${HIJACK_TAG}%`, f.name);
      const r = await s.attempt(sql`CREATE FUNCTION ${ident(evil, f.name)}(${serverDeparsedSql(f.args)}) RETURNS ${typeName(f.ret)} LANGUAGE plpgsql AS ${body}`);
      if (r.ok) created++;
    }
    for (const [i, o] of ops.entries()) {
      const fn = ident(evil, `pgmask_verify_op_${i}`);
      const body = lookalikeBody(`${HIJACK_TAG}operator %`, o.name);
      const [left, right] = [typeName(o.left), typeName(o.right)];
      const f = await s.attempt(sql`CREATE FUNCTION ${fn}(${left}, ${right}) RETURNS ${typeName(o.ret)} LANGUAGE plpgsql AS ${body}`);
      if (!f.ok) continue;
      const r = await s.attempt(sql`CREATE OPERATOR ${ident(evil)}.${operatorName(o.name)} (LEFTARG = ${left}, RIGHTARG = ${right}, FUNCTION = ${fn})`);
      if (r.ok) created++;
    }
    await query(s.client, sql`SET LOCAL search_path = ${ident(evil)}, pg_catalog`);
    await query(s.client, sql`SET LOCAL client_min_messages = notice`);
    const { value: hijacked, notices } = await s.collectNotices(() => readSample(s));
    const found = [...new Set(notices.filter((n) => n.startsWith(HIJACK_TAG)).map((n) => `${evil}.${n.slice(HIJACK_TAG.length)} was called`))];
    for (const [view, rows] of baseline) {
      if (JSON.stringify(rows) !== JSON.stringify(hijacked.get(view))) found.push(`${view} reads differently with ${evil} first on search_path`);
    }
    if (found.length > 0) return leaked(`a look-alike in ${evil} ran inside the masking (it would receive the key): ${listSome(found)}`, found);
    return held(`${created} look-alike function(s)/operator(s) in writable schema ${evil}, first on search_path: never called, every view reads the same`);
  },
};

/** A PL/pgSQL body that announces it was called (the notice the attack listens for) and returns NULL. */
function lookalikeBody(tag: string, name: string): Sql {
  return literal(`BEGIN RAISE NOTICE ${literal(tag).text}, ${literal(name).text}; RETURN NULL; END`);
}

/**
 * The first rows of every masked view as text. No unqualified type name: the pg-temp
 * attack reads through this with pg_temp domains shadowing the built-in types.
 */
export async function readSample(s: AttackSession): Promise<Map<string, string[] | string>> {
  const out = new Map<string, string[] | string>();
  for (const v of s.facts.maskedViews) {
    const r = await s.attempt<{ row: string }>(sql`SELECT v::pg_catalog.text AS row FROM ${ident(s.facts.policy.maskedSchema, v.name)} AS v LIMIT 50`);
    out.set(v.name, r.ok ? r.rows.map((x) => x.row) : 'error');
  }
  return out;
}

const configuredPath: Attack = {
  id: 'search-path-config',
  title: "check the role's login search_path (pg_db_role_setting) names no schema the role or PUBLIC can write",
  async run(s) {
    const path = s.searchPath;
    const who = await s.rows<{ login: boolean; configured: boolean }>(
      sql`SELECT r.rolcanlogin AS login, EXISTS (
                SELECT 1 FROM pg_catalog.pg_db_role_setting d, unnest(d.setconfig) AS c
                 WHERE d.setrole = r.oid AND c LIKE 'search_path=%'
                   AND d.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))) AS configured
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
    );
    // a NOLOGIN role never starts a session with the server default: its members' paths are what counts
    if (who[0] && !who[0].login && !who[0].configured) return held(`${s.subject.role} cannot log in and has no search_path of its own; each login member's is checked as that member`);
    const schemas = parseSearchPath(path, s.subject.role);
    const found: string[] = [];
    for (const name of schemas) {
      if (name === 'pg_catalog' || name === 'pg_temp') continue;
      const r = await s.rows<{ mine: boolean; public: boolean }>(
        sql`SELECT pg_catalog.has_schema_privilege(n.oid, 'CREATE') AS mine,
                EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE') AS public
           FROM pg_catalog.pg_namespace n WHERE n.nspname = ${param(name)}`,
      );
      if (r[0]?.mine || r[0]?.public) found.push(`${name} (${r[0].public ? 'PUBLIC' : s.subject.role} can CREATE in it)`);
    }
    if (found.length > 0) return leaked(`search_path ${path} has writable schemas where look-alikes of views or functions can be planted: ${listSome(found)}`, found);
    return held(`search_path ${path}: no schema on it is writable by ${s.subject.role} or PUBLIC`);
  },
};

export const searchPathAttacks: readonly Attack[] = [hijack, configuredPath];
