/**
 * JavaScript implementation of pgmask.age (plv8 runtime and TypeScript reference); must give
 * the same text as sql/age.sql. HIPAA Safe Harbor: ages over 89 are aggregated into "90".
 */
import { compareDays, daysInMonth, formatCivil, parseCivil, type CivilDateTime } from './civil-date.ts';

const NUMERIC = /^(-?)(\d+)(?:\.(\d+))?$/;

/** An age (numeric or int8 text): above 89 becomes 90, anything else is returned as it came. NaN and Infinity sort above every number in PostgreSQL, so they become 90 too. */
export function ageYears(value: string): string {
  if (value === 'NaN' || value === 'Infinity') return '90';
  const m = NUMERIC.exec(value);
  if (!m) return value; // -Infinity
  if (m[1] === '-') return value;
  const whole = BigInt(m[2]!);
  const above = whole > 89n || (whole === 89n && /[1-9]/.test(m[3] ?? ''));
  return above ? '90' : value;
}

/** The latest birth date of someone who is 90 on asOf: asOf − 90 years (29 February becomes the 28th, as in PostgreSQL). */
function ninetyYearsBefore(asOf: CivilDateTime): CivilDateTime {
  const year = asOf.year - 90;
  return { year, month: asOf.month, day: Math.min(asOf.day, daysInMonth(year, asOf.month)), time: null };
}

function birth(value: string, asOf: string, withTime: boolean): string {
  const reference = parseCivil(asOf);
  if (reference === null) throw new Error('age: as_of must be a finite date');
  const cutoff = ninetyYearsBefore(reference);
  const moved = formatCivil({ ...cutoff, time: withTime ? '00:00:00' : null });
  if (value === '-infinity') return moved;
  const d = parseCivil(value);
  if (d === null) return value;
  return compareDays(d, cutoff) <= 0 ? moved : value;
}

/** A birth date: someone 90 or older on asOf gets asOf − 90 years (exactly 90); younger people keep theirs. */
export function ageBirthDate(value: string, asOf: string): string {
  return birth(value, asOf, false);
}

/** As ageBirthDate for a timestamp: compared by calendar day; a moved value is midnight of asOf − 90 years. */
export function ageBirthTimestamp(value: string, asOf: string): string {
  return birth(value, asOf, true);
}
