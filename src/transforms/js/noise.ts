/**
 * JavaScript implementation of pgmask.noise (plv8 runtime and TypeScript reference); must give
 * the same float8 as sql/noise.sql, bit for bit. Both runtimes use only IEEE-754 +, −, ×, ÷
 * and floor, in the same order, on the same operands: those are correctly rounded everywhere,
 * whereas Math.log and PostgreSQL's ln() may differ in the last bit. So the random fraction
 * comes from the HMAC as an exact integer, and the logarithm the Laplace draw needs is a
 * fixed polynomial, written out identically in sql/noise.sql.
 */
import { labelledDigest } from './labelled-digest.ts';

export interface NoiseOpts {
  /** the column name: the same row key gets independent noise in each column */
  readonly column: string;
  /** scale = |value| × relative … */
  readonly relative?: number;
  /** … or this absolute scale */
  readonly absolute?: number;
  readonly distribution?: 'uniform' | 'laplace';
  readonly decimals?: number | null;
  readonly min?: number | null;
  readonly max?: number | null;
}

const LN2 = 0.6931471805599453;
const TWO_POW_51 = 2251799813685248;
const TWO_POW_52 = 4503599627370496;

/**
 * ln(1 + t) for t in [0, 1): 2·atanh(s) with s = t/(2+t) in [0, 1/3), the series to s¹⁹
 * (absolute error below 3·10⁻¹⁰ — plenty for noise, and the same bits in both runtimes).
 */
function ln1p(t: number): number {
  const s = t / (2 + t);
  const z = s * s;
  return 2 * s * (((((((((((1 / 19) * z + 1 / 17) * z + 1 / 15) * z + 1 / 13) * z + 1 / 11) * z + 1 / 9) * z + 1 / 7) * z + 1 / 5) * z + 1 / 3) * z + 1));
}

/**
 * The noise factor, with mean absolute value 1 (so `scale` is the mean absolute error).
 * m = the top 52 bits of digest bytes 0…6.
 * uniform: (2m+1)/2⁵¹ − 2, uniform on (−2, 2), exact.
 * laplace: sign from the top bit of byte 7; |factor| = −ln(w) for w uniform on (0, 1), split as
 * w = 2^−(g+1)·(1+t): g = leading zero bits of bytes 8…15 (geometric), t = m/2⁵² — so
 * −ln(w) = (g+1)·ln 2 − ln(1+t), an exponential variable with mean 1.
 */
export function noiseFactor(digest: Uint8Array, distribution: string | undefined): number {
  const m =
    digest[0]! * 17592186044416 + digest[1]! * 68719476736 + digest[2]! * 268435456 + digest[3]! * 1048576 + digest[4]! * 4096 + digest[5]! * 16 + (digest[6]! >> 4);
  if (distribution !== 'laplace') return (2 * m + 1) / TWO_POW_51 - 2;
  let g = 64;
  for (let i = 8; i < 16; i++) {
    const b = digest[i]!;
    if (b !== 0) {
      g = (i - 8) * 8 + Math.clz32(b) - 24;
      break;
    }
  }
  const sign = digest[7]! >= 128 ? -1 : 1;
  return sign * ((g + 1) * LN2 - ln1p(m / TWO_POW_52));
}

/** floor(r·10^d + 0.5)/10^d (half up); d < 0 rounds to tens, hundreds…; |r| ≥ 10¹⁵ is left as it is. */
export function roundHalfUp(r: number, decimals: number | null | undefined): number {
  if (decimals === null || decimals === undefined || !(Math.abs(r) < 1e15)) return r;
  if (decimals >= 0) {
    const p = Number('1e' + decimals);
    return Math.floor(r * p + 0.5) / p;
  }
  const p = Number('1e' + -decimals);
  return Math.floor(r / p + 0.5) * p;
}

/**
 * value + scale × factor(HMAC(key, 'noise' NUL column NUL rowKey)), rounded to `decimals`
 * (half up) and then clamped to [min, max]. The same row and column always get the same
 * noise, so repeating a query and averaging gains nothing. NaN, ±Infinity, |value| ≥ 10³⁰⁰
 * and (with a relative scale) 0 < |value| < 10⁻²⁷⁰ are returned unchanged: perturbing them
 * would leave the float8 range, where PostgreSQL raises an error and JavaScript does not.
 */
export function noise(value: number, rowKey: string, key: Uint8Array, opts: NoiseOpts): number {
  const magnitude = Math.abs(value);
  const relative = opts.relative !== undefined && opts.relative !== null;
  if (!(magnitude < 1e300) || (relative && value !== 0 && magnitude < 1e-270)) return value;
  const scale = relative ? magnitude * opts.relative! : opts.absolute!;
  const factor = noiseFactor(labelledDigest(key, 'noise', opts.column, rowKey), opts.distribution);
  let r = roundHalfUp(value + scale * factor, opts.decimals);
  if (opts.min !== undefined && opts.min !== null && r < opts.min) r = opts.min;
  if (opts.max !== undefined && opts.max !== null && r > opts.max) r = opts.max;
  return r;
}
