/**
 * JavaScript implementation of pgmask.partial (plv8 runtime and TypeScript reference); must give
 * the same text as sql/partial.sql. Lengths count Unicode code points, as PostgreSQL's
 * char_length/left/right do in a UTF-8 database (an astral character is one, a combining
 * mark is one more), never UTF-16 units.
 */
export interface PartialOpts {
  readonly first?: number;
  readonly last?: number;
  /** one code point (default '*') */
  readonly mask?: string;
  readonly preset?: 'email' | 'phone';
}

/** first and last code points kept, the rest masked one for one; a value no longer than first + last is masked whole, so it is never shown entirely. */
export function keepEnds(value: string, first: number, last: number, mask: string): string {
  const chars = Array.from(value);
  const n = chars.length;
  if (n <= first + last) return mask.repeat(n);
  return chars.slice(0, first).join('') + mask.repeat(n - first - last) + chars.slice(n - last).join('');
}

/** email: the first character of the local part and the whole domain (from the last @); no @ masks everything. */
function maskEmail(value: string, mask: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return keepEnds(value, 0, 0, mask);
  return keepEnds(value.slice(0, at), 1, 0, mask) + value.slice(at);
}

/** phone: every ASCII digit but the last four masked, separators kept; four digits or fewer are all masked. */
function maskPhone(value: string, mask: string): string {
  let digits = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  const masked = digits <= 4 ? digits : digits - 4;
  let out = '';
  let seen = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57 && seen++ < masked) out += mask;
    else out += value[i];
  }
  return out;
}

export function partial(value: string, opts: PartialOpts | null): string {
  const mask = opts?.mask ?? '*';
  if (opts?.preset === 'email') return maskEmail(value, mask);
  if (opts?.preset === 'phone') return maskPhone(value, mask);
  return keepEnds(value, opts?.first ?? 0, opts?.last ?? 0, mask);
}
