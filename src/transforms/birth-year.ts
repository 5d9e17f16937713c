import { z } from 'zod';
import { literal, sql } from '../sql/index.ts';
import { expr } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';
import { timeZoneParam } from './time-zone.ts';
import { daysInMonth } from './js/civil-date.ts';

function isCalendarDate(text: string): boolean {
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/**
 * HIPAA Safe Harbor birth years, for integer year columns (OMOP `person.year_of_birth`): a year
 * that allows an age of 90 or more on the reference date (year ≤ year(as_of) − 90) becomes
 * year(as_of) − 90, so everyone 90 or older shares one top-coded year and every later year is
 * kept. `age` would be wrong here: it caps ages, and every year is "over 89".
 *
 * The reference date is `as_of` when given (reproducible releases); otherwise today on the wall
 * clock of `time_zone`, as for `age` (the view, not the function, then depends on the date).
 *
 * @example
 *   year_of_birth: { birth_year: { as_of: "2025-01-01" } }
 *   -- pgmask.birth_year(src."year_of_birth"::int8, '2025-01-01'::date)      1931 → 1935, 1950 → 1950
 */
export const birthYear = defineTransform({
  name: 'birth_year',
  description: 'Safe Harbor birth years: a year implying an age of 90 or more on as_of (default today) becomes year(as_of) − 90, one top-coded year; later years are kept.',
  params: z
    .object({
      as_of: z.string().regex(/^\d{4}-\d\d-\d\d$/, 'a date as YYYY-MM-DD').optional().describe('the reference date as YYYY-MM-DD (default: today, which makes the view depend on the current date)'),
      time_zone: timeZoneParam,
    })
    .strict(),
  types: ['integer'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  check({ params }) {
    if (params.as_of !== undefined && !isCalendarDate(params.as_of)) {
      return [{ code: 'BIRTH_YEAR_AS_OF', message: `as_of ${params.as_of} is not a calendar date`, hint: 'write the date as YYYY-MM-DD' }];
    }
    return [];
  },
  render({ value, params }) {
    const asOf = params.as_of !== undefined ? sql`${literal(params.as_of)}::date` : sql`(CURRENT_TIMESTAMP AT TIME ZONE ${literal(params.time_zone ?? 'UTC')})::date`;
    return expr`pgmask.birth_year(${value}::int8, ${asOf})`;
  },
  sqlFile: 'birth_year.sql',
  plv8: [{ sqlName: 'birth_year', args: [['value', 'int8'], ['as_of', 'date']], returns: 'int8', js: 'birth_year' }],
  notes: [
    'A year at or before year(as_of) − 90 becomes year(as_of) − 90: with as_of 2025-01-01, 1935 and every earlier year show 1935 ("90 or older"). Someone born late in 1935 is 89 on 2025-01-01: the cap errs on the side of hiding.',
    'The output keeps the column type; a small integer column (int2) holds any year the cap can produce.',
    'Without as_of the view uses today on the wall clock of `time_zone` (default UTC), like `age`. Give as_of for reproducible releases.',
  ],
  example: { rule: 'year_of_birth: { birth_year: { as_of: "2025-01-01" } }', input: '1931, 1935, 1950', output: '1935, 1935, 1950' },
});
