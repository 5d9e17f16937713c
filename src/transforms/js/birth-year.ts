/**
 * JavaScript implementation of pgmask.birth_year (plv8 runtime and TypeScript reference); must give
 * the same text as sql/birth_year.sql.
 */
import { parseCivil } from './civil-date.ts';

/** A birth year (int8 as text): at or before year(asOf) − 90 becomes year(asOf) − 90 (the one top-coded year); later years are kept. */
export function birthYear(value: string, asOf: string): string {
  const reference = parseCivil(asOf);
  if (reference === null) throw new Error('birth_year: as_of must be a finite date');
  const cutoff = BigInt(reference.year - 90);
  const year = BigInt(value);
  return (year <= cutoff ? cutoff : year).toString();
}
