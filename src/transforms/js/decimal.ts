/**
 * Exact decimal numbers as PostgreSQL's numeric sees them (an integer scaled by 10^-scale),
 * so the plv8 runtime computes on numeric text exactly as the sql runtime does, without the
 * rounding of float8. Reads PostgreSQL's numeric output and JavaScript's number text (which
 * may carry an exponent: 1e+21, 1.5e-7). NaN and ±Infinity are the callers' business.
 */
export interface Decimal {
  readonly unscaled: bigint;
  /** digits after the decimal point (numeric's display scale), ≥ 0 */
  readonly scale: number;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export function parseDecimal(text: string): Decimal {
  const m = DECIMAL_TEXT.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`not a finite decimal number: ${text.slice(0, 40)}`);
  const fraction = m[3] ?? '';
  let unscaled = BigInt((m[2] || '0') + fraction);
  let scale = fraction.length - Number(m[4] ?? 0);
  if (scale < 0) {
    unscaled *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { unscaled: m[1] === '-' ? -unscaled : unscaled, scale };
}

/** The decimal's unscaled value at a larger (or equal) scale. */
export function atScale(d: Decimal, scale: number): bigint {
  return d.unscaled * 10n ** BigInt(scale - d.scale);
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const s = Math.max(a.scale, b.scale);
  const x = atScale(a, s);
  const y = atScale(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** numeric's text output: no exponent, exactly `scale` digits after the point. */
export function formatDecimal(d: Decimal): string {
  const negative = d.unscaled < 0n;
  let digits = (negative ? -d.unscaled : d.unscaled).toString();
  if (d.scale > 0) {
    while (digits.length <= d.scale) digits = '0' + digits;
    digits = `${digits.slice(0, digits.length - d.scale)}.${digits.slice(digits.length - d.scale)}`;
  }
  return (negative ? '-' : '') + digits;
}
