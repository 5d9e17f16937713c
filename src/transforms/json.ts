import { z } from 'zod';
import { jsonbLiteral, literal, sql, type Sql } from '../sql/index.ts';
import { cast, columnReference, constant, expr } from '../plan/expression.ts';
import type { Expr } from '../plan/nodes.ts';
import type { CatalogColumn } from '../catalog/catalog-snapshot.ts';
import { valueColumn } from './element-column.ts';
import { FHIR_R4 } from './fhir-r4.ts';
import { JsonPathError, parseJsonPath, pathsOverlap, type PathSegment } from './json-path.ts';
import { defineTransform, type NestedParser, type NestedRule, type TransformDefinition, type TransformProblem } from './transform.ts';

/** One listed path with its parsed rule. */
export interface JsonPathRule {
  readonly text: string;
  readonly segments: readonly PathSegment[];
  readonly rule: NestedRule;
  /** the JSON value types the rule's transform takes (from the registry, when the policy is parsed) */
  readonly kinds: LeafKinds;
}

/** The paths that apply to a document: all of them, or those of one resourceType (a preset). */
export interface JsonRuleSet {
  readonly resourceType: string | null;
  readonly paths: readonly JsonPathRule[];
}

/** The parameters after parseNested. */
export interface ParsedJsonParams {
  readonly sets: readonly JsonRuleSet[];
  readonly unlisted: 'remove' | 'keep';
  readonly preset?: string;
}

const PRESETS: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>> = { fhir_r4: FHIR_R4 };

/** The JSON value types a path rule's transform can take: which branches its masked leaf has. */
export interface LeafKinds {
  /** the transform takes any JSON value (keep, redact, a transform on json) */
  readonly whole: boolean;
  readonly text: boolean;
  readonly number: 'numeric' | 'float' | 'integer' | null;
  readonly date: boolean;
  readonly timestamptz: boolean;
}

export function leafKinds(t: TransformDefinition<any>): LeafKinds {
  const has = (f: string) => t.types.includes(f as never);
  return {
    whole: has('json'),
    text: has('text'),
    number: has('numeric') ? 'numeric' : has('float') ? 'float' : has('integer') ? 'integer' : null,
    date: !has('text') && has('date'),
    timestamptz: !has('text') && has('timestamptz'),
  };
}

function usable(k: LeafKinds): boolean {
  return k.whole || k.text || k.number !== null || k.date || k.timestamptz;
}

/** Synthetic columns for the leaf value types, named after the JSON column and the path (noise is keyed by column name). */
function leafColumns(column: CatalogColumn, path: string) {
  const name = `${column.name}${path}`;
  return {
    text: valueColumn(name, 'text', 'text'),
    numeric: valueColumn(name, 'numeric', 'numeric'),
    float: valueColumn(name, 'double precision', 'float8'),
    integer: valueColumn(name, 'bigint', 'int8'),
    date: valueColumn(name, 'date', 'date'),
    timestamptz: valueColumn(name, 'timestamp with time zone', 'timestamptz'),
    json: valueColumn(name, 'jsonb', 'jsonb'),
  };
}

function parsePaths(written: Readonly<Record<string, unknown>>, at: readonly (string | number)[], parser: NestedParser, fromPreset: boolean): JsonPathRule[] | null {
  const out: JsonPathRule[] = [];
  let ok = true;
  for (const [text, raw] of Object.entries(written)) {
    const where = fromPreset ? at : [...at, text];
    let segments: PathSegment[];
    try {
      segments = parseJsonPath(text);
    } catch (e) {
      if (!(e instanceof JsonPathError)) throw e;
      parser.problem({ code: 'POLICY_JSON_PATH', message: `malformed JSON path ${JSON.stringify(text)}: ${e.message}`, hint: 'write $ then .key, ."key with spaces", [n] or [*], e.g. $.name[*].family', at: where, part: 'key' });
      ok = false;
      continue;
    }
    const clash = out.find((p) => pathsOverlap(p.segments, segments));
    if (clash) {
      parser.problem({ code: 'POLICY_JSON_PATH_OVERLAP', message: `JSON paths ${clash.text} and ${text} reach the same values, so two rules would apply to them`, hint: 'keep one of them, or list the paths inside the shorter one separately', at: where, part: 'key' });
      ok = false;
      continue;
    }
    const rule = parser.rule(raw, where);
    if (rule === null) {
      ok = false;
      continue;
    }
    const t = parser.transform(rule.transform);
    if (!t || t.name === 'json' || !usable(leafKinds(t))) {
      parser.problem({
        code: 'POLICY_JSON_TRANSFORM_TYPE',
        message: `\`${rule.transform}\` cannot mask a JSON value (${text}): it takes ${t?.types.join(', ') ?? 'no'} values, and a JSON value is a string, number, boolean, null, object or array`,
        hint: 'use a transform for text, numbers or dates (a JSON string holding a date counts as a date), keep, or redact',
        at: where,
        part: 'value',
      });
      ok = false;
      continue;
    }
    out.push({ text, segments, rule, kinds: leafKinds(t) });
  }
  return ok ? out : null;
}

/**
 * Masks JSON documents path by path: each listed path's values get the path's rule (any
 * transform that takes the value's JSON type: strings as text, or as dates when they hold one;
 * numbers as numbers); everything not listed is removed unless `unlisted: keep`. A value of
 * the wrong type, or a document that is not the shape a path expects, never passes: it is
 * removed (JSON null with `unlisted: keep`). `preset: fhir_r4` applies the FHIR R4 rule sets
 * (src/transforms/fhir-r4.ts) by resourceType.
 *
 * The view extracts each path's values with pgmask._json_leaves, masks them with the path
 * rule's own SQL (the same expression a column of that type would get, under either runtime),
 * and pgmask._json_assemble writes them back into a document that holds only the listed paths
 * (sql/structure.sql: SQL both runtimes share, so a kept number keeps its exact digits).
 */
export const json = defineTransform({
  name: 'json',
  description: 'Mask JSON documents path by path ($.name[*].family: redact …); paths not listed are removed; preset fhir_r4 for FHIR R4 resources.',
  params: z
    .object({
      paths: z.record(z.string(), z.unknown()).optional().describe('JSON path → rule, e.g. "$.identifier[*].value": pseudonymize'),
      preset: z.enum(['fhir_r4']).optional().describe('a ready rule set instead of paths: fhir_r4 (Patient, Encounter, Observation by resourceType)'),
      unlisted: z.enum(['remove', 'keep']).optional().describe('what happens to paths not listed: remove (default) or keep'),
    })
    .strict()
    .refine((p) => (p.paths === undefined) !== (p.preset === undefined), { message: 'give exactly one of paths or preset' })
    .refine((p) => p.preset === undefined || p.unlisted !== 'keep', { message: 'a preset removes what it does not list: unlisted: keep goes with paths only', path: ['unlisted'] }),
  types: ['json'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  parseNested(params, parser) {
    const unlisted = params.unlisted ?? 'remove';
    if (params.paths !== undefined) {
      if (Object.keys(params.paths).length === 0) {
        parser.problem({ code: 'POLICY_INVALID_PARAMS', message: '`json` needs at least one path', hint: 'list paths such as "$.identifier[*].value": pseudonymize', at: ['paths'], part: 'value' });
        return null;
      }
      const paths = parsePaths(params.paths, ['paths'], parser, false);
      return paths === null ? null : ({ sets: [{ resourceType: null, paths }], unlisted } satisfies ParsedJsonParams);
    }
    const preset = PRESETS[params.preset!]!;
    const sets: JsonRuleSet[] = [];
    for (const [resourceType, rules] of Object.entries(preset)) {
      const paths = parsePaths(rules, ['preset'], parser, true);
      if (paths === null) return null;
      sets.push({ resourceType, paths });
    }
    return { sets, unlisted: 'remove', preset: params.preset } satisfies ParsedJsonParams;
  },
  nestedRules: (params) => (Array.isArray((params as unknown as ParsedJsonParams).sets) ? (params as unknown as ParsedJsonParams).sets.flatMap((s) => s.paths.map((p) => p.rule)) : []),
  check({ params, column, checkNested }) {
    const parsed = params as unknown as ParsedJsonParams;
    const problems: TransformProblem[] = [];
    // parameters not parsed by parseNested (a scan's draft checking a candidate) have no rules to check yet
    if (!checkNested || !Array.isArray(parsed.sets)) return problems;
    for (const set of parsed.sets) {
      for (const p of set.paths) {
        const cols = leafColumns(column, p.text);
        // the value types this rule may meet: a problem counts when the rule fits none of them
        // (age with year_only takes birth dates, not numbers: fine as long as dates are fine)
        const k: LeafKinds = p.kinds;
        const candidates = [k.whole ? cols.json : null, k.text ? cols.text : null, k.number ? cols[k.number] : null, k.date ? cols.date : null, k.timestamptz ? cols.timestamptz : null].filter((c) => c !== null);
        const results = candidates.map((c) => checkNested(p.rule, c));
        if (results.length > 0 && results.every((r) => r.length > 0)) {
          for (const problem of results[0]!) problems.push({ ...problem, message: `${p.text}${set.resourceType ? ` (${set.resourceType})` : ''}: ${problem.message}` });
        }
      }
    }
    return problems;
  },
  render({ value, column, params, nested }) {
    if (!nested) throw new Error('json: rendered without nested rules (use renderRule)');
    const parsed = params as unknown as ParsedJsonParams;
    const doc = column.typeName === 'json' ? expr`${value}::jsonb` : value;
    const keep = constant(literal(parsed.unlisted === 'keep'));
    const maskSet = (set: JsonRuleSet): Expr => {
      const masked = chunks(set.paths.map((p) => pathValues(doc, p, column, nested)), 50).map((c) => expr`jsonb_build_array(${c})`);
      const all = masked.slice(1).reduce((acc, m) => expr`${acc} || ${m}`, masked[0]!);
      return expr`pgmask._json_assemble(${doc}, ${constant(jsonbLiteral(set.paths.map((p) => p.segments)))}, ${all}, ${keep})`;
    };
    if (parsed.sets.length === 1 && parsed.sets[0]!.resourceType === null) return expr`CASE WHEN ${value} IS NULL THEN NULL ELSE ${maskSet(parsed.sets[0]!)} END`;
    const branches = parsed.sets.map((s) => expr` WHEN ${constant(literal(s.resourceType!))} THEN ${maskSet(s)}`);
    // a resource of another type (or no resourceType) has no rule set: NULL
    return expr`CASE ${doc} ->> 'resourceType'${concat(branches)} ELSE NULL END`;
  },
  sqlFile: null,
  notes: [
    'A path is $ then .key, ."key with spaces", [\'key\'], [n] or [*] (every element of an array). Paths may not overlap (one leading into another).',
    'Each value a path reaches gets the path\'s rule by its JSON type: a string is text (or, for date transforms, a date YYYY-MM-DD or an ISO timestamp with offset, written back in UTC with Z); a number is numeric; null stays null; keep and redact take any value, objects and arrays included. A value of another type, and a document that is not the shape a path expects (a string where the path wants an object), is removed — never passed through.',
    'unlisted: remove (default) builds a document holding only the listed paths (arrays keep their positions, padded with null); unlisted: keep keeps the rest of the document as it is and replaces listed values (values that do not fit become null). preset: fhir_r4 chooses a rule set by resourceType (Patient, Encounter, Observation; any other resource masks to NULL): see docs/signals-and-json.md.',
  ],
  example: {
    rule: 'resource: { json: { paths: { "$.name[*].family": redact, "$.birthDate": { generalize_date: { to: year } } } } }',
    input: '{"name":[{"family":"Chalmers","given":["Peter"]}],"birthDate":"1974-12-25","telecom":[…]}',
    output: '{"name":[{"family":null}],"birthDate":"1974-01-01"}',
  },
});

/** expressions one after another (expr`${list}` would separate them with commas) */
function concat(parts: readonly Expr[]): Expr | Sql {
  return parts.length === 0 ? sql`` : parts.reduce((a, b) => expr`${a}${b}`);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `(SELECT jsonb_agg(masked leaf) …)`: the masked values of one path, in document order */
function pathValues(doc: Expr, p: JsonPathRule, column: CatalogColumn, nested: (rule: NestedRule, value: Expr, column: CatalogColumn) => Expr): Expr {
  const v = columnReference('pgmask_j', 'v');
  const leaf = maskedLeaf(v, p, column, nested);
  return expr`(SELECT coalesce(jsonb_agg(${leaf} ORDER BY pgmask_j.i), '[]'::jsonb) FROM pgmask._json_leaves(${doc}, ${constant(jsonbLiteral(p.segments))}) WITH ORDINALITY AS pgmask_j(v, i))`;
}

const EMPTY = constant(sql`'[]'::jsonb`);

/** [masked value], or [] when the value is not of a type the rule takes */
function maskedLeaf(v: Expr, p: JsonPathRule, column: CatalogColumn, nested: (rule: NestedRule, value: Expr, column: CatalogColumn) => Expr): Expr {
  const { rule } = p;
  if (rule.transform === 'keep') return expr`jsonb_build_array(${v})`;
  if (rule.transform === 'redact') return constant(jsonbLiteral([rule.params.value ?? null]));
  const cols = leafColumns(column, p.text);
  const one = (value: Expr, c: CatalogColumn, out: (e: Expr) => Expr): Expr => expr`jsonb_build_array(${out(nested(rule, value, c))})`;
  const asJson = (e: Expr) => expr`to_jsonb(${e})`;
  const branches: Expr[] = [];
  const k = p.kinds;
  if (k.whole) return one(v, cols.json, (e) => e);
  const str = expr`(${v} #>> '{}')`;
  if (k.text) branches.push(expr` WHEN 'string' THEN ${one(str, cols.text, asJson)}`);
  else if (k.date || k.timestamptz) {
    const dateBranch = k.date ? expr` WHEN pgmask._json_date(${str}) IS NOT NULL THEN ${one(expr`pgmask._json_date(${str})`, cols.date, asJson)}` : sql``;
    const tzBranch = k.timestamptz ? expr` WHEN pgmask._json_timestamptz(${str}) IS NOT NULL THEN ${one(expr`pgmask._json_timestamptz(${str})`, cols.timestamptz, (e) => expr`pgmask._json_instant(${cast(e, 'timestamptz')})`)}` : sql``;
    branches.push(expr` WHEN 'string' THEN CASE${dateBranch}${tzBranch} ELSE ${EMPTY} END`);
  }
  if (k.number === 'numeric') branches.push(expr` WHEN 'number' THEN ${one(expr`${v}::numeric`, cols.numeric, asJson)}`);
  else if (k.number === 'float') branches.push(expr` WHEN 'number' THEN CASE WHEN abs(${v}::numeric) < 1e300 THEN ${one(expr`${v}::numeric::float8`, cols.float, asJson)} ELSE ${EMPTY} END`);
  else if (k.number === 'integer')
    branches.push(expr` WHEN 'number' THEN CASE WHEN ${v}::numeric = trunc(${v}::numeric) AND abs(${v}::numeric) <= 9223372036854775807 THEN ${one(expr`${v}::numeric::int8`, cols.integer, asJson)} ELSE ${EMPTY} END`);
  return expr`CASE jsonb_typeof(${v}) WHEN 'null' THEN '[null]'::jsonb${concat(branches)} ELSE ${EMPTY} END`;
}
