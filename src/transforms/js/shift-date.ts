/**
 * JavaScript implementation of pgmask.shift_date_days (plv8 runtime and TypeScript reference);
 * must give the same integer as sql/shift_date.sql.
 *
 * Only the offset crosses into JavaScript: the masked view adds it to the date in SQL
 * (`value + days`, `value + make_interval(days => …)`), so date arithmetic, time zones,
 * infinity and BC dates are PostgreSQL's own in both runtimes.
 */
import { labelledDigest, readUint32 } from './labelled-digest.ts';

export interface ShiftDateOpts {
  readonly max_days: number;
  readonly keep_weekday?: boolean;
}

/**
 * The subject's offset in days: ±1…max_days, never 0 (with keep_weekday: ±7…7·floor(max_days/7)
 * in whole weeks). n = first 4 bytes of HMAC(key, 'shift_date' NUL subject) as an unsigned
 * integer, k = n mod 2·steps; k < steps gives −(k+1) steps, else k−steps+1 steps.
 */
export function shiftDateDays(subject: string, key: Uint8Array, opts: ShiftDateOpts): number {
  const unit = opts.keep_weekday === true ? 7 : 1;
  const steps = Math.floor(opts.max_days / unit);
  if (!(steps >= 1)) throw new Error(`shift_date: max_days ${opts.max_days} allows no shift${unit === 7 ? ' in whole weeks' : ''}`);
  const k = readUint32(labelledDigest(key, 'shift_date', subject), 0) % (2 * steps);
  return unit * (k < steps ? -(k + 1) : k - steps + 1);
}
