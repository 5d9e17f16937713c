import { z } from 'zod';
import { jsonbLiteral } from '../sql/index.ts';
import { constant, expr, transformCall } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';
import { inTimeZone, timeZoneParam } from './time-zone.ts';
import { shiftDateDays } from './js/shift-date.ts';
import { SESSION_STABLE_TEXT } from './session-stable-text.ts';

/** the docs example, computed: patient P1 under an all-zero key */
const exampleDays = shiftDateDays('P1', new Uint8Array(32), { max_days: 30 });
const exampleShifted = new Date(Date.UTC(2024, 2, 10, 8, 15) + exampleDays * 86_400_000).toISOString().slice(0, 16).replace('T', ' ');

/**
 * Per-subject date shift: every date of one subject (patient) moves by the same keyed
 * offset of ±1…max_days days (never 0), in every table, so intervals within a subject are
 * kept while calendar dates are hidden. The offset comes from
 * `pgmask.shift_date_days(subject, key, opts)` (HMAC of the subject's value); the view adds
 * it in SQL, keeping the time of day. A row whose subject is NULL gets NULL.
 *
 * @example
 *   admitted_at: { shift_date: { max_days: 30 } }
 *   -- date:        (src."admitted_on" + pgmask.shift_date_days(src."patient_id"::text, (SELECT …key…), '{"max_days":30}'::jsonb))
 *   -- timestamptz: (((src."admitted_at" AT TIME ZONE 'UTC') + make_interval(days => pgmask.shift_date_days(…))) AT TIME ZONE 'UTC')
 */
export const shiftDate = defineTransform({
  name: 'shift_date',
  description: 'Move every date of one subject by the same keyed offset of ±1…max_days days (never 0); intervals within a subject are kept.',
  params: z
    .object({
      max_days: z.number().int().min(1).max(3650).describe('largest shift in days, either way (required)'),
      keep_weekday: z.boolean().optional().describe('shift by whole weeks (±1…floor(max_days/7) weeks) so the weekday is kept'),
      time_zone: timeZoneParam,
    })
    .strict()
    .refine((p) => p.keep_weekday !== true || p.max_days >= 7, { message: 'keep_weekday shifts by whole weeks: max_days must be at least 7', path: ['max_days'] }),
  types: ['date', 'timestamp', 'timestamptz'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  check({ subjectColumn, column, table }) {
    const subject = subjectColumn === null ? undefined : table.columns.find((c) => c.name === subjectColumn);
    if (subject && !SESSION_STABLE_TEXT.has(subject.family)) {
      return [
        {
          code: 'SHIFT_DATE_SUBJECT_TYPE',
          message: `the subject column ${subject.name} is ${subject.sqlType}, whose text form depends on session settings (DateStyle, TimeZone, extra_float_digits), so the same subject would get different offsets in different sessions`,
          hint: 'use an identifier column (text, integer, numeric or uuid) as the subject',
        },
      ];
    }
    if (subjectColumn === null) {
      return [
        {
          code: 'SHIFT_DATE_NO_SUBJECT',
          message: `shift_date on ${column.name} needs a subject column (whose dates move together), and none is in effect for this table`,
          hint: 'set `subject:` at the top of the policy or on this table to a column that identifies the person (e.g. patient_id)',
        },
      ];
    }
    return [];
  },
  render({ value, column, params, key, subject }) {
    if (subject === null) throw new Error('shift_date rendered without a subject column (check() refuses this)');
    const opts = jsonbLiteral({ max_days: params.max_days, ...(params.keep_weekday === true ? { keep_weekday: true } : {}) });
    // a call node (not text): the view computes it once per subject (src/plan/render.ts, subjectOnce)
    const days = transformCall('shift_date_days', subject, key, constant(opts));
    switch (column.family) {
      case 'date':
        return expr`(${value} + ${days})`;
      case 'timestamptz':
        // UTC has no DST: a day there is exactly 24 hours, so the instant moves by 24·d hours, with no
        // round trip through the zone (the same result, ~10% faster on a date-heavy query)
        if ((params.time_zone ?? 'UTC') === 'UTC') return expr`(${value} + make_interval(hours => 24 * ${days}))`;
        return inTimeZone(value, params.time_zone, (local) => expr`${local} + make_interval(days => ${days})`);
      default:
        return expr`(${value} + make_interval(days => ${days}))`;
    }
  },
  sqlFile: 'shift_date.sql',
  plv8: [{ sqlName: 'shift_date_days', args: [['subject', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'int4', js: 'shift_date_days' }],
  notes: [
    'The offset is HMAC-SHA256(key, "shift_date" NUL subject) mapped onto ±1…max_days (never 0), or whole weeks with keep_weekday. The subject column is the policy\'s `subject` (or the table\'s); a table without one is refused. A row whose subject is NULL shows NULL.',
    'Only the offset is computed by the transform (`pgmask.shift_date_days`); the view adds it in SQL, so infinity stays infinity and dates past the end of PostgreSQL\'s range fail as they would in SQL.',
    'timestamptz: shifted on the wall clock of `time_zone` (default UTC) and converted back, so the local time of day in that zone is kept across DST changes and the result does not depend on the session TimeZone. A wall-clock time that does not exist on the target day (spring forward) moves one hour later, as PostgreSQL reads it.',
  ],
  example: {
    rule: 'admitted_at: { shift_date: { max_days: 30 } }',
    input: "'2024-03-10 08:15' (patient P1)",
    output: `'${exampleShifted}' (every date of P1 moves ${exampleDays > 0 ? '+' : ''}${exampleDays} days; all-zero key)`,
  },
});
