import { ident, sql, type Sql } from '../sql/index.ts';
import { findKey } from './verify-facts.ts';
import { held, leaked, listSome, skipped, type Attack } from './attack-session.ts';

/**
 * Security model 2: no secret is written where a masking role can read it. The
 * keys are read as admin (out of band) and searched for, in every encoding, in
 * everything the role itself can read.
 */

const keysRead: Attack = {
  id: 'keys-read',
  title: 'read pgmask_private.keys (and anything else in pgmask_private)',
  async run(s) {
    const found: string[] = [];
    const direct = await s.attempt(sql`SELECT key FROM pgmask_private.keys LIMIT 1`);
    if (direct.ok) found.push(`SELECT key FROM pgmask_private.keys succeeded (${direct.rows.length} row)`);
    const usage = await s.rows<{ usage: boolean; create: boolean }>(
      sql`SELECT pg_catalog.has_schema_privilege(oid, 'USAGE') AS usage, pg_catalog.has_schema_privilege(oid, 'CREATE') AS create
         FROM pg_catalog.pg_namespace WHERE nspname = 'pgmask_private'`,
    );
    if (usage[0]?.usage) found.push('USAGE on schema pgmask_private');
    const tables = await s.rows<{ name: string }>(
      sql`SELECT c.relname AS name FROM pg_catalog.pg_class c
        WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pgmask_private')
          AND c.relkind IN ('r', 'p', 'v', 'm') AND pg_catalog.has_any_column_privilege(c.oid, 'SELECT')`,
    );
    for (const t of tables) found.push(`SELECT on pgmask_private.${t.name}`);
    if (s.facts.keys.length === 0) return skipped('pgmask_private.keys does not exist or holds no key: nothing to protect yet (run pgmask migrate)');
    if (found.length > 0) return leaked(`the role reaches the keys: ${listSome(found)}`, found);
    return held(`permission denied for pgmask_private.keys (${s.facts.keys.length} key(s) stay secret)`, ['pgmask_private.keys']);
  },
};

/** [place, text] pairs the role can read; each source is its own attempt so a missing catalog (old server) is skipped. */
const HAYSTACKS: readonly Sql[] = [
  sql`SELECT 'view ' || schemaname || '.' || viewname AS place, definition AS text FROM pg_catalog.pg_views`,
  sql`SELECT 'materialized view ' || schemaname || '.' || matviewname, definition FROM pg_catalog.pg_matviews`,
  sql`SELECT 'function ' || p.oid::regprocedure::text, p.prosrc FROM pg_catalog.pg_proc p WHERE p.prosrc IS NOT NULL`,
  sql`SELECT 'function body ' || p.oid::regprocedure::text, pg_catalog.pg_get_function_sqlbody(p.oid) FROM pg_catalog.pg_proc p WHERE p.prosqlbody IS NOT NULL`,
  sql`SELECT 'function settings ' || p.oid::regprocedure::text, array_to_string(p.proconfig, ' ') FROM pg_catalog.pg_proc p WHERE p.proconfig IS NOT NULL`,
  sql`SELECT 'comment on ' || d.classoid::regclass::text || ' ' || d.objoid::text, d.description FROM pg_catalog.pg_description d`,
  sql`SELECT 'shared comment on ' || d.classoid::regclass::text || ' ' || d.objoid::text, d.description FROM pg_catalog.pg_shdescription d`,
  sql`SELECT 'setting ' || name, concat_ws(' ', setting, reset_val, boot_val) FROM pg_catalog.pg_settings`,
  sql`SELECT 'role/database setting (pg_db_role_setting)', array_to_string(setconfig, ' ') FROM pg_catalog.pg_db_role_setting`,
  sql`SELECT 'column default of ' || adrelid::regclass::text, pg_catalog.pg_get_expr(adbin, adrelid) FROM pg_catalog.pg_attrdef`,
  sql`SELECT 'constraint ' || conname, pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint`,
  sql`SELECT 'row security policy ' || schemaname || '.' || tablename || '.' || policyname, concat_ws(' ', qual, with_check) FROM pg_catalog.pg_policies`,
  sql`SELECT 'trigger ' || tgname, pg_catalog.pg_get_triggerdef(oid) FROM pg_catalog.pg_trigger WHERE NOT tgisinternal`,
  sql`SELECT 'statistics ' || schemaname || '.' || tablename || '.' || attname, concat_ws(' ', most_common_vals::text, histogram_bounds::text) FROM pg_catalog.pg_stats`,
  sql`SELECT 'query of backend ' || pid, query FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid()`,
];

const keyMaterial: Attack = {
  id: 'key-material',
  title: 'find key material (hex, base64) in view and function text, comments, settings, statistics and query texts',
  async run(s) {
    if (s.facts.keys.length === 0) return skipped('no key to look for (pgmask_private.keys is empty or missing)');
    const queries = [...HAYSTACKS];
    const pss = await s.rows<{ schema: string }>(sql`SELECT n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`);
    if (pss[0]) queries.push(sql`SELECT 'pg_stat_statements', query FROM ${ident(pss[0].schema, 'pg_stat_statements')}`);
    const found: string[] = [];
    let searched = 0;
    let sources = 0;
    for (const q of queries) {
      // column names differ per catalog: name them here
      const r = await s.attempt<{ place: string; text: string | null }>(sql`SELECT h.place, h.text FROM (${q}) AS h(place, text)`);
      if (!r.ok) continue;
      sources++;
      for (const row of r.rows) {
        searched++;
        const key = row.text ? findKey(s.facts.keys, row.text) : null;
        if (key) found.push(`key ${key} in ${row.place}`);
      }
    }
    if (found.length > 0) return leaked(`key material readable by the role: ${listSome(found)}`, found);
    return held(`no key found in ${searched} texts from ${sources} catalogs${pss[0] ? ' (pg_stat_statements included)' : ' (pg_stat_statements not installed)'}`);
  },
};

const explainVerbose: Attack = {
  id: 'explain-verbose',
  title: 'EXPLAIN (VERBOSE) every masked view and look for key material or source relations in the plan',
  async run(s) {
    const found: string[] = [];
    let explained = 0;
    for (const v of s.facts.maskedViews) {
      const r = await s.attempt<{ 'QUERY PLAN': string }>(sql`EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM ${ident(s.facts.policy.maskedSchema, v.name)}`);
      if (!r.ok) continue;
      explained++;
      const text = r.rows.map((row) => row['QUERY PLAN']).join('\n');
      const key = findKey(s.facts.keys, text);
      if (key) found.push(`key ${key} in the plan of ${s.facts.policy.maskedSchema}.${v.name}`);
    }
    if (found.length > 0) return leaked(listSome(found), found);
    return held(`${explained} plan(s) show the key only as the InitPlan subquery on pgmask_private.keys, never its value`);
  },
};

/**
 * PLV8 runs a view's transform in the querying role's own JavaScript context and
 * passes it the key: a role that may run its own PLV8 code (a DO block, a function
 * in a writable schema) can plant a fake runtime there that receives the key.
 */
const plv8Code: Attack = {
  id: 'plv8-own-code',
  title: 'run its own PLV8 code in the JavaScript context that receives the key',
  async run(s) {
    const lang = await s.rows<{ usage: boolean }>(sql`SELECT pg_catalog.has_language_privilege(oid, 'USAGE') AS usage FROM pg_catalog.pg_language WHERE lanname = 'plv8'`);
    if (lang.length === 0) return held('plv8 is not installed in this database');
    if (lang[0]!.usage) return leaked('the role has USAGE on LANGUAGE plv8: a DO block can replace the runtime on globalThis and receive the key of the next masked query', ['language plv8']);
    return held('no USAGE on LANGUAGE plv8');
  },
};

export const keySecrecyAttacks: readonly Attack[] = [keysRead, keyMaterial, explainVerbose, plv8Code];

