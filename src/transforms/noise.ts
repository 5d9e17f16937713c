import { z } from 'zod';
import { byteaLiteral, jsonbLiteral, literal, sql } from '../sql/index.ts';
import { cast, constant, expr, transformCall } from '../plan/expression.ts';
import type { Expr } from '../plan/nodes.ts';
import { utf8Encode } from './js/utf8.ts';
import type { CatalogColumn } from '../catalog/catalog-snapshot.ts';
import { defineTransform } from './transform.ts';
import { noise as noiseValue } from './js/noise.ts';
import { SESSION_STABLE_TEXT } from './session-stable-text.ts';

/** the docs example, computed: 72.4 of subject P1 under an all-zero key, rounded as the view rounds */
const exampleNoise = Math.floor(noiseValue(72.4, '72.4:P1', new Uint8Array(32), { column: 'weight_kg', relative: 0.05 }) * 10 + 0.5) / 10;

const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  int2: [-32768, 32767],
  int4: [-2147483648, 2147483647],
  // 2^63 − 1024: the largest float8 below 2^63, so the cast back to bigint cannot overflow
  int8: [-9223372036854775808, 9223372036854774784],
};
const FLOAT4_MAX = 3.4028234663852886e38;

/** numeric(p,s) → [p, s]; null for an unconstrained numeric. */
function numericTypmod(column: CatalogColumn): readonly [number, number] | null {
  const m = /^numeric\((\d+)(?:,\s*(-?\d+))?\)$/.exec(column.sqlType);
  return m ? [Number(m[1]), Number(m[2] ?? 0)] : null;
}

/** Range of values the cast back to the column type accepts (so noise near a type's end cannot fail the query). */
function typeRange(column: CatalogColumn): readonly [number, number] | null {
  if (column.family === 'integer') return INT_RANGE[column.typeName] ?? null;
  if (column.typeName === 'float4') return [-FLOAT4_MAX, FLOAT4_MAX];
  const typmod = numericTypmod(column);
  if (typmod) {
    const [p, s] = typmod;
    const whole = p - s;
    if (s < 0 || whole > 300) return null;
    // 15 significant digits survive the float8 → numeric cast exactly
    const max = p <= 15 ? Number(`${'9'.repeat(whole) || '0'}.${'9'.repeat(s)}`) : Number(`${'9'.repeat(15)}e${whole - 15}`);
    return [-max, max];
  }
  return null;
}

function defaultDecimals(column: CatalogColumn): number | null {
  if (column.family === 'integer') return 0;
  const typmod = numericTypmod(column);
  return typmod ? typmod[1] : null;
}

/**
 * A column whose values are 0 or 1e-270 ≤ |value| < 1e280 by its type, so the view needs no
 * guard for NaN, infinity, huge or tiny values (which the noise returns unchanged).
 */
function bounded(column: CatalogColumn): boolean {
  if (column.family === 'integer') return true;
  const typmod = numericTypmod(column);
  return typmod !== null && typmod[0] - typmod[1] <= 280 && typmod[1] <= 270;
}

/**
 * The noise identity, text: the raw value, ':' and the subject (empty without one). Numbers
 * as their text (integer and numeric output does not depend on session settings); floats as
 * the hex of their 8 IEEE bytes (their text depends on extra_float_digits). The value's text
 * never holds ':', so the identity splits one way only.
 */
function noiseIdentity(value: Expr, column: CatalogColumn, subject: Expr | null): Expr {
  const raw = column.family === 'float' ? expr`encode(float8send(${value}::float8), 'hex')` : expr`${value}::text`;
  return subject === null ? expr`${raw} || ':'` : expr`${raw} || ':' || coalesce(${subject}, '')`;
}

/**
 * Stable noise: value × (1 + relative × factor), or value + absolute × factor, with a factor
 * derived from HMAC(key, 'noise' NUL column NUL identity), where the identity is the raw value
 * and the subject. So the same subject, column and raw value always show the same perturbed
 * value: repeating a query gains nothing, and neither does averaging a value a subject has
 * on many rows (a height on every encounter). Without a subject column (none in the policy
 * for this table, or NULL on the row) the identity is the raw value alone: every row with
 * that value in this column gets the same noise, which is the only keying that no averaging
 * over rows can undo when pgmask cannot tell which rows belong to one person (it keeps
 * equal values equal, as `keep` would). `relative: 0.05` perturbs a value by 5% of itself on
 * average (uniform: up to ±10%; laplace: heavier tails). The result is rounded half up to
 * `decimals` (default: 0 for integers, the scale of numeric(p,s), none for float) and
 * clamped to [min, max] and to the column type's range — by SQL in the view, so both
 * runtimes round alike. Computed in float8 (a numeric or bigint value beyond 15–17
 * significant digits is rounded first).
 *
 * On the sql runtime the call is specialized when the migration is generated: the label
 * bytes are a constant, the scale a float8 constant, the value converted to float8 once,
 * and a column whose type bounds it (integers, numeric(p,s)) has no guard for NaN or
 * huge values.
 *
 * @example
 *   weight_kg numeric(5,1): { noise: { relative: 0.05, decimals: 1 } }, subject patient_id
 *   -- greatest(least(floor(src."weight_kg"::float8 * (1 + '0.05'::float8 * pgmask._noise_uniform_factor(
 *   --   pgmask._labelled_hmac('\x6e6f6973650077…00'::bytea, src."weight_kg"::text || ':' || coalesce(src."patient_id"::text, ''), (SELECT …key…))))
 *   --   * '10'::float8 + '0.5'::float8) / '10'::float8, '9999.9'::float8), '-9999.9'::float8)
 */
export const noise = defineTransform({
  name: 'noise',
  description: 'Add stable keyed noise (same subject and value, same noise): relative or absolute mean error, uniform or laplace, rounded and clamped.',
  params: z
    .object({
      relative: z.number().gt(0).max(10).optional().describe('mean absolute error as a fraction of the value (0.05 = 5%)'),
      absolute: z.number().min(1e-9).max(1e12).optional().describe('mean absolute error in the column unit (instead of relative)'),
      distribution: z.enum(['uniform', 'laplace']).optional().describe('uniform (default; within ±2× the scale) or laplace (heavier tails)'),
      decimals: z.number().int().min(-6).max(10).optional().describe('round the result half up to this many decimals (negative: tens, hundreds…)'),
      min: z.number().optional().describe('clamp the result to at least this'),
      max: z.number().optional().describe('clamp the result to at most this'),
    })
    .strict()
    .refine((p) => (p.relative === undefined) !== (p.absolute === undefined), { message: 'give exactly one of relative or absolute' })
    .refine((p) => p.min === undefined || p.max === undefined || p.min <= p.max, { message: 'min must not exceed max', path: ['min'] }),
  types: ['integer', 'numeric', 'float'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  check({ table, column, params, subjectColumn }) {
    const problems = [];
    const subject = subjectColumn === null ? undefined : table.columns.find((c) => c.name === subjectColumn);
    if (subject && !SESSION_STABLE_TEXT.has(subject.family)) {
      problems.push({
        code: 'NOISE_SUBJECT_TYPE',
        message: `noise on ${column.name}: the subject column ${subject.name} is ${subject.sqlType}, whose text form depends on session settings, so a subject's noise would differ between sessions`,
        hint: 'use an identifier column (text, integer, numeric or uuid) as the subject',
      });
    }
    if (column.family === 'integer' && params.decimals !== undefined && params.decimals > 0) {
      problems.push({ code: 'NOISE_DECIMALS_INTEGER', message: `decimals ${params.decimals} on the integer column ${column.name}`, hint: 'use decimals: 0 (the default) or a negative number to round to tens' });
    }
    return problems;
  },
  render({ value, column, params, key, subject, runtime }) {
    const range = typeRange(column);
    const decimals = params.decimals ?? defaultDecimals(column);
    const min = range && params.min !== undefined ? Math.max(params.min, range[0]) : (params.min ?? range?.[0]);
    const max = range && params.max !== undefined ? Math.min(params.max, range[1]) : (params.max ?? range?.[1]);
    const f8 = (n: number) => constant(sql`${literal(String(n))}::float8`);
    const v = cast(value, 'float8');
    const identity = noiseIdentity(value, column, subject);
    const laplace = params.distribution === 'laplace';
    let out: Expr;
    if (runtime === 'plv8') {
      const opts = jsonbLiteral({ column: column.name, ...(params.relative !== undefined ? { relative: params.relative } : { absolute: params.absolute }) });
      out = expr`${laplace ? sql`pgmask.noise_laplace` : sql`pgmask.noise`}(${v}, ${identity}, ${key}, ${opts})`;
    } else {
      const label = constant(byteaLiteral(utf8Encode(`noise\u0000${column.name}\u0000`)));
      const factor = transformCall(laplace ? '_noise_laplace_factor' : '_noise_uniform_factor', transformCall('_labelled_hmac', label, identity, key));
      out = params.relative !== undefined ? expr`${v} * (1 + ${f8(params.relative)} * ${factor})` : expr`${v} + ${f8(params.absolute!)} * ${factor}`;
    }
    // Rounding and clamping are SQL in the view, so they are the same under both runtimes.
    if (decimals !== null) {
      const p = f8(Number(`1e${Math.abs(decimals)}`));
      out = decimals >= 0 ? expr`floor(${out} * ${p} + ${f8(0.5)}) / ${p}` : expr`floor(${out} / ${p} + ${f8(0.5)}) * ${p}`;
    }
    if (max !== undefined) out = expr`least(${out}, ${f8(max)})`;
    if (min !== undefined) out = expr`greatest(${out}, ${f8(min)})`;
    // NaN, ±Infinity, |value| ≥ 1e280 and (relative) tiny values are returned unchanged, not rounded or clamped
    if (bounded(column) || (decimals === null && min === undefined && max === undefined && runtime === 'plv8')) return out;
    const tiny = params.relative !== undefined ? expr` AND (${v} = 0 OR abs(${v}) >= ${f8(1e-270)})` : sql``;
    return expr`CASE WHEN abs(${v}) < ${f8(1e280)}${tiny} THEN ${out} ELSE ${v} END`;
  },
  sqlFile: 'noise.sql',
  plv8: [
    { sqlName: 'noise', args: [['value', 'float8'], ['row_key', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'float8', js: 'noise' },
    { sqlName: 'noise_laplace', args: [['value', 'float8'], ['row_key', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'float8', js: 'noise_laplace' },
  ],
  notes: [
    'The factor comes from HMAC-SHA256(key, "noise" NUL column NUL identity), the identity being the raw value and the subject: one subject\'s value in one column always shows the same noise, however many rows repeat it, so neither repeating queries nor averaging a subject\'s rows reveals more. Without a subject the identity is the raw value alone (every row with that value gets the same noise). The mean absolute error equals the scale (uniform: within ±2× scale; laplace: exponential tails).',
    'Computed in float8 with only + − × ÷ in both runtimes (no ln()), so sql and plv8 return the same bits. The view then rounds half up, floor(x·10^d + 0.5)/10^d, and clamps to min/max after rounding, in SQL; integer, real and numeric(p,s) columns are also clamped to their type range.',
    'NaN, ±Infinity, |value| ≥ 1e280 and, with a relative scale, 0 < |value| < 1e-270 are returned unchanged, not rounded or clamped (perturbing them could leave the float8 range). Equal raw values of one subject stay equal after masking.',
  ],
  example: {
    rule: 'weight_kg: { noise: { relative: 0.05, decimals: 1 } }',
    input: '72.4 (patient P1)',
    output: `${exampleNoise} (the same wherever P1 has 72.4; all-zero key)`,
  },
});
