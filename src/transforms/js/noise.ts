/**
 * JavaScript implementation of pgmask.noise and pgmask.noise_laplace (plv8 runtime and
 * TypeScript reference); must give the same float8 as sql/noise.sql, bit for bit. Both
 * runtimes use only IEEE-754 +, −, ×, ÷ in the same order on the same operands: those are
 * correctly rounded everywhere, whereas Math.log and PostgreSQL's ln() may differ in the last
 * bit. So the random fraction comes from the HMAC as an exact integer, and the logarithm the
 * Laplace draw needs is a fixed polynomial, written out identically in sql/noise.sql.
 * Rounding to `decimals` and the min/max clamp are not here: the masked view applies them in
 * SQL (src/transforms/noise.ts), the same under both runtimes.
 */
import { labelledDigest } from './labelled-digest.ts';

export interface NoiseOpts {
  /** the column name: the same identity gets independent noise in each column */
  readonly column: string;
  /** value × (1 + relative × factor) … */
  readonly relative?: number;
  /** … or value + absolute × factor */
  readonly absolute?: number;
}

const LN2 = 0.6931471805599453;
const TWO_POW_51 = 2251799813685248;
const TWO_POW_52 = 4503599627370496;

/** Values of magnitude 1e280 or more (and NaN), and with a relative scale below 1e-270, are returned unchanged (see noise()). */
export const NOISE_MAX_MAGNITUDE = 1e280;
export const NOISE_MIN_MAGNITUDE = 1e-270;

/**
 * ln(1 + t) for t in [0, 1): 2·atanh(s) with s = t/(2+t) in [0, 1/3), the series to s¹⁹
 * (absolute error below 3·10⁻¹⁰ — plenty for noise, and the same bits in both runtimes).
 */
function ln1p(t: number): number {
  const s = t / (2 + t);
  const z = s * s;
  return 2 * s * (((((((((((1 / 19) * z + 1 / 17) * z + 1 / 15) * z + 1 / 13) * z + 1 / 11) * z + 1 / 9) * z + 1 / 7) * z + 1 / 5) * z + 1 / 3) * z + 1));
}

/** m = the top 52 bits of digest bytes 0…6 */
function top52(digest: Uint8Array): number {
  return digest[0]! * 17592186044416 + digest[1]! * 68719476736 + digest[2]! * 268435456 + digest[3]! * 1048576 + digest[4]! * 4096 + digest[5]! * 16 + (digest[6]! >> 4);
}

/** uniform factor on (−2, 2), mean absolute value 1: (2m+1)/2⁵¹ − 2, exact. */
export function uniformFactor(digest: Uint8Array): number {
  return (2 * top52(digest) + 1) / TWO_POW_51 - 2;
}

/**
 * Laplace factor, mean absolute value 1: sign from the top bit of byte 7; |factor| = −ln(w)
 * for w uniform on (0, 1), split as w = 2^−(g+1)·(1+t): g = leading zero bits of bytes 8…15
 * (geometric), t = m/2⁵² — so −ln(w) = (g+1)·ln 2 − ln(1+t), exponential with mean 1.
 */
export function laplaceFactor(digest: Uint8Array): number {
  let g = 64;
  for (let i = 8; i < 16; i++) {
    const b = digest[i]!;
    if (b !== 0) {
      g = (i - 8) * 8 + Math.clz32(b) - 24;
      break;
    }
  }
  const sign = digest[7]! >= 128 ? -1 : 1;
  return sign * ((g + 1) * LN2 - ln1p(top52(digest) / TWO_POW_52));
}

function perturb(value: number, rowKey: string, key: Uint8Array, opts: NoiseOpts, factor: (digest: Uint8Array) => number): number {
  const magnitude = Math.abs(value);
  const relative = opts.relative !== undefined && opts.relative !== null;
  if (!(magnitude < NOISE_MAX_MAGNITUDE) || (relative && value !== 0 && magnitude < NOISE_MIN_MAGNITUDE)) return value;
  const f = factor(labelledDigest(key, 'noise', opts.column, rowKey));
  return relative ? value * (1 + opts.relative! * f) : value + opts.absolute! * f;
}

/**
 * relative: value × (1 + relative × uniformFactor(h)); absolute: value + absolute ×
 * uniformFactor(h); h = HMAC(key, 'noise' NUL column NUL rowKey). rowKey is the noise identity
 * the masked view builds (the raw value's text, ':' and the subject), so one subject's same
 * value in one column always gets the same noise: neither repeating a query nor averaging
 * the subject's repeated rows gains anything. NaN, ±Infinity, |value| ≥ 1e280 and, with a
 * relative scale, 0 < |value| < 1e-270 are returned unchanged: perturbing them could leave
 * the float8 range (overflow, or underflow to 0), where PostgreSQL raises an error and
 * JavaScript does not.
 */
export function noise(value: number, rowKey: string, key: Uint8Array, opts: NoiseOpts): number {
  return perturb(value, rowKey, key, opts, uniformFactor);
}

/** As noise(), with the Laplace factor. */
export function noiseLaplace(value: number, rowKey: string, key: Uint8Array, opts: NoiseOpts): number {
  return perturb(value, rowKey, key, opts, laplaceFactor);
}
