/**
 * JavaScript implementation of pgmask.bucket and pgmask.bucket_label (plv8 runtime and
 * TypeScript reference); must give the same text as sql/bucket.sql. Values arrive as numeric
 * text and are computed exactly (BigInt decimals), as PostgreSQL's numeric does.
 */
import { atScale, compareDecimal, formatDecimal, parseDecimal, type Decimal } from './decimal.ts';

export interface BucketOpts {
  readonly width: number;
  readonly origin?: number;
  /** the smallest result (number or numeric text); the view passes the column type's minimum */
  readonly min?: number | string;
}

export interface BucketRange {
  readonly gte?: number;
  readonly gt?: number;
  readonly lt?: number;
  readonly lte?: number;
  readonly label: string;
}

export interface BucketLabelOpts {
  readonly ranges: readonly BucketRange[];
  readonly default?: string;
}

function isSpecial(value: string): boolean {
  return value === 'NaN' || value === 'Infinity' || value === '-Infinity';
}

/**
 * The lower bound of the value's bin: origin + floor((value − origin)/width)·width, exactly.
 * Its scale is max(scale(width), scale(origin)) as numeric's (div(…)·width + origin) gives;
 * below opts.min it is opts.min (greatest() in SQL). NaN and ±Infinity are returned unchanged.
 */
export function bucket(value: string, opts: BucketOpts): string {
  if (isSpecial(value)) return value;
  const v = parseDecimal(value);
  const w = parseDecimal(String(opts.width));
  const o = parseDecimal(String(opts.origin ?? 0));
  const s = Math.max(v.scale, w.scale, o.scale);
  const d = atScale(v, s) - atScale(o, s);
  const width = atScale(w, s);
  let q = d / width;
  if (d % width < 0n) q -= 1n;
  const t = Math.max(w.scale, o.scale);
  const lower: Decimal = { unscaled: q * atScale(w, t) + atScale(o, t), scale: t };
  if (opts.min !== undefined) {
    const min = parseDecimal(String(opts.min));
    if (compareDecimal(lower, min) < 0) return formatDecimal(min);
  }
  return formatDecimal(lower);
}

/** −1/0/1 comparing numeric text with a finite bound; NaN sorts above everything in PostgreSQL. */
function compareWith(value: string, v: Decimal | null, bound: number): number {
  if (v !== null) return compareDecimal(v, parseDecimal(String(bound)));
  return value === '-Infinity' ? -1 : 1;
}

/** The label of the first range holding the value (bounds exact), else opts.default, else NULL. */
export function bucketLabel(value: string, opts: BucketLabelOpts): string | null {
  const v = isSpecial(value) ? null : parseDecimal(value);
  for (const r of opts.ranges) {
    if (r.gte !== undefined && !(compareWith(value, v, r.gte) >= 0)) continue;
    if (r.gt !== undefined && !(compareWith(value, v, r.gt) > 0)) continue;
    if (r.lt !== undefined && !(compareWith(value, v, r.lt) < 0)) continue;
    if (r.lte !== undefined && !(compareWith(value, v, r.lte) <= 0)) continue;
    return r.label;
  }
  return opts.default ?? null;
}
