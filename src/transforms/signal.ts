import { z } from 'zod';
import { jsonbLiteral, literal } from '../sql/index.ts';
import { cast, expr } from '../plan/expression.ts';
import type { Expr } from '../plan/nodes.ts';
import type { CatalogColumn } from '../catalog/catalog-snapshot.ts';
import { elementColumn } from './element-column.ts';
import { defineTransform, type TransformProblem } from './transform.ts';

/** the element families a signal may hold */
const NUMERIC_ELEMENTS = new Set(['float', 'numeric', 'integer']);

function numericArrayProblems(name: string, column: CatalogColumn): TransformProblem[] {
  const element = elementColumn(column);
  if (element && NUMERIC_ELEMENTS.has(element.family)) return [];
  return [{ code: 'SIGNAL_ELEMENT_TYPE', message: `${name} needs an array of numbers; ${column.name} is ${column.sqlType}`, hint: 'use it on real[], double precision[], numeric[] or integer[] columns' }];
}

/** The signal as one float8 array (a multi-dimensional array flattened in storage order: PLV8 converts only one-dimensional arrays). */
function flatFloat8(value: Expr): Expr {
  return expr`CASE WHEN array_ndims(${value}) > 1 THEN ARRAY(SELECT pgmask_s::float8 FROM unnest(${value}) AS pgmask_s) ELSE ${value}::float8[] END`;
}

/** 10^(−snr/20), computed once here so both runtimes get the same float8 constant */
export function snrRatio(snrDb: number): number {
  return Math.pow(10, -snrDb / 20);
}

/**
 * Keyed noise scaled to each signal's own RMS, so the signal-to-noise ratio of every masked
 * recording is what the policy says. The view calls pgmask.signal_noise on the signal as float8
 * and puts the result back into the column's type, dimensions and bounds.
 */
export const signalNoise = defineTransform({
  name: 'signal_noise',
  description: "Add stable keyed noise to a numeric array (a signal) with an RMS of snr_db below the signal's own: every recording's SNR is snr_db.",
  params: z
    .object({
      snr_db: z.number().min(0).max(60).describe('signal-to-noise ratio in dB (0…60): noise RMS = signal RMS × 10^(−snr_db/20)'),
    })
    .strict(),
  types: ['array'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  check: ({ column }) => numericArrayProblems('signal_noise', column),
  render({ value, column, params, key, subject }) {
    const opts = jsonbLiteral({ column: column.name, ratio: snrRatio(params.snr_db) });
    const identity = subject === null ? expr`''` : expr`coalesce(${subject}, '')`;
    const noisy = cast(expr`pgmask.signal_noise(${flatFloat8(value)}, ${identity}, ${key}, ${opts})`, column.sqlType);
    return expr`CASE WHEN ${value} IS NULL THEN NULL ELSE pgmask._array_shape(${noisy}, ${value}) END`;
  },
  sqlFile: 'signal.sql',
  plv8: [{ sqlName: 'signal_noise', args: [['value', 'float8[]'], ['identity', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'float8[]', js: 'signal_noise' }],
  notes: [
    'The noise of a recording is keyed by the subject and by the recording itself (SHA-256 of its samples): the same recording always shows the same noise, so repeating queries or averaging copies of it gains nothing, and two recordings get independent noise. Its RMS is scaled exactly to signal RMS × 10^(−snr_db/20), so the achieved SNR equals snr_db up to the rounding of the column type (within 0.01 dB for real[]).',
    'Computed in float8 with exact integers, + − × ÷ and sqrt in the same order in both runtimes, so sql and plv8 return the same bits. NULL, NaN, ±Infinity and |x| ≥ 1e150 samples are kept as they are and left out of the RMS; a signal with no energy (all zero) is returned unchanged. Integer arrays are rounded back to integers, which moves the SNR a little.',
    'A multi-dimensional array is treated as one signal (storage order) and keeps its dimensions and lower bounds.',
  ],
  example: { rule: 'lead_ii: { signal_noise: { snr_db: 30 } }', input: '5,000 ECG samples', output: 'the same samples plus noise of RMS 3.2% of the signal RMS (SNR 30 dB)' },
});

/**
 * Downsampling by averaging: every `factor` consecutive samples become their mean (NULLs left
 * out; a window of NULLs gives NULL; the last window may be shorter). Plain SQL in the view,
 * so both runtimes run the same statement. The result is one-dimensional from 1.
 */
export const resample = defineTransform({
  name: 'resample',
  description: 'Downsample a numeric array by averaging every `factor` consecutive samples (fewer samples, same shape of the curve).',
  params: z.object({ factor: z.number().int().min(2).max(100000).describe('how many consecutive samples become one (their mean)') }).strict(),
  types: ['array'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  check: ({ column }) => numericArrayProblems('resample', column),
  render({ value, column, params }) {
    const element = elementColumn(column);
    const f = literal(params.factor);
    // numeric averages exactly; floats are summed as float8 in sample order (the same bits on every server)
    const mean = element?.family === 'numeric' ? expr`avg(pgmask_r.e)` : expr`sum(pgmask_r.e::float8 ORDER BY pgmask_r.i) / count(pgmask_r.e)`;
    const each = cast(mean, element?.sqlType ?? 'float8', false);
    return expr`CASE WHEN ${value} IS NULL THEN NULL ELSE ARRAY(SELECT ${each} FROM unnest(${value}) WITH ORDINALITY AS pgmask_r(e, i) GROUP BY (pgmask_r.i - 1) / ${f} ORDER BY (pgmask_r.i - 1) / ${f}) END`;
  },
  sqlFile: null,
  notes: ['Every `factor` samples (in storage order; a multi-dimensional array is flattened) become their mean; NULL samples are left out and a window of NULLs gives NULL; the last window may hold fewer samples. Integer arrays are rounded back to integers.'],
  example: { rule: 'pleth: { resample: { factor: 4 } }', input: '{1,2,3,4,5,6,7,8}', output: '{2.5,6.5}' },
});

