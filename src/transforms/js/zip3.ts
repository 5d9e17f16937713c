/**
 * JavaScript implementation of pgmask.zip3 (plv8 runtime and TypeScript reference); must give
 * the same text as sql/zip3.sql.
 */
import { zip3Restricted } from '../data/zip3-restricted.ts';

export interface Zip3Opts {
  readonly restricted?: readonly string[];
}

// linear: one anchored pass, the optional groups start with distinct characters
const US_ZIP = /^ *([0-9]{3})[0-9]{2}(?:-?[0-9]{4}| [0-9]{4})? *$/;

/**
 * A US ZIP code (5 digits or ZIP+4 as 12345-6789, 123456789 or "12345 6789", spaces around
 * allowed) becomes its first three digits + "00", or "00000" when the ZIP3 is restricted.
 * Anything else (short, non-digit, foreign postcodes) becomes NULL: a value that is not a ZIP
 * code cannot be generalized safely.
 */
export function zip3(value: string, opts: Zip3Opts | null): string | null {
  const m = US_ZIP.exec(value);
  if (!m) return null;
  const area = m[1]!;
  return (opts?.restricted ?? zip3Restricted).includes(area) ? '00000' : area + '00';
}
