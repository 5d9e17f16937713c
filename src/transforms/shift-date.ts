import { z } from 'zod';
import { jsonbLiteral, sql } from '../sql/index.ts';
import { defineTransform } from './transform.ts';
import { inTimeZone, timeZoneParam } from './time-zone.ts';

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
  check({ subjectColumn, column }) {
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
    const days = sql`pgmask.shift_date_days(${subject}, ${key}, ${opts})`;
    switch (column.family) {
      case 'date':
        return sql`(${value} + ${days})`;
      case 'timestamptz':
        return inTimeZone(value, params.time_zone, (local) => sql`${local} + make_interval(days => ${days})`);
      default:
        return sql`(${value} + make_interval(days => ${days}))`;
    }
  },
  sqlFile: 'shift_date.sql',
  plv8: [{ sqlName: 'shift_date_days', args: [['subject', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'int4', js: 'shift_date_days' }],
  example: { rule: 'admitted_at: { shift_date: { max_days: 30 } }', input: "'2024-03-10 08:15' (patient P1)", output: "'2024-03-27 08:15' (every date of P1 moves +17 days)" },
});
