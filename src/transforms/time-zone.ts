import { z } from 'zod';
import { literal } from '../sql/index.ts';
import { expr } from '../plan/expression.ts';
import type { Expr } from '../plan/nodes.ts';

/**
 * The `time_zone` parameter of the date transforms. A timestamptz is an instant; "the same
 * time of day" and "the first day of the month" only mean something on a wall clock, and the
 * session's TimeZone differs between analysts. So a timestamptz is converted to the wall
 * clock of this fixed zone, transformed as a timestamp, and converted back
 * (`timezone(text, timestamptz)` is IMMUTABLE): the result does not depend on the session,
 * keeps the local time of day in this zone across DST changes, and is computed by PostgreSQL
 * in both runtimes. A wall-clock time that does not exist on the target day (spring forward)
 * is read as PostgreSQL reads it (standard time, one hour later on the clock).
 */
export const timeZoneParam = z
  .string()
  .max(64)
  .regex(/^[A-Za-z][A-Za-z0-9_+\-/]*$/, 'a time zone name such as UTC or Europe/Berlin')
  .optional()
  .describe('timestamptz columns: the IANA zone whose wall clock is kept (default UTC); set it to the zone the data was recorded in');

/** `((value AT TIME ZONE tz) ⟨local⟩) AT TIME ZONE tz` for a timestamptz value. */
export function inTimeZone(value: Expr, zone: string | undefined, local: (wallClock: Expr) => Expr): Expr {
  const tz = literal(zone ?? 'UTC');
  // parenthesized: AT TIME ZONE binds tighter than the + or call that local() builds
  return expr`((${local(expr`(${value} AT TIME ZONE ${tz})`)}) AT TIME ZONE ${tz})`;
}
