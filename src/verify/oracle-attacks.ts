import { renderWithKey } from '../plan/render.ts';
import { ident, join, literal, param, sql, typeName, type Sql } from '../sql/index.ts';
import type { OracleSample } from './verify-facts.ts';
import type { Policy } from '../policy/policy.ts';
import { held, leaked, listSome, skipped, type Attack, type AttackSession } from './attack-session.ts';

/**
 * Security model 3: no oracle. The role may call every transform directly (views
 * check EXECUTE against the caller), which is harmless only if no transform can
 * compute a pseudonym without the key argument. The attacker knows some raw
 * values (taken here as admin, out of band) and tries every key it could get.
 */

/** Keys an attacker could try, as bytea SQL expressions over the row (`src`); `column` is the column's own value. */
function candidateKeys(keyNames: readonly string[], policyHash: string): { label: string; expr: (column: Sql) => Sql }[] {
  const text = (t: string) => sql`pg_catalog.convert_to(${literal(t)}, 'UTF8')`;
  return [
    { label: 'NULL', expr: () => sql`NULL::bytea` },
    { label: 'empty', expr: () => sql`'\\x'::bytea` },
    { label: '32 zero bytes', expr: () => sql`pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex')` },
    ...keyNames.flatMap((name) => [
      { label: `the key name '${name}'`, expr: () => text(name) },
      { label: `sha256 of the key name '${name}'`, expr: () => sql`pg_catalog.sha256(${text(name)})` },
    ]),
    { label: `'pgmask'`, expr: () => text('pgmask') },
    { label: 'the policy hash', expr: () => text(policyHash) },
    { label: 'the value itself', expr: (column) => sql`pg_catalog.convert_to(${column}::text, 'UTF8')` },
  ];
}

/** Runs the column expressions over the raw rows given as bind parameters (nothing raw is written into the query text). */
async function evaluate(s: AttackSession, sample: OracleSample, exprs: readonly Sql[]): Promise<(string | null)[][] | string> {
  const rows = sample.rows.map((row) => sql`(${join(sample.table.columns.map((c, i) => sql`CAST(${param(row.raw[i])}::text AS ${typeName(c.sqlType)})`))})`);
  const alias = join(sample.table.columns.map((c) => ident(c.name)));
  const query = sql`SELECT ARRAY[${join(exprs.map((e) => sql`(${e})::text`))}]::text[] AS out FROM (VALUES ${join(rows)}) AS src(${alias})`;
  const r = await s.attempt<{ out: (string | null)[] }>(query);
  return r.ok ? r.rows.map((x) => x.out) : r.error;
}

/** A reproduction is a leak only when a wrong key would match it with at most this chance. */
export const CHANCE_LIMIT = 1e-6;

/**
 * How likely a wrong key reproduces these pairs by chance: each distinct input lands on
 * one of the transform's outputs, of which at least `outputs` (the distinct outputs seen)
 * exist, so one key matches all of them with chance ≤ outputs^-inputs, and `keys` keys
 * with chance ≤ keys · outputs^-inputs. One known input mapped onto one of 130 cities is
 * matched by a wrong key about once in 130 tries; 24 made-up inputs are not.
 */
export function evidenceWeight(inputs: readonly string[], outputs: readonly string[], keys: number): { inputs: number; outputs: number; chance: number } {
  const distinctInputs = new Set(inputs).size;
  const distinctOutputs = new Set(outputs).size;
  const chance = distinctOutputs <= 1 ? 1 : Math.min(1, keys * Math.pow(distinctOutputs, -distinctInputs));
  return { inputs: distinctInputs, outputs: distinctOutputs, chance };
}

/**
 * The evidence of one column's reproduction. `shift_date` moves every date of a subject by one keyed
 * offset: its inputs are the distinct subjects (made-up dates of one subject add nothing), its outputs
 * the offsets the rule allows (2 × max_days, or 2 × whole weeks with keep_weekday). Other transforms
 * key each value: see evidenceWeight.
 */
function columnEvidence(
  policy: Policy,
  sample: OracleSample,
  column: number,
  rows: readonly { readonly raw: readonly (string | null)[] }[],
  informative: readonly number[],
  expected: readonly (string | null)[],
  keys: number,
): { inputs: number; outputs: number; chance: number } {
  const ptable = policy.tables.find((t) => t.name === sample.view.sourceTable);
  const rule = ptable?.columns.find((c) => c.name === sample.table.columns[column]!.name)?.rule;
  if (rule?.transform === 'shift_date') {
    const subject = ptable!.subject ?? policy.subject;
    const at = sample.table.columns.findIndex((c) => c.name === subject);
    const subjects = new Set(informative.map((k) => (at < 0 ? '' : (rows[k]!.raw[at] ?? ''))));
    const maxDays = Number(rule.params['max_days'] ?? 30);
    const offsets = rule.params['keep_weekday'] === true ? 2 * Math.max(1, Math.floor(maxDays / 7)) : 2 * maxDays;
    return { inputs: subjects.size, outputs: offsets, chance: Math.min(1, keys * Math.pow(offsets, -subjects.size)) };
  }
  return evidenceWeight(informative.map((k) => rows[k]!.raw[column]!), informative.map((k) => expected[k]!), keys);
}

const oracle: Attack = {
  id: 'oracle',
  title: 'call each keyed transform directly on known raw values with every key the role can obtain, and try to reproduce the view',
  async run(s) {
    const { facts } = s;
    if (facts.plannedViews === null) return skipped(`the policy does not plan on this catalog, so the view expressions are unknown: ${facts.planError}`);
    if (facts.oracleSamples.length === 0 && facts.oracleProblems.length > 0) return skipped(listSome(facts.oracleProblems));
    if (facts.oracleSamples.length === 0) return held('no masked column uses a keyed transform (or no source row passes a filter): nothing to reproduce');
    const found: string[] = [];
    const tried: string[] = [];
    let columns = 0;
    for (const sample of facts.oracleSamples) {
      if (sample.rows.length === 0) continue;
      const keyNames = facts.policy.keys;
      for (const [j, i] of sample.keyedColumns.entries()) {
        const col = sample.view.columns[i]!;
        const where = `${sample.view.schema}.${sample.view.name}.${col.name}`;
        const sampled = sample.rows.length;
        const rows = [...sample.rows, ...(sample.probes[j] ?? [])];
        const expected = rows.map((r) => r.expected[j] ?? null);
        const raw = rows.map((r) => r.raw[i] ?? null);
        const informative = expected.flatMap((e, k) => (e !== null && e !== raw[k] ? [k] : []));
        if (informative.length === 0) continue;
        columns++;
        // what the live view shows must be what the plan says, or the comparison means little
        const shown = await s.attempt<{ n: number }>(
          // the samples are the first rows the admin's scan passed, so the view's first rows hold them; a bound keeps big tables cheap
          sql`SELECT count(*)::int AS n FROM (SELECT v.${ident(col.name)} AS c FROM ${ident(sample.view.schema, sample.view.name)} AS v LIMIT 1000) AS v WHERE v.c::text = ANY(${param(informative.filter((k) => k < sampled).map((k) => expected[k]))}::text[])`,
        );
        if (shown.ok && shown.rows[0]!.n === 0) {
          tried.push(`${where}: the live view shows none of the values the policy computes (out of date? run pgmask check)`);
        }
        const candidates = candidateKeys(keyNames, facts.policy.hash);
        const columnRef = sql`src.${ident(col.name)}`;
        // the planner's expression tree with its key node replaced: no rewriting of rendered SQL
        const withProbes = { ...sample, rows };
        const guessed = await evaluate(s, withProbes, candidates.map((c) => renderWithKey(col.masked, c.expr(columnRef))));
        if (typeof guessed === 'string') {
          tried.push(`${where}: the role cannot call the transform (${guessed})`);
          continue;
        }
        // the key subquery itself, run as the role, on its own: it must be refused
        const real = await evaluate(s, withProbes, [col.expression]);
        const results = guessed.map((row, k) => [...row, typeof real === 'string' ? null : (real[k]?.[0] ?? null)]);
        const labels = [...candidates.map((c) => c.label), 'the key subquery on pgmask_private.keys'];
        const weight = columnEvidence(facts.policy, sample, i, rows, informative, expected, labels.length);
        for (const [c, label] of labels.entries()) {
          const reproduced = informative.every((k) => results[k]![c] === expected[k]);
          if (!reproduced) continue;
          if (weight.chance <= CHANCE_LIMIT) found.push(`${where} reproduced for ${weight.inputs} distinct input(s) with key = ${label}`);
          else tried.push(`${where}: key = ${label} matched ${weight.inputs} distinct input(s) with ${weight.outputs} distinct output(s), which a wrong key does by chance (≤ ${weight.chance.toPrecision(2)}): not evidence`);
        }
      }
    }
    if (found.length > 0) return leaked(`the role recomputes pseudonyms itself: ${listSome(found)}`, found);
    if (columns === 0) return held('no sampled row has a keyed value that differs from its raw value: nothing to reproduce');
    return held(
      `${columns} keyed column(s): no candidate key (NULL, empty, zeros, key name and its sha256, 'pgmask', the policy hash, the value itself, the key subquery as the role) reproduced the view's values from the raw ones${tried.length ? `; notes: ${listSome(tried, 3)}` : ''}`,
    );
  },
};

/** A sample argument per type (SQL, and its text output), for calling a transform without real data. */
const SAMPLE_ARGUMENTS: Readonly<Record<string, readonly [argument: Sql, output: string]>> = {
  text: [sql`'pgmask-verify'::text`, 'pgmask-verify'],
  'character varying': [sql`'pgmask-verify'::varchar`, 'pgmask-verify'],
  smallint: [sql`42::int2`, '42'],
  integer: [sql`42::int4`, '42'],
  bigint: [sql`42::int8`, '42'],
  numeric: [sql`42.5::numeric`, '42.5'],
  'double precision': [sql`42.5::float8`, '42.5'],
  real: [sql`42.5::float4`, '42.5'],
  date: [sql`'2000-01-02'::date`, '2000-01-02'],
  'timestamp without time zone': [sql`'2000-01-02 03:04:05'::timestamp`, '2000-01-02 03:04:05'],
  'timestamp with time zone': [sql`'2000-01-02 03:04:05+00'::timestamptz`, '2000-01-02 03:04:05+00'],
  jsonb: [sql`'{}'::jsonb`, '{}'],
  json: [sql`'{}'::json`, '{}'],
  uuid: [sql`'6f1c8a52-4a37-4e5e-9a5c-8d2f1f7b6a10'::uuid`, '6f1c8a52-4a37-4e5e-9a5c-8d2f1f7b6a10'],
  boolean: [sql`true`, 'true'],
};

const selfKeyed: Attack = {
  id: 'transform-self-keyed',
  title: 'find pgmask functions that get a key by themselves: bodies reading pgmask_private, SECURITY DEFINER, output that ignores the key argument',
  async run(s) {
    const functions = await s.rows<{ sig: string; name: string; body: string; definer: boolean; args: string[]; names: string[] | null }>(
      // functions the role cannot execute (pgmask.reveal: brokers only, attacked by `reveal`) cannot serve it as an oracle
      sql`SELECT p.oid::regprocedure::text AS sig, p.proname AS name, p.prosecdef AS definer,
              concat_ws(' ', p.prosrc, CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END) AS body,
              ARRAY(SELECT pg_catalog.format_type(t, NULL) FROM unnest(p.proargtypes) AS t) AS args, p.proargnames AS names
         FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pgmask')
          AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
        ORDER BY 1`,
    );
    if (functions.length === 0) return skipped('schema pgmask has no function: run pgmask migrate');
    const found: string[] = [];
    let called = 0;
    for (const f of functions) {
      if (/pgmask_private/i.test(f.body)) found.push(`${f.sig} mentions pgmask_private in its body`);
      if (f.definer) found.push(`${f.sig} is SECURITY DEFINER (runs with its owner's rights, which may read the keys)`);
      const keyArg = f.args.findIndex((t, i) => t === 'bytea' && /key/i.test(f.names?.[i] ?? ''));
      if (keyArg < 0) continue;
      const samples = f.args.map((t, i) => (i === keyArg ? null : SAMPLE_ARGUMENTS[t]));
      if (samples.some((a) => a === undefined)) continue;
      const call = (key: Sql) => sql`${ident('pgmask', f.name)}(${join(samples.map((a) => (a ? a[0] : key)))})::text`;
      const r = await s.attempt<{ a: string | null; b: string | null; c: string | null }>(
        sql`SELECT ${call(sql`NULL::bytea`)} AS a, ${call(sql`pg_catalog.decode(pg_catalog.repeat('11', 32), 'hex')`)} AS b, ${call(sql`pg_catalog.decode(pg_catalog.repeat('22', 32), 'hex')`)} AS c`,
      );
      if (!r.ok) continue;
      called++;
      const { a, b, c } = r.rows[0]!;
      const inputs = samples.flatMap((x) => (x ? [x[1]] : []));
      if (a !== null && a === b && b === c && !inputs.includes(a)) {
        found.push(`${f.sig} returns ${JSON.stringify(a)} with a NULL key and the same with two other keys: it ignores its key argument`);
      }
    }
    if (found.length > 0) return leaked(listSome(found), found);
    return held(`${functions.length} pgmask function(s): none reads pgmask_private or is SECURITY DEFINER; ${called} keyed function(s) called with NULL and two wrong keys gave NULL or key-dependent output`);
  },
};

export const oracleAttacks: readonly Attack[] = [oracle, selfKeyed];
