import { z } from 'zod';
import { defineTransform } from './transform.ts';

/** Passes the raw value through. The only way a raw value reaches an analyst, so it is always explicit. */
export const keep = defineTransform({
  name: 'keep',
  description: 'Expose the raw value unchanged (an explicit, reviewed decision).',
  params: z.object({}).strict(),
  types: ['text', 'integer', 'numeric', 'float', 'date', 'timestamp', 'timestamptz', 'time', 'uuid', 'boolean', 'json', 'bytea', 'array', 'other'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  render: (ctx) => ctx.value,
  sqlFile: null,
  example: { rule: 'sex: keep', input: "'F'", output: "'F'" },
});
