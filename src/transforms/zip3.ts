import { z } from 'zod';
import { jsonbLiteral, literal, sql } from '../sql/index.ts';
import { cast, constant, expr, transformCall } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';
import { ZIP3_RESTRICTED_VERSION, zip3Restricted } from './data/zip3-restricted.ts';

/**
 * HIPAA Safe Harbor ZIP codes: the first three digits followed by 00, and 00000 for the
 * sparsely populated ZIP3 areas (versioned list, replaceable in the policy). Text columns
 * only: a ZIP code stored as an integer has already lost its leading zeros (02115 → 2115),
 * so its first three digits are not its ZIP3. Values that are not a 5-digit or ZIP+4 code
 * become NULL. The view always passes the list it uses, so the view text shows it (sql runtime: as a
 * constant text[] to the inlinable pgmask._zip3; plv8: in the jsonb options).
 *
 * @example
 *   zip: zip3
 *   -- pgmask._zip3(src."zip"::text, '{036,059,…}'::text[])      '02115-1234' → '02100', '03601' → '00000'
 */
export const zip3 = defineTransform({
  name: 'zip3',
  description: `Keep the first three digits of a US ZIP code followed by 00 (00000 for restricted ZIP3 areas, list ${ZIP3_RESTRICTED_VERSION}); anything not a ZIP code becomes NULL. Text columns only.`,
  params: z
    .object({
      restricted: z
        .array(z.string().regex(/^[0-9]{3}$/, 'a ZIP3 is three digits'))
        .max(1000)
        .optional()
        .describe(`ZIP3 areas shown as 00000, replacing the built-in list (${ZIP3_RESTRICTED_VERSION}: ${zip3Restricted.join(', ')})`),
    })
    .strict(),
  types: ['text'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  check({ column }) {
    const m = /^(?:character varying|character)\((\d+)\)$/.exec(column.sqlType);
    if (m && Number(m[1]) < 5) {
      return [{ code: 'ZIP3_COLUMN_TOO_SHORT', message: `zip3 gives 5 characters but column ${column.name} is ${column.sqlType}`, hint: 'redact the column, or store ZIP codes in a text column' }];
    }
    return [];
  },
  render: ({ value, params, runtime }) => {
    const restricted = params.restricted ?? zip3Restricted;
    if (runtime === 'plv8') return expr`pgmask.zip3(${value}::text, ${jsonbLiteral({ restricted })})`;
    // each entry is three digits (the params schema), so the array literal needs no quoting inside
    return transformCall('_zip3', cast(value, 'text'), constant(sql`${literal(`{${restricted.join(',')}}`)}::text[]`));
  },
  sqlFile: 'zip3.sql',
  plv8: [{ sqlName: 'zip3', args: [['value', 'text'], ['opts', 'jsonb']], returns: 'text', js: 'zip3' }],
  notes: [
    'Accepted: 5 digits, or ZIP+4 as 12345-6789, 123456789 or "12345 6789", with spaces around. Anything else (short codes, letters, foreign postcodes, non-ASCII digits) becomes NULL rather than a guess.',
    'A restricted ZIP3 gives 00000 (the first three digits replaced by 000, followed by 00). The view carries the list it uses; `restricted:` replaces the built-in list.',
  ],
  example: { rule: 'zip: zip3', input: "'02115-1234', '03601'", output: "'02100', '00000'" },
});
