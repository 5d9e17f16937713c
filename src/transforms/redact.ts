import { z } from 'zod';
import { literal, sql } from '../sql/index.ts';
import { defineTransform } from './transform.ts';
import { constant } from '../plan/expression.ts';

/**
 * Replaces every value by NULL, or by one typed constant (`{ redact: { value: "REDACTED" } }`).
 * The constant is cast to the column's type when the view is created, so a value that
 * does not fit the type fails the migration, not a query.
 */
export const redact = defineTransform({
  name: 'redact',
  description: 'Replace every value by NULL, or by a constant given as `value` (cast to the column type).',
  params: z
    .object({
      value: z
        .union([z.string(), z.number(), z.boolean()])
        .optional()
        .describe('constant shown instead of the value (default NULL)'),
    })
    .strict(),
  types: ['text', 'integer', 'numeric', 'float', 'date', 'timestamp', 'timestamptz', 'time', 'uuid', 'boolean', 'json', 'bytea', 'array', 'other'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  check({ column, params }) {
    if (typeof params.value === 'string' && column.family === 'integer' && !/^-?\d+$/.test(params.value)) {
      return [{ code: 'REDACT_VALUE_TYPE', message: `redact value ${JSON.stringify(params.value)} is not an integer but the column is ${column.sqlType}`, hint: 'give a value of the column type, or omit value for NULL' }];
    }
    return [];
  },
  // a constant: the source column is never read, so Postgres does not even fetch it
  render: ({ params }) => constant(params.value === undefined ? sql`NULL` : literal(typeof params.value === 'number' || typeof params.value === 'boolean' ? String(params.value) : params.value)),
  sqlFile: null,
  example: { rule: 'last_name: redact', input: "'Smith'", output: 'NULL' },
});
