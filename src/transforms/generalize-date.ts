import { z } from 'zod';
import { jsonbLiteral } from '../sql/index.ts';
import { expr } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';
import { inTimeZone, timeZoneParam } from './time-zone.ts';

/**
 * Coarsens a date to the first day of its year, quarter or month; the column keeps its type
 * (a timestamp becomes midnight of that day). No key: the result is public knowledge.
 * timestamptz values are truncated on the wall clock of `time_zone` (default UTC), so the
 * result does not depend on the analyst's session.
 *
 * @example
 *   birth_date: { generalize_date: { to: year } }
 *   -- pgmask.generalize_date(src."birth_date", '{"to":"year"}'::jsonb)        '1961-07-14' → '1961-01-01'
 */
export const generalizeDate = defineTransform({
  name: 'generalize_date',
  description: 'Replace a date by the first day of its year, quarter or month (type kept; timestamps become midnight).',
  params: z
    .object({
      to: z.enum(['year', 'quarter', 'month']).describe('the period: year, quarter or month (required)'),
      time_zone: timeZoneParam,
    })
    .strict(),
  types: ['date', 'timestamp', 'timestamptz'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  render({ value, column, params }) {
    const opts = jsonbLiteral({ to: params.to });
    if (column.family === 'timestamptz') return inTimeZone(value, params.time_zone, (local) => expr`pgmask.generalize_date(${local}, ${opts})`);
    return expr`pgmask.generalize_date(${value}, ${opts})`;
  },
  sqlFile: 'generalize_date.sql',
  plv8: [
    { sqlName: 'generalize_date', args: [['value', 'date'], ['opts', 'jsonb']], returns: 'date', js: 'generalize_date' },
    { sqlName: 'generalize_date', args: [['value', 'timestamp'], ['opts', 'jsonb']], returns: 'timestamp', js: 'generalize_date' },
  ],
  notes: ['timestamptz: truncated on the wall clock of `time_zone` (default UTC), so "the first of the month" is midnight in that zone whatever the session TimeZone. infinity stays infinity.'],
  example: { rule: 'birth_date: { generalize_date: { to: quarter } }', input: "'1961-08-14'", output: "'1961-07-01'" },
});
