import { ident, literal, sql } from '../sql/index.ts';
import { held, leaked, listSome, skipped, type Attack } from './attack-session.ts';
import { readSample } from './search-path-attacks.ts';
import { query } from '../db/query.ts';

/**
 * Every role with TEMP on the database (PUBLIC has it by default) writes to its own
 * pg_temp, and PostgreSQL searches pg_temp FIRST for type (and relation) names unless the
 * search_path names it somewhere. A PL/pgSQL function pinned to `search_path = pg_catalog`
 * therefore declares `t float8` as the caller's `pg_temp.float8` domain, whose CHECK runs
 * the caller's function on every value derived from the key. (Functions and operators are
 * never looked up in pg_temp unqualified, even when the path names it: PostgreSQL skips
 * the temporary schema for them.) Views and SQL-standard bodies bind names when created,
 * and pgmask's PL/pgSQL helpers name pg_temp last (`SET search_path = pg_catalog, pg_temp`).
 *
 * Runs in a fresh backend: PL/pgSQL compiles a function once per session, so a function
 * called before the domains existed would keep the built-in types and hide the leak.
 */

const TYPE_TAG = 'pgmask-verify-pg-temp-type:';

const pgTemp: Attack = {
  id: 'pg-temp',
  title: 'shadow every built-in type with a pg_temp domain whose CHECK reports each value, and read the views in a fresh session',
  async run(s) {
    if (s.facts.maskedViews.length === 0) return skipped(`schema ${s.facts.policy.maskedSchema} has no masked relation to read`);
    const baseline = await readSample(s);
    return s.inOtherSession(async (o) => {
      const probe = await o.attempt(
        sql`CREATE FUNCTION pg_temp.pgmask_verify_type_seen(probed anyelement) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS ${literal(
          `BEGIN RAISE NOTICE '${TYPE_TAG}%', pg_catalog.pg_typeof(probed); RETURN true; END`,
        )}`,
      );
      if (!probe.ok) return held(`the role cannot create objects in pg_temp (${probe.error}): nothing of its own can shadow a name`);
      const types = await o.rows<{ name: string }>(
        sql`SELECT t.typname AS name FROM pg_catalog.pg_type t
          WHERE t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace AND t.typtype IN ('b', 'r', 'e') AND t.typcategory <> 'A'
            AND t.typname OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$' ORDER BY 1`,
      );
      let domains = 0;
      for (const t of types) {
        const r = await o.attempt(
          sql`CREATE DOMAIN ${ident('pg_temp', t.name)} AS ${ident('pg_catalog', t.name)} CHECK (pg_temp.pgmask_verify_type_seen(VALUE))`,
        );
        if (r.ok) domains++;
      }
      await query(o.client, sql`SELECT pg_catalog.set_config('client_min_messages', 'notice', true)`);
      const found: string[] = [];
      for (const v of s.facts.maskedViews) {
        const name = `${s.facts.policy.maskedSchema}.${v.name}`;
        const { value: rows, notices } = await o.collectNotices(() =>
          o.attempt(sql`SELECT * FROM ${ident(s.facts.policy.maskedSchema, v.name)} LIMIT 50`),
        );
        const typeHits = new Map<string, number>();
        for (const n of notices) {
          if (!n.startsWith(TYPE_TAG)) continue;
          // regtype output qualifies the built-in name the domain shadows
          const type = n.slice(TYPE_TAG.length).replace(/^pg_catalog\./, '');
          typeHits.set(type, (typeHits.get(type) ?? 0) + 1);
        }
        for (const [type, count] of typeHits) found.push(`reading ${name}, a pg_temp domain over ${type} received ${count} value(s)`);
        if (!rows.ok && typeHits.size === 0 && baseline.get(v.name) !== 'error') found.push(`reading ${name} failed with the pg_temp domains in place (${rows.error})`);
      }
      const after = await readSample(o);
      for (const [view, rows] of baseline) {
        if (JSON.stringify(rows) !== JSON.stringify(after.get(view))) found.push(`${s.facts.policy.maskedSchema}.${view} reads differently with the pg_temp domains in place`);
      }
      if (found.length > 0) return leaked(`the role's own code ran inside the masking (it receives key-derived values): ${listSome(found)}`, found);
      return held(
        `${domains} pg_temp domain(s) over built-in types: none received a value, ${s.facts.maskedViews.length} view(s) read the same`,
      );
    });
  },
};

export const pgTempAttacks: readonly Attack[] = [pgTemp];
