import { z } from 'zod';
import { jsonbLiteral } from '../sql/index.ts';
import { expr } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';

/**
 * Partial masking of text: keep the first N and last M characters (Unicode code points) and
 * replace every other one by a mask character, so the length stays visible but not the
 * content. A value no longer than N + M is masked whole (never shown entirely).
 * Presets: `email` keeps the first character of the local part and the domain;
 * `phone` keeps separators and the last four digits.
 *
 * @example
 *   card_number: { partial: { last: 4, mask: "#" } }       '4111111111111111' → '############1111'
 *   email: { partial: { preset: email } }                    'john.doe@example.com' → 'j*******@example.com'
 */
export const partial = defineTransform({
  name: 'partial',
  description: 'Keep the first N and last M characters and mask the rest (length kept); presets email and phone.',
  params: z
    .object({
      first: z.number().int().min(0).max(1000).optional().describe('characters kept at the start (default 0)'),
      last: z.number().int().min(0).max(1000).optional().describe('characters kept at the end (default 0)'),
      mask: z
        .string()
        .refine((s) => Array.from(s).length === 1, 'the mask is exactly one character')
        .optional()
        .describe('the character shown instead of each masked one (default *)'),
      preset: z.enum(['email', 'phone']).optional().describe('email: first character of the local part + domain; phone: last four digits + separators'),
    })
    .strict()
    .refine((p) => p.preset === undefined || (p.first === undefined && p.last === undefined), { message: 'a preset decides what is kept: remove first/last', path: ['preset'] }),
  types: ['text'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  render: ({ value, params }) => expr`pgmask.partial(${value}::text, ${jsonbLiteral(params)})`,
  sqlFile: 'partial.sql',
  plv8: [{ sqlName: 'partial', args: [['value', 'text'], ['opts', 'jsonb']], returns: 'text', js: 'partial' }],
  notes: [
    'Characters are Unicode code points in both runtimes (an emoji is one, a combining accent is one more). A value no longer than first + last is masked whole. email: no @ masks everything; the domain starts at the last @. phone: only ASCII digits are masked; four digits or fewer are all masked.',
  ],
  example: { rule: 'phone: { partial: { preset: phone } }', input: "'+1 (555) 123-4567'", output: "'+* (***) ***-4567'" },
});
