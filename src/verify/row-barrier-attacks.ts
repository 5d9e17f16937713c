import { ident, literal, param, sql, type Sql } from '../sql/index.ts';
import { held, leaked, listSome, skipped, type Attack, type AttackSession } from './attack-session.ts';
import { query } from '../db/query.ts';

/**
 * Security model 5: row filters are barriers. A function the role writes must
 * never see a row the filter removed, nor may an error message or a count.
 */

const LEAK_TAG = 'pgmask-verify-leak:';
const PROBE_ROWS = 5000;

/** Where the role can create a function: pg_temp (needs TEMP on the database), else a schema it may CREATE in. */
async function createLeakFunction(s: AttackSession): Promise<{ fn: Sql; where: string } | string> {
  const body = `BEGIN RAISE NOTICE '${LEAK_TAG}%', seen; RETURN true; END`;
  const tries: { schema: string; label: string }[] = [{ schema: 'pg_temp', label: 'pg_temp' }];
  const writable = await s.rows<{ nspname: string }>(
    sql`SELECT nspname FROM pg_catalog.pg_namespace WHERE pg_catalog.has_schema_privilege(oid, 'CREATE') AND nspname !~ '^pg_(temp|toast)' ORDER BY 1`,
  );
  for (const w of writable) tries.push({ schema: w.nspname, label: `writable schema ${w.nspname}` });
  const errors: string[] = [];
  for (const t of tries) {
    const fn = ident(t.schema, 'pgmask_verify_leak');
    // COST tiny and no cast of its argument: the planner orders a relation's quals by cost, so
    // without a barrier this runs before any filter that calls a function or an operator
    const r = await s.attempt(sql`CREATE FUNCTION ${fn}(seen anyelement) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS ${literal(body)}`);
    if (r.ok) return { fn, where: t.label };
    errors.push(`${t.label}: ${r.error}`);
  }
  return errors.join('; ');
}

const leakyFunction: Attack = {
  id: 'leaky-function',
  title: 'put a cheap function that RAISEs its argument in a WHERE clause on every filtered view: it must see only rows the filter passes',
  async run(s) {
    const filtered = s.facts.policy.tables.filter((t) => t.filter !== null && s.facts.maskedViews.some((v) => v.name === t.name));
    if (filtered.length === 0) return held('no masked view has a row filter: there is no hidden row to leak');
    const created = await createLeakFunction(s);
    if (typeof created === 'string') return held(`the role cannot create a function anywhere (${created})`);
    await query(s.client, sql`SET LOCAL client_min_messages = notice`);
    const found: string[] = [];
    const checked: string[] = [];
    for (const t of filtered) {
      const counts = s.facts.rowCounts.get(t.name);
      const view = ident(s.facts.policy.maskedSchema, t.name);
      // one column at a time, cheapest (kept) first: a qual's cost includes its argument's, and
      // an argument that calls a transform would be ordered after the filter anyway
      const columns = [...t.columns].sort((a, b) => Number(b.rule.transform === 'keep') - Number(a.rule.transform === 'keep')).slice(0, 10);
      let seen = 0;
      let returned = -1;
      let failure: string | null = null;
      for (const c of columns) {
        const { value: r, notices } = await s.collectNotices(() =>
          // LIMIT bounds the notices on a big table; the probe still sees every row scanned before the limit
          s.attempt<{ n: number }>(sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${view} AS v WHERE ${created.fn}(v.${ident(c.name)}) LIMIT ${literal(PROBE_ROWS)}) AS probe`),
        );
        if (!r.ok) {
          failure = r.error;
          continue;
        }
        returned = r.rows[0]!.n;
        seen = Math.max(seen, notices.filter((n) => n.startsWith(LEAK_TAG)).length);
      }
      if (returned < 0) {
        checked.push(`${t.name}: query failed (${failure})`);
        continue;
      }
      if (seen > returned) {
        found.push(`${s.facts.policy.maskedSchema}.${t.name}: the function saw ${seen} rows, the view returns ${returned} (filter: ${t.filter})`);
      } else if (counts && counts.total === counts.passing) {
        checked.push(`${t.name}: every row passes the filter, nothing hidden to observe`);
      } else {
        checked.push(`${t.name}: saw at most ${seen} of ${counts?.total ?? '?'} rows through ${columns.length} column(s) (${returned}${returned === PROBE_ROWS ? ' (probe limit)' : ''} returned; ${counts?.passing ?? '?'} pass the filter)`);
      }
    }
    if (found.length > 0) return leaked(`filtered-out rows reached a function of the role (${created.where}): ${listSome(found)}`, found);
    return held(`function in ${created.where}: ${listSome(checked)}`);
  },
};

const securityBarrier: Attack = {
  id: 'security-barrier',
  title: 'check that every masked view is a security_barrier view',
  async run(s) {
    const all = s.facts.maskedViews.filter((v) => v.pgmask || s.facts.policy.tables.some((t) => t.name === v.name));
    if (all.length === 0) return skipped(`schema ${s.facts.policy.maskedSchema} has no pgmask view`);
    // a materialized view or a table holds masked rows only: a function in the role's WHERE clause sees nothing raw
    const stored = all.filter((v) => v.kind !== 'view');
    const views = all.filter((v) => v.kind === 'view');
    const missing = views.filter((v) => !v.securityBarrier).map((v) => `${s.facts.policy.maskedSchema}.${v.name}`);
    if (missing.length > 0) return leaked(`without security_barrier a leaky function in the role's WHERE clause runs before the filter: ${listSome(missing)}`, missing);
    const storedNote = stored.length > 0 ? `${stored.length} materialized relation(s) hold masked rows only (no raw row to leak past a filter)` : '';
    if (views.length === 0) return held(storedNote);
    return held(`all ${views.length} masked views have security_barrier${storedNote ? `; ${storedNote}` : ''}`);
  },
};

const rowFilter: Attack = {
  id: 'row-filter',
  title: "count rows through each masked view and compare with the rows that pass the policy's filter (counted as admin)",
  async run(s) {
    const found: string[] = [];
    const notes: string[] = [];
    for (const t of s.facts.policy.tables) {
      const counts = s.facts.rowCounts.get(t.name);
      if (!counts || !s.facts.maskedViews.some((v) => v.name === t.name)) continue;
      const r = await s.attempt<{ n: number }>(sql`SELECT count(*)::float8 AS n FROM ${ident(s.facts.policy.maskedSchema, t.name)}`);
      if (!r.ok) {
        notes.push(`${t.name}: ${r.error}`);
        continue;
      }
      const n = r.rows[0]!.n;
      if (n > counts.passing) found.push(`${s.facts.policy.maskedSchema}.${t.name} returns ${n} rows but only ${counts.passing} pass ${t.filter ?? 'no filter'}`);
      else if (n < counts.passing) notes.push(`${t.name} returns fewer rows (${n}) than pass the filter (${counts.passing}): out of date? run pgmask check`);
      else notes.push(`${t.name}: ${n}${t.filter ? ` of ${counts.total}` : ''}`);
    }
    if (found.length > 0) return leaked(`rows the filter removes are visible: ${listSome(found)}`, found);
    if (notes.length === 0) return skipped('no masked view of a policy table exists');
    return held(listSome(notes, 8));
  },
};

/**
 * The parts of a masked column a cast error can quote: the value, each element of an array,
 * each scalar of a JSON document (its text). `each` is a FROM item giving `e` (text) per part.
 */
function castTargets(col: Sql, type: string): { label: string; from: Sql; part: Sql }[] {
  const targets = [{ label: '', from: sql``, part: sql`${col}::text` }];
  if (type.endsWith('[]')) targets.push({ label: ' (an element)', from: sql`, pg_catalog.unnest(${col}) AS e`, part: sql`e::text` });
  if (type === 'json' || type === 'jsonb') {
    targets.push({
      label: ' (a JSON value)',
      from: sql`, pg_catalog.jsonb_path_query(${col}::jsonb, 'strict $.**') AS e`,
      part: sql`(CASE WHEN pg_catalog.jsonb_typeof(e) NOT IN ('object', 'array') THEN e #>> '{}' END)`,
    });
  }
  return targets;
}

const castErrors: Attack = {
  id: 'cast-errors',
  title: 'read every masked column, and provoke a cast error on it, on each array element and on each JSON value: an error may quote only a value the view shows',
  async run(s) {
    const found: string[] = [];
    let provoked = 0;
    for (const v of s.facts.maskedViews) {
      const view = ident(s.facts.policy.maskedSchema, v.name);
      const cols = await s.rows<{ name: string; type: string }>(
        sql`SELECT attname AS name, pg_catalog.format_type(atttypid, NULL) AS type FROM pg_catalog.pg_attribute
              WHERE attrelid = pg_catalog.format('%I.%I', ${param(s.facts.policy.maskedSchema)}::text, ${param(v.name)}::text)::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      );
      for (const c of cols) {
        const col = sql`v.${ident(c.name)}`;
        const where = `${s.facts.policy.maskedSchema}.${v.name}.${c.name}`;
        // reading the column must not fail quoting a value (a JSON date or an array element cast by the view itself)
        const read = await s.attempt(sql`SELECT ${col}::text FROM ${view} AS v LIMIT 1000`);
        if (!read.ok && /"[^"]+"/.test(read.error)) {
          found.push(`${where}: reading the column fails with an error quoting a value the view cannot show`);
          continue;
        }
        for (const t of castTargets(col, c.type)) {
          // 'x' || value never parses as an integer, so the first part evaluated reports its value
          const r = await s.attempt(sql`SELECT 1 FROM ${view} AS v${t.from} WHERE CAST('x' || ${t.part} AS integer) = 0 LIMIT 1`);
          if (r.ok) continue;
          const m = /"x([\s\S]*)"/.exec(r.error);
          if (!m) continue;
          provoked++;
          const shown = await s.attempt<{ ok: boolean }>(sql`SELECT EXISTS (SELECT 1 FROM ${view} AS v${t.from} WHERE ${t.part} = ${param(m[1])}) AS ok`);
          // the value itself stays out of the report: CI logs are not a place for raw data
          if (shown.ok && !shown.rows[0]!.ok) found.push(`${where}${t.label}: the error shows a ${[...m[1]!].length}-character value the view does not show`);
        }
      }
    }
    if (found.length > 0) return leaked(`error messages reveal hidden values: ${listSome(found, 3)}`, found);
    return held(`${provoked} cast error(s) provoked (on values, array elements and JSON values); each showed a value the view itself shows`);
  },
};

export const rowBarrierAttacks: readonly Attack[] = [leakyFunction, securityBarrier, rowFilter, castErrors];
