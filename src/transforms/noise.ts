import { z } from 'zod';
import { jsonbLiteral, literal, sql } from '../sql/index.ts';
import type { CatalogColumn } from '../catalog/catalog-snapshot.ts';
import { defineTransform } from './transform.ts';
import { noise as noiseValue } from './js/noise.ts';
import { SESSION_STABLE_TEXT } from './session-stable-text.ts';

/** the docs example, computed: 72.4 at primary key 1 under an all-zero key, rounded as the view rounds */
const exampleNoise = Math.floor(noiseValue(72.4, '1', new Uint8Array(32), { column: 'weight_kg', relative: 0.05 }) * 10 + 0.5) / 10;

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
 * Stable noise: value + scale × a factor derived from HMAC(key, 'noise', column name, row's
 * primary key), so one row always shows the same perturbed value and averaging repeated
 * queries gains nothing. `scale` is the mean absolute error: `relative: 0.05` perturbs a value
 * by 5% of itself on average (uniform: up to ±10%; laplace: heavier tails). The result is
 * rounded half up to `decimals` (default: 0 for integers, the scale of numeric(p,s), none for
 * float) and clamped to [min, max] and to the column type's range — by SQL in the view, so the
 * transform function stays one inlinable expression and both runtimes round alike. Computed in
 * float8 (a numeric or bigint value beyond 15–17 significant digits is rounded first).
 * A table without a primary key is refused: its rows have no stable identity.
 *
 * @example
 *   weight_kg: { noise: { relative: 0.05, decimals: 1 } }
 *   -- CASE WHEN abs(src."weight_kg"::float8) < 1e280::float8
 *   --   THEN floor(pgmask.noise(src."weight_kg"::float8, src."id"::text, (SELECT …key…), '{"column":"weight_kg","relative":0.05}'::jsonb) * '10'::float8 + 0.5::float8) / '10'::float8
 *   --   ELSE src."weight_kg"::float8 END
 */
export const noise = defineTransform({
  name: 'noise',
  description: 'Add stable keyed noise (same row, same noise): relative or absolute mean error, uniform or laplace, rounded and clamped; needs a primary key.',
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
  check({ table, column, params }) {
    const problems = [];
    if (!table.primaryKey || table.primaryKey.length === 0) {
      problems.push({
        code: 'NOISE_NO_PRIMARY_KEY',
        message: `noise on ${column.name}: table ${table.name} has no primary key, so rows have no stable identity to derive their noise from`,
        hint: 'add a primary key to the table, or use bucket, redact or keep for this column',
      });
    }
    const unstable = (table.primaryKey ?? []).map((name) => table.columns.find((c) => c.name === name)).filter((c) => c !== undefined && !SESSION_STABLE_TEXT.has(c.family));
    if (unstable.length > 0) {
      problems.push({
        code: 'NOISE_PRIMARY_KEY_TYPE',
        message: `noise on ${column.name}: the primary key of ${table.name} includes ${unstable.map((c) => `${c!.name} (${c!.sqlType})`).join(', ')}, whose text form depends on session settings, so a row's noise would differ between sessions`,
        hint: 'use noise on tables keyed by text, integer, numeric or uuid columns, or bucket/redact this column',
      });
    }
    if (column.family === 'integer' && params.decimals !== undefined && params.decimals > 0) {
      problems.push({ code: 'NOISE_DECIMALS_INTEGER', message: `decimals ${params.decimals} on the integer column ${column.name}`, hint: 'use decimals: 0 (the default) or a negative number to round to tens' });
    }
    return problems;
  },
  render({ value, column, params, key, rowKey }) {
    if (rowKey === null) throw new Error('noise rendered without a primary key (check() refuses this)');
    const range = typeRange(column);
    const decimals = params.decimals ?? defaultDecimals(column);
    const min = range && params.min !== undefined ? Math.max(params.min, range[0]) : (params.min ?? range?.[0]);
    const max = range && params.max !== undefined ? Math.min(params.max, range[1]) : (params.max ?? range?.[1]);
    const v = sql`${value}::float8`;
    const opts = jsonbLiteral({ column: column.name, ...(params.relative !== undefined ? { relative: params.relative } : { absolute: params.absolute }) });
    const fn = params.distribution === 'laplace' ? sql`pgmask.noise_laplace` : sql`pgmask.noise`;
    let out = sql`${fn}(${v}, ${rowKey}, ${key}, ${opts})`;
    if (decimals === null && min === undefined && max === undefined) return out;
    // Rounding and clamping are SQL in the view, so they are the same under both runtimes, and
    // the function stays a single expression PostgreSQL inlines. NULL, NaN, ±Infinity and
    // |value| ≥ 1e280 (returned unchanged by the function) skip them.
    const f8 = (n: number) => sql`${literal(String(n))}::float8`;
    if (decimals !== null) {
      const p = f8(Number(`1e${Math.abs(decimals)}`));
      out = decimals >= 0 ? sql`floor(${out} * ${p} + 0.5::float8) / ${p}` : sql`floor(${out} / ${p} + 0.5::float8) * ${p}`;
    }
    if (max !== undefined) out = sql`least(${out}, ${f8(max)})`;
    if (min !== undefined) out = sql`greatest(${out}, ${f8(min)})`;
    return sql`CASE WHEN abs(${v}) < 1e280::float8 THEN ${out} ELSE ${v} END`;
  },
  sqlFile: 'noise.sql',
  plv8: [
    { sqlName: 'noise', args: [['value', 'float8'], ['row_key', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'float8', js: 'noise' },
    { sqlName: 'noise_laplace', args: [['value', 'float8'], ['row_key', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'float8', js: 'noise_laplace' },
  ],
  notes: [
    'The factor comes from HMAC-SHA256(key, "noise" NUL column NUL primary key), so each row and column has its own fixed noise: repeating or averaging queries reveals nothing more. The mean absolute error equals the scale (uniform: within ±2× scale; laplace: exponential tails).',
    'Computed in float8 with only + − × ÷ in both runtimes (no ln()), so sql and plv8 return the same bits. The view then rounds half up, floor(x·10^d + 0.5)/10^d, and clamps to min/max after rounding, in SQL; integer, real and numeric(p,s) columns are also clamped to their type range.',
    'NaN, ±Infinity, |value| ≥ 1e280 and, with a relative scale, 0 < |value| < 1e-270 are returned unchanged, not rounded or clamped (perturbing them could leave the float8 range). A table without a primary key is refused.',
  ],
  example: {
    rule: 'weight_kg: { noise: { relative: 0.05, decimals: 1 } }',
    input: '72.4 (primary key 1)',
    output: `${exampleNoise} (the same in every query; all-zero key)`,
  },
});
