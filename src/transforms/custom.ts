/**
 * Custom transforms: TypeScript files in the user's repository that define masking
 * functions with `defineCustomTransform` (imported as `pgmask`). They are type-checked
 * against PLV8's globals (ES2020 library, no DOM, no Node types), bundled into the PLV8
 * runtime next to the built-ins and used by a policy like a built-in. They are plv8-only.
 * This file turns a loaded `defineCustomTransform(…)` value into a TransformDefinition;
 * src/runtime/load-custom-transforms.ts reads, type-checks and bundles the files.
 */
import { z } from 'zod';
import { jsonbLiteral, ident, trustedSqlText } from '../sql/index.ts';
import { expr } from '../plan/expression.ts';
import { PgmaskError, ExitCode } from '../errors.ts';
import type { TypeFamily } from '../catalog/catalog-snapshot.ts';
import type { Plv8Signature } from './transform.ts';
import type { CustomTransformDefinition } from './custom-transform-definition.ts';
import type { CustomParamSpec, CustomTransform, CustomValueFamily } from './define-custom-transform.ts';

export { defineCustomTransform } from './define-custom-transform.ts';
export type { CustomTransform, CustomTransformSpec, CustomParamSpec, CustomValueFamily } from './define-custom-transform.ts';
export type { CustomTransformDefinition } from './custom-transform-definition.ts';

/** SQL type of the function argument and result for each family (see CustomValueFamily). */
const SQL_TYPE: Readonly<Record<CustomValueFamily, string>> = {
  text: 'text',
  integer: 'float8',
  numeric: 'float8',
  float: 'float8',
  boolean: 'boolean',
  json: 'jsonb',
  bytea: 'bytea',
  date: 'date',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
};

function invalid(file: string, message: string): PgmaskError {
  return new PgmaskError({ code: 'CUSTOM_TRANSFORM_INVALID', message: `${file}: ${message}`, hint: 'see defineCustomTransform in the pgmask docs', exitCode: ExitCode.usage });
}

/** The TransformDefinition of one `defineCustomTransform(…)` value exported by `file` (checked: name, description, fn, types, params). */
export function customTransformDefinition(custom: CustomTransform, file: string): CustomTransformDefinition<any> {
  const { name, description, fn } = custom;
  const types: readonly string[] = Array.isArray(custom.types) ? custom.types : [];
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw invalid(file, `name ${JSON.stringify(name)} must be snake_case (at most 41 characters)`);
  if (typeof description !== 'string' || description.length === 0) throw invalid(file, `custom transform ${name} needs a description`);
  if (typeof fn !== 'function') throw invalid(file, `custom transform ${name}: fn must be a function`);
  if (types.length === 0 || !types.every((t) => Object.hasOwn(SQL_TYPE, t))) {
    throw invalid(file, `custom transform ${name}: types must be a non-empty list of ${Object.keys(SQL_TYPE).join(', ')}`);
  }
  const sqlName = `custom_${name}`;
  const sqlTypes = [...new Set(types.map((t) => SQL_TYPE[t as CustomValueFamily]))];
  const plv8: Plv8Signature[] = sqlTypes.map((type) => ({ sqlName, args: [['value', type], ['params', 'jsonb']], returns: type, js: sqlName }));
  const params = paramsSchema(custom, file);
  const def: CustomTransformDefinition<any> = {
    name,
    description,
    params,
    types: types as readonly TypeFamily[],
    runtimes: ['plv8'] as const,
    immutable: true,
    usesKey: false,
    render: ({ value, params: p, column }) => {
      const type = SQL_TYPE[column.family as CustomValueFamily] ?? 'text';
      return expr`${ident('pgmask', sqlName)}(${value}::${trustedSqlText(type)}, ${jsonbLiteral(p)})`;
    },
    sqlFile: null,
    plv8,
    sourceFile: file,
  };
  return Object.freeze(def);
}

/** The params schema: a zod-like schema as given, or a strict zod object built from the JSON-Schema-style map. */
function paramsSchema(custom: CustomTransform, file: string): z.ZodType<Record<string, unknown>> {
  const spec = custom.params;
  if (spec === undefined) return z.object({}).strict();
  if (typeof (spec as { safeParse?: unknown }).safeParse === 'function') return spec as unknown as z.ZodType<Record<string, unknown>>;
  const shape: Record<string, z.ZodType> = {};
  for (const [key, p] of Object.entries(spec as Record<string, CustomParamSpec>)) {
    let s: z.ZodType;
    switch (p.type) {
      case 'string':
        s = p.enum ? z.enum(p.enum.map(String) as [string, ...string[]]) : z.string();
        break;
      case 'number':
      case 'integer': {
        let n = p.type === 'integer' ? z.number().int() : z.number();
        if (p.minimum !== undefined) n = n.min(p.minimum);
        if (p.maximum !== undefined) n = n.max(p.maximum);
        s = n;
        break;
      }
      case 'boolean':
        s = z.boolean();
        break;
      default:
        throw invalid(file, `custom transform ${custom.name}: parameter ${key} has unknown type ${JSON.stringify((p as { type: unknown }).type)}`);
    }
    if (p.description) s = s.describe(p.description);
    if (p.default !== undefined) s = s.default(p.default as never);
    else if (p.optional) s = s.optional();
    shape[key] = s;
  }
  return z.object(shape).strict() as unknown as z.ZodType<Record<string, unknown>>;
}
