import { findTable } from '../catalog/catalog-snapshot.ts';
import { ident, join, literal, param, sql } from '../sql/index.ts';
import { held, leaked, listSome, skipped, type Attack, type AttackSession } from './attack-session.ts';
import { query } from '../db/query.ts';

/**
 * Security model 4: no averaging. A perturbed value must be the same in every
 * read, or reading it a hundred times and averaging undoes the noise.
 */

const SAMPLE_ROWS = 200;

/**
 * The first rows of every masked relation as whole-row text, by row key, or the error.
 * A row's key is its masked primary key when the policy keeps or pseudonymizes every
 * key column (the same raw row gives the same key in every read), else the whole row.
 * Reads are compared key by key, so rows returned in another order (parallel workers,
 * a distributed table) compare equal; a value that changes shows under the same key.
 */
async function readViews(s: AttackSession): Promise<Map<string, Map<string, string> | string>> {
  await query(s.client, sql`SET LOCAL synchronize_seqscans = off`);
  const out = new Map<string, Map<string, string> | string>();
  for (const v of s.facts.maskedViews) {
    const key = rowKey(s, v.name);
    const r = await s.attempt<{ k: string; row: string }>(
      sql`SELECT ${key === null ? sql`v::text` : sql`pg_catalog.jsonb_build_array(${join(key.map((c) => sql`v.${ident(c)}`))})::text`} AS k, v::text AS row
            FROM ${ident(s.facts.policy.maskedSchema, v.name)} AS v LIMIT ${literal(SAMPLE_ROWS)}`,
    );
    out.set(v.name, r.ok ? new Map(r.rows.map((x) => [x.k, x.row])) : r.error);
  }
  return out;
}

/** The masked key columns of a policy table whose every key column is kept or pseudonymized, else null. */
function rowKey(s: AttackSession, table: string): readonly string[] | null {
  const ptable = s.facts.policy.tables.find((t) => t.name === table);
  const pk = ptable ? findTable(s.facts.snapshot, ptable.sourceSchema, ptable.name)?.primaryKey : null;
  if (!ptable || !pk || pk.length === 0) return null;
  const stable = pk.every((c) => ['keep', 'pseudonymize'].includes(ptable.columns.find((pc) => pc.name === c)?.rule.transform ?? ''));
  return stable ? pk : null;
}

function differences(view: string, a: Map<string, string> | string, b: Map<string, string> | string, label: string): string[] {
  if (typeof a === 'string' || typeof b === 'string') return [];
  for (const [key, row] of a) {
    const other = b.get(key);
    if (other !== undefined && other !== row) return [`${view}: the row with key ${key} read as ${row} then ${other} (${label})`];
  }
  // a changed key (or a row keyed by its whole text) shows as a row of one read missing from the other: when
  // both reads hold every row any missing row counts; a bounded read of a bigger table may return other rows
  // (parallel workers, shards), so there only reads with no row in common count
  const missing = [...a.keys()].filter((k) => !b.has(k)).length;
  const whole = a.size < SAMPLE_ROWS && b.size < SAMPLE_ROWS;
  if ((whole && missing > 0) || (a.size > 0 && missing === a.size)) return [`${view}: ${missing} of ${a.size} row(s) of one read are missing from the other (${label})`];
  return [];
}

const averaging: Attack = {
  id: 'averaging',
  title: 'read every masked view repeatedly, in this session and in another one: no value may change',
  async run(s) {
    if (s.facts.maskedViews.length === 0) return skipped(`schema ${s.facts.policy.maskedSchema} has no masked relation`);
    const first = await readViews(s);
    const second = await readViews(s);
    const third = await readViews(s);
    const other = await s.inOtherSession((o) => readViews(o));
    const found: string[] = [];
    let readable = 0;
    for (const [view, rows] of first) {
      if (typeof rows !== 'string') readable++;
      const name = `${s.facts.policy.maskedSchema}.${view}`;
      found.push(...differences(name, rows, second.get(view)!, 'same session'));
      found.push(...differences(name, rows, third.get(view)!, 'same session'));
      found.push(...differences(name, rows, other.get(view)!, 'another session'));
    }
    if (found.length > 0) return leaked(`values change between reads, so averaging reads removes the perturbation: ${listSome(found, 3)}`, found);
    if (readable === 0) return skipped(`the role can read none of the ${first.size} masked views`);
    return held(`${readable} masked relation(s), up to ${SAMPLE_ROWS} rows each, read 3 times in one session and once in another: identical row by row key`);
  },
};

/** Functions the masked views call, following SQL-standard function bodies (recorded in pg_depend). */
const calledFunctions = (maskedSchema: string) => sql`WITH RECURSIVE called(oid) AS (
  SELECT d.refobjid FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
   WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass
     AND r.ev_class IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind IN ('v', 'm')
                          AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${param(maskedSchema)}))
  UNION
  SELECT d.refobjid FROM pg_catalog.pg_depend d JOIN called ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = called.oid
   WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass
)`;

const RANDOMNESS = /\b(random|gen_random_bytes|gen_random_uuid|setseed|clock_timestamp|getRandomValues)\s*\(/i;

const volatileFunctions: Attack = {
  id: 'volatile-functions',
  title: 'find VOLATILE functions, or functions using random(), among those the masked views call and in schema pgmask',
  async run(s) {
    const rows = await s.rows<{ sig: string; volatile: string; called: boolean; body: string }>(
      sql`${calledFunctions(s.facts.policy.maskedSchema)}
       SELECT p.oid::regprocedure::text AS sig, p.provolatile AS volatile, p.oid IN (SELECT oid FROM called) AS called,
              concat_ws(' ', p.prosrc, CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END) AS body
         FROM pg_catalog.pg_proc p
        WHERE p.oid IN (SELECT oid FROM called) OR p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pgmask')
        ORDER BY 1`,
    );
    const found: string[] = [];
    for (const f of rows) {
      if (f.called && f.volatile === 'v') found.push(`${f.sig} is VOLATILE and a masked view calls it`);
      const m = RANDOMNESS.exec(f.body);
      if (m) found.push(`${f.sig} calls ${m[1]}()`);
    }
    if (found.length > 0) return leaked(`a masked value may differ between reads: ${listSome(found)}`, found);
    const called = rows.filter((r) => r.called).length;
    return held(`${called} function(s) called by the views are IMMUTABLE or STABLE; no pgmask function uses randomness`);
  },
};

export const determinismAttacks: readonly Attack[] = [averaging, volatileFunctions];
