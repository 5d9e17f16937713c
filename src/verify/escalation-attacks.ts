import { OWNER_ROLE } from '../plan/planner.ts';
import { ident, param, serverDeparsedSql, sql } from '../sql/index.ts';
import { query } from '../db/query.ts';
import { held, leaked, listSome, type Attack } from './attack-session.ts';

/**
 * Security model 1 and 2 from the other side: the role must not be able to change
 * what it is shown (replace a view or a transform, add an object next to them) or
 * become the role that reads the source.
 */
const escalation: Attack = {
  id: 'escalation',
  title: `create objects in the masked, pgmask and pgmask_private schemas, replace views and functions, SET ROLE ${OWNER_ROLE}, reach the source through search_path`,
  async run(s) {
    const { policy } = s.facts;
    const found: string[] = [];
    let tries = 0;
    for (const schema of [policy.maskedSchema, 'pgmask', 'pgmask_private']) {
      tries++;
      const r = await s.attempt(sql`CREATE TABLE ${ident(schema, 'pgmask_verify_probe')} (x int)`);
      if (r.ok) found.push(`CREATE TABLE in schema ${schema} succeeded`);
      tries++;
      const f = await s.attempt(sql`CREATE FUNCTION ${ident(schema, 'pgmask_verify_probe')}() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
      if (f.ok) found.push(`CREATE FUNCTION in schema ${schema} succeeded`);
    }
    for (const v of s.facts.maskedViews.filter((x) => x.kind === 'view')) {
      const view = ident(policy.maskedSchema, v.name);
      const def = await s.rows<{ def: string | null }>(sql`SELECT pg_catalog.pg_get_viewdef(pg_catalog.format('%I.%I', ${param(policy.maskedSchema)}::text, ${param(v.name)}::text)::regclass) AS def`);
      if (!def[0]?.def) continue;
      tries++;
      // the same definition: success means the role could have written any other
      const r = await s.attempt(sql`CREATE OR REPLACE VIEW ${view} AS ${serverDeparsedSql(def[0].def)}`);
      if (r.ok) found.push(`CREATE OR REPLACE VIEW ${policy.maskedSchema}.${v.name} succeeded`);
      tries++;
      const a = await s.attempt(sql`ALTER VIEW ${view} SET (security_barrier = false)`);
      if (a.ok) found.push(`ALTER VIEW ${policy.maskedSchema}.${v.name} SET (security_barrier = false) succeeded`);
    }
    const functions = await s.rows<{ sig: string; def: string }>(
      sql`SELECT p.oid::regprocedure::text AS sig, pg_catalog.pg_get_functiondef(p.oid) AS def FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pgmask') AND p.prokind = 'f' ORDER BY 1`,
    );
    for (const f of functions) {
      tries++;
      const r = await s.attempt(serverDeparsedSql(f.def));
      if (r.ok) found.push(`CREATE OR REPLACE FUNCTION ${f.sig} succeeded`);
    }
    const member = await s.rows<{ member: boolean; exists: boolean }>(
      sql`SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${param(OWNER_ROLE)}) AS exists,
              coalesce((SELECT pg_catalog.pg_has_role(current_user, oid, 'MEMBER') FROM pg_catalog.pg_roles WHERE rolname = ${param(OWNER_ROLE)}), false) AS member`,
    );
    if (member[0]?.member) found.push(`${s.subject.role} is a member of ${OWNER_ROLE}`);
    if (s.faithful && member[0]?.exists) {
      tries++;
      const r = await s.attempt(sql`SET ROLE ${ident(OWNER_ROLE)}`);
      if (r.ok) found.push(`SET ROLE ${OWNER_ROLE} succeeded`);
    }
    // undone with the rest of the attack (the runner rolls back to its savepoint)
    await query(s.client, sql`SET LOCAL search_path = ${ident(policy.sourceSchema)}, pg_catalog`);
    for (const t of policy.tables) {
      tries++;
      const r = await s.attempt(sql`SELECT * FROM ${ident(t.name)} LIMIT 1`);
      if (r.ok) found.push(`with search_path = ${policy.sourceSchema}, SELECT * FROM ${t.name} read the source table`);
    }
    if (found.length > 0) return leaked(listSome(found), found);
    return held(`${tries} attempts refused (CREATE in ${policy.maskedSchema}/pgmask/pgmask_private, replacing ${s.facts.maskedViews.length} views and ${functions.length} functions, SET ROLE ${OWNER_ROLE}${s.faithful ? '' : ' (checked by membership only: not a faithful session)'}, unqualified source reads)`);
  },
};

export const escalationAttacks: readonly Attack[] = [escalation];
