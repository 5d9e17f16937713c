import { z } from 'zod';
import { jsonbLiteral } from '../sql/index.ts';
import { cast, constant, transformCall } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';

const DEFAULT_BYTES = 10;

/**
 * Keyed pseudonym: prefix + lowercase hex of the first `length` bytes (default 10)
 * of HMAC-SHA256(key, UTF-8 bytes of the value). Same value and key give the same
 * token in every table, database and runtime, so joins on pseudonyms work; a
 * different key name gives an unlinkable pseudonym domain.
 *
 * Integer columns (int2/int4/int8) get a keyed permutation of the type's range (a
 * Feistel network with HMAC-SHA256 rounds, sql/pseudonymize.sql): same type, no two
 * values collide, joins on pseudonymized integer keys still work as long as both
 * columns have the same integer type (each width is its own permutation).
 * uuid columns map to a version-4-looking uuid derived from HMAC-SHA256.
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
  types: ['text', 'integer', 'uuid'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  check({ column, params }) {
    if (column.family !== 'text') {
      if (params.prefix !== undefined || params.length !== undefined) {
        return [
          {
            code: 'PSEUDONYM_PARAMS_TEXT_ONLY',
            message: `prefix and length apply to text pseudonyms, but column ${column.name} is ${column.sqlType} and keeps its type`,
            hint: 'remove prefix/length, or cast the column to text in a view of your own',
          },
        ];
      }
      return [];
    }
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
  render: ({ value, key, params, column }) => {
    switch (column.family === 'integer' ? column.typeName : column.family) {
      case 'int2':
        return transformCall('pseudonymize_int2', cast(value, 'int2'), key, constant(jsonbLiteral(params)));
      case 'int4':
        return transformCall('pseudonymize_int4', cast(value, 'int4'), key, constant(jsonbLiteral(params)));
      case 'int8':
        return transformCall('pseudonymize_int8', cast(value, 'int8'), key, constant(jsonbLiteral(params)));
      case 'uuid':
        return transformCall('pseudonymize_uuid', cast(value, 'uuid'), key, constant(jsonbLiteral(params)));
      default:
        return transformCall('pseudonymize', cast(value, 'text'), key, constant(jsonbLiteral(params)));
    }
  },
  sqlFile: 'pseudonymize.sql',
  plv8: [
    { sqlName: 'pseudonymize', args: [['value', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'text', js: 'pseudonymize_text' },
    { sqlName: 'pseudonymize_int2', args: [['value', 'int2'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'int2', js: 'pseudonymize_int2' },
    { sqlName: 'pseudonymize_int4', args: [['value', 'int4'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'int4', js: 'pseudonymize_int4' },
    { sqlName: 'pseudonymize_int8', args: [['value', 'int8'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'int8', js: 'pseudonymize_int8' },
    { sqlName: 'pseudonymize_uuid', args: [['value', 'uuid'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'uuid', js: 'pseudonymize_uuid' },
  ],
  example: { rule: 'mrn: { pseudonymize: { prefix: "MRN-" } }', input: "'A1234'", output: "'MRN-3f9c0a…' (20 hex characters)" },
});
