/**
 * JavaScript implementation of pgmask.generalize_date (plv8 runtime and TypeScript reference);
 * must give the same text as sql/generalize_date.sql (date_trunc on the timestamp).
 * Dates and timestamps arrive and leave as PostgreSQL text; infinity stays infinity.
 */
import { formatCivil, parseCivil } from './civil-date.ts';

export type DatePeriod = 'year' | 'quarter' | 'month';

export interface GeneralizeDateOpts {
  readonly to: DatePeriod;
}

/** The first day of the value's year, quarter or month; a timestamp also loses its time of day. */
export function generalizeDate(value: string, opts: GeneralizeDateOpts): string {
  const d = parseCivil(value);
  if (d === null) return value;
  const month = opts.to === 'year' ? 1 : opts.to === 'quarter' ? Math.floor((d.month - 1) / 3) * 3 + 1 : opts.to === 'month' ? d.month : NaN;
  if (Number.isNaN(month)) throw new Error(`generalize_date: unknown period ${String(opts.to)}`);
  return formatCivil({ year: d.year, month, day: 1, time: d.time === null ? null : '00:00:00' });
}
