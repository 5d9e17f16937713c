import { z } from 'zod';
import { jsonbLiteral, sql } from '../sql/index.ts';
import { defineTransform } from './transform.ts';

const DEFAULT_BYTES = 10;

/**
 * Keyed pseudonym: prefix + lowercase hex of the first `length` bytes (default 10)
 * of HMAC-SHA256(key, UTF-8 bytes of the value). Same value and key give the same
 * token in every table, database and runtime, so joins on pseudonyms work; a
 * different key name gives an unlinkable pseudonym domain.
 *
 * @example
 *   mrn: { pseudonymize: { prefix: "MRN-" } }
 *   -- pgmask.pseudonymize(src."mrn"::text, (SELECT key FROM pgmask_private.keys WHERE name = 'default'), '{"prefix":"MRN-"}'::jsonb)
 */
export const pseudonymize = defineTransform({
  name: 'pseudonymize',
  description: 'Keyed pseudonym: prefix + hex of HMAC-SHA256(key, value); same input and key give the same token everywhere.',
  params: z
    .object({
      prefix: z.string().max(32).optional().describe('text put in front of the token'),
      length: z.number().int().min(8).max(32).optional().describe(`token length in bytes of the HMAC (hex doubles it); default ${DEFAULT_BYTES}`),
    })
    .strict(),
  types: ['text'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  check({ column, params }) {
    const tokenChars = (params.prefix?.length ?? 0) + 2 * (params.length ?? DEFAULT_BYTES);
    const m = /^(?:character varying|character)\((\d+)\)$/.exec(column.sqlType);
    if (m && Number(m[1]) < tokenChars) {
      return [
        {
          code: 'PSEUDONYM_TOO_LONG',
          message: `a pseudonym is ${tokenChars} characters but column ${column.name} is ${column.sqlType}: casting back would cut tokens and make them collide`,
          hint: 'use a shorter prefix or length, or redact the column',
        },
      ];
    }
    return [];
  },
  render: ({ value, key, params }) => sql`pgmask.pseudonymize(${value}::text, ${key}, ${jsonbLiteral(params)})`,
  sqlFile: 'pseudonymize.sql',
  example: { rule: 'mrn: { pseudonymize: { prefix: "MRN-" } }', input: "'A1234'", output: "'MRN-3f9c0a…' (20 hex characters)" },
});
