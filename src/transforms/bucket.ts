import { z } from 'zod';
import { jsonbLiteral, literal, sql, type Sql } from '../sql/index.ts';
import { cast, expr } from '../plan/expression.ts';
import type { Expr } from '../plan/nodes.ts';
import { defineTransform } from './transform.ts';

const INT_MIN: Readonly<Record<string, string>> = { int2: '-32768', int4: '-2147483648', int8: '-9223372036854775808' };

const range = z
  .object({
    gte: z.number().optional().describe('value ≥ gte'),
    gt: z.number().optional().describe('value > gt'),
    lt: z.number().optional().describe('value < lt'),
    lte: z.number().optional().describe('value ≤ lte'),
    label: z.string().max(200).describe('text shown for values in this range'),
  })
  .strict();

type Range = z.infer<typeof range>;

/**
 * Labelled ranges specialized at plan time (sql runtime): a CASE over numeric comparisons
 * with the bounds and labels as constants, the same as pgmask.bucket_label's jsonpath
 * query on the jsonb options (which both runtimes implement) without reading jsonb per row.
 * NaN and Infinity compare above every finite bound and -Infinity below, in numeric as there.
 */
function labelCase(v: Expr, ranges: readonly Range[], fallback: string | undefined): Expr {
  let out = expr`CASE WHEN ${v} IS NULL THEN NULL`;
  for (const r of ranges) {
    const bounds: [Sql, number | undefined][] = [[sql`>=`, r.gte], [sql`>`, r.gt], [sql`<`, r.lt], [sql`<=`, r.lte]];
    let condition: Expr | null = null;
    for (const [op, n] of bounds) {
      if (n === undefined) continue;
      const test = expr`${v} ${op} ${literal(n)}::numeric`;
      condition = condition === null ? test : expr`${condition} AND ${test}`;
    }
    out = expr`${out} WHEN ${condition ?? expr`${v} IS NOT NULL`} THEN ${literal(r.label)}`;
  }
  return expr`${out} ELSE ${fallback === undefined ? sql`NULL` : literal(fallback)} END`;
}

/**
 * Generalization into bins. Fixed width: the lower bound of the value's bin
 * (`origin + floor((value − origin)/width)·width`, exact decimal arithmetic), same column
 * type. Labelled ranges: the label of the first range holding the value, as text — a type
 * change the policy states with `as: text`; values in no range get `default` (or NULL).
 * Float values are binned after the float8 → numeric cast (15 significant digits).
 *
 * @example
 *   age_years: { bucket: { width: 10 } }                                      37 → 30
 *   bmi: { bucket: { as: text, ranges: [{ lt: 18.5, label: under }, { gte: 18.5, lt: 25, label: normal }], default: over } }
 */
export const bucket = defineTransform({
  name: 'bucket',
  description: 'Bin numbers: fixed width (the bin lower bound, same type) or labelled ranges (the label as text, with `as: text`).',
  params: z
    .object({
      width: z.number().gt(0).optional().describe('bin width (fixed-width bins)'),
      origin: z.number().optional().describe('where bins start (default 0): bins are [origin + k·width, origin + (k+1)·width)'),
      ranges: z.array(range).min(1).max(100).optional().describe('labelled ranges, first match wins (instead of width)'),
      default: z.string().max(200).optional().describe('label for values in no range (default NULL)'),
      as: z.literal('text').optional().describe('required with ranges: the masked column becomes text'),
    })
    .strict()
    .refine((p) => (p.width === undefined) !== (p.ranges === undefined), { message: 'give either width or ranges' })
    .refine((p) => p.ranges === undefined || p.as === 'text', { message: 'labelled ranges turn the column into text: add `as: text`', path: ['as'] })
    .refine((p) => p.ranges !== undefined || (p.as === undefined && p.default === undefined), { message: '`as` and `default` go with ranges, not width' })
    .refine((p) => p.ranges === undefined || p.origin === undefined, { message: '`origin` goes with width, not ranges', path: ['origin'] }),
  types: ['integer', 'numeric', 'float'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  outputType: (_column, params) => (params.ranges !== undefined ? 'text' : null),
  check({ column, params }) {
    if (column.family === 'integer' && params.width !== undefined && !(Number.isInteger(params.width) && Number.isInteger(params.origin ?? 0))) {
      return [{ code: 'BUCKET_FRACTIONAL_WIDTH', message: `the integer column ${column.name} needs an integer width and origin`, hint: 'use a whole-number width, or labelled ranges' }];
    }
    return [];
  },
  render({ value, column, params, runtime }) {
    if (params.ranges !== undefined) {
      if (runtime === 'plv8') {
        return expr`pgmask.bucket_label(${value}::numeric, ${jsonbLiteral({ ranges: params.ranges, ...(params.default !== undefined ? { default: params.default } : {}) })})`;
      }
      return labelCase(cast(value, 'numeric'), params.ranges, params.default);
    }
    // the bin of a value near the type's minimum can start below it, and the cast back would
    // fail the query: the type's minimum (as text: int8's is not a float8) is the smallest bin
    const min = column.family === 'integer' ? INT_MIN[column.typeName] : undefined;
    const opts = { width: params.width, ...(params.origin !== undefined ? { origin: params.origin } : {}), ...(min !== undefined ? { min } : {}) };
    return expr`pgmask.bucket(${value}::numeric, ${jsonbLiteral(opts)})`;
  },
  sqlFile: 'bucket.sql',
  plv8: [
    { sqlName: 'bucket', args: [['value', 'numeric'], ['opts', 'jsonb']], returns: 'numeric', js: 'bucket' },
    { sqlName: 'bucket_label', args: [['value', 'numeric'], ['opts', 'jsonb']], returns: 'text', js: 'bucket_label' },
  ],
  notes: [
    'Exact decimal arithmetic (numeric div/mod, BigInt in JavaScript): 0.3 with width 0.1 is in the bin 0.3. The lower bound has the scale of width/origin; the view casts it back to the column type. Integer columns need whole widths; a bin starting below the type minimum is shown as the minimum. NaN and ±Infinity are returned unchanged.',
    'Labelled ranges: first match wins; bounds are exact; NaN and Infinity count as above every bound, -Infinity below. Float columns are compared after the float8 → numeric cast (15 significant digits).',
  ],
  example: { rule: 'age_years: { bucket: { width: 10 } }', input: '37', output: '30' },
});
