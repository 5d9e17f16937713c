import { z } from 'zod';
import { jsonbLiteral, literal, sql } from '../sql/index.ts';
import { expr } from '../plan/expression.ts';
import type { Expr } from '../plan/nodes.ts';
import { defineTransform } from './transform.ts';
import { inTimeZone, timeZoneParam } from './time-zone.ts';
import { daysInMonth } from './js/civil-date.ts';

function isCalendarDate(text: string): boolean {
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/**
 * HIPAA Safe Harbor ages. An age column (integer, numeric, float): values above 89 become 90.
 * A birth-date column (date, timestamp, timestamptz): people 90 or older on the reference
 * date get the birth date `as_of − 90 years`, so they all show exactly 90; younger people
 * keep theirs.
 *
 * The reference date is `as_of` when the policy gives one (the view is then IMMUTABLE and
 * reproducible). Without it the view passes today's date on the wall clock of `time_zone`
 * (`(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date`): the SQL functions are IMMUTABLE and
 * cannot call now() themselves, so the view, not the function, is STABLE, and its output
 * changes when the date changes (the same for every session, whatever its TimeZone).
 *
 * @example
 *   birth_date: { age: { as_of: "2025-01-01" } }
 *   -- pgmask.age(src."birth_date", '2025-01-01'::date)      '1930-05-02' → '1935-01-01'
 */
export const age = defineTransform({
  name: 'age',
  description: 'Safe Harbor ages: an age above 89 becomes 90; a birth date of someone 90 or older (on as_of, default today) moves to make them exactly 90.',
  params: z
    .object({
      as_of: z
        .string()
        .regex(/^\d{4}-\d\d-\d\d$/, 'a date as YYYY-MM-DD')
        .optional()
        .describe('birth dates: the reference date as YYYY-MM-DD (default: today, which makes the view depend on the current date)'),
      time_zone: timeZoneParam,
      year_only: z
        .boolean()
        .optional()
        .describe('birth dates: also reduce every (capped) birth date to 1 January of its year, as Safe Harbor requires (no date element but the year)'),
    })
    .strict(),
  types: ['integer', 'numeric', 'float', 'date', 'timestamp', 'timestamptz'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  check({ column, params }) {
    const isDate = column.family === 'date' || column.family === 'timestamp' || column.family === 'timestamptz';
    if (!isDate && (params.as_of !== undefined || params.time_zone !== undefined || params.year_only !== undefined)) {
      return [{ code: 'AGE_PARAM_TYPE', message: `as_of, time_zone and year_only apply to birth dates, but ${column.name} is ${column.sqlType} (an age in years)`, hint: 'remove them for an age column' }];
    }
    if (params.as_of !== undefined && !isCalendarDate(params.as_of)) {
      return [{ code: 'AGE_AS_OF', message: `as_of ${params.as_of} is not a calendar date`, hint: 'write the date as YYYY-MM-DD' }];
    }
    return [];
  },
  render({ value, column, params }) {
    const tz = literal(params.time_zone ?? 'UTC');
    const asOf = params.as_of !== undefined ? sql`${literal(params.as_of)}::date` : sql`(CURRENT_TIMESTAMP AT TIME ZONE ${tz})::date`;
    // year_only composes with generalize_date (both runtimes have it), so no third implementation is needed
    const capped = (v: Expr) => (params.year_only ? expr`pgmask.generalize_date(pgmask.age(${v}, ${asOf}), ${jsonbLiteral({ to: 'year' })})` : expr`pgmask.age(${v}, ${asOf})`);
    switch (column.family) {
      case 'date':
      case 'timestamp':
        return capped(value);
      case 'timestamptz':
        return inTimeZone(value, params.time_zone, capped);
      default:
        return expr`pgmask.age(${value}::numeric)`;
    }
  },
  sqlFile: 'age.sql',
  plv8: [
    { sqlName: 'age', args: [['value', 'numeric']], returns: 'numeric', js: 'age_years' },
    { sqlName: 'age', args: [['value', 'date'], ['as_of', 'date']], returns: 'date', js: 'age_birth_date' },
    { sqlName: 'age', args: [['value', 'timestamp'], ['as_of', 'date']], returns: 'timestamp', js: 'age_birth_timestamp' },
  ],
  notes: [
    'Age columns: a value above 89 (including 89.5, NaN and Infinity) becomes 90; others are unchanged.',
    'Birth dates: born on or before as_of − 90 years → as_of − 90 years (everyone 90 or older shows exactly 90); timestamps are compared by calendar day and a moved one is midnight.',
    'year_only: true (birth dates) also reduces every birth date, capped or not, to 1 January of its year: with it the rule alone meets Safe Harbor for a birth date.',
    'Without as_of the view uses today on the wall clock of `time_zone` (default UTC): the transform functions are IMMUTABLE and get the date as an argument, so the view is STABLE and its output changes when the date changes. Give as_of for reproducible releases.',
  ],
  example: { rule: 'birth_date: { age: { as_of: "2025-01-01" } }', input: "'1930-05-02'", output: "'1935-01-01' (shown as 90; people under 90 unchanged)" },
});
