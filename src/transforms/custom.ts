/**
 * Custom transforms: TypeScript files in the user's repository that define masking
 * functions with `defineCustomTransform` (imported as `pgmask`). They are type-checked
 * against PLV8's globals (ES2020 library, no DOM, no Node types), bundled into the PLV8
 * runtime next to the built-ins and used by a policy like a built-in. They are plv8-only.
 */
import { build } from 'esbuild';
import { z } from 'zod';
import { DEFINE_CUSTOM_MODULE } from '../../plv8/bundle-runtime.ts';
import { jsonbLiteral, ident, sql, trustedSqlText } from '../sql/index.ts';
import { PgmaskError, ExitCode, type ErrorDetail } from '../errors.ts';
import type { TypeFamily } from '../db/catalog-snapshot.ts';
import type { Plv8Signature } from './transform.ts';
import type { CustomTransformDefinition } from './custom-transform-definition.ts';
import type { CustomParamSpec, CustomTransform, CustomValueFamily } from './define-custom-transform.ts';
import { customTransformFiles } from './runtime-install.ts';

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

/**
 * Loads every custom transform file of `dir`: type-checks them all (errors are collected,
 * with file:line:column), bundles each for Node to read its metadata, and returns one
 * TransformDefinition per exported `defineCustomTransform(…)` value.
 */
export async function loadCustomTransforms(dir: string): Promise<CustomTransformDefinition<any>[]> {
  const files = customTransformFiles(dir);
  await typeCheck(files);
  const out: CustomTransformDefinition<any>[] = [];
  const names = new Map<string, string>();
  for (const file of files) {
    for (const custom of await importCustomFile(file)) {
      const def = toDefinition(custom, file);
      const prev = names.get(def.name);
      if (prev !== undefined) {
        throw new PgmaskError({ code: 'CUSTOM_TRANSFORM_DUPLICATE', message: `custom transform ${def.name} is defined in ${prev} and ${file}`, hint: 'give each custom transform its own name', exitCode: ExitCode.usage });
      }
      names.set(def.name, file);
      out.push(def);
    }
  }
  return out;
}

async function typeCheck(files: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch (cause) {
    throw new PgmaskError({ code: 'CUSTOM_TRANSFORM_TYPESCRIPT_MISSING', message: 'type-checking custom transforms needs the typescript package', hint: 'install typescript next to pgmask', exitCode: ExitCode.usage, cause });
  }
  const program = ts.createProgram([...files], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // PLV8's globals: the ECMAScript library only (no DOM: no TextEncoder, fetch…; no Node types)
    lib: ['lib.es2020.d.ts'],
    types: [],
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    paths: { pgmask: [DEFINE_CUSTOM_MODULE] },
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diagnostics.length === 0) return;
  const details: ErrorDetail[] = diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file && d.start !== undefined) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      const excerpt = d.file.text.split('\n')[line] ?? '';
      return { code: `TS${d.code}`, severity: 'error', message: text, location: { file: d.file.fileName, line: line + 1, column: character + 1, excerpt } };
    }
    return { code: `TS${d.code}`, severity: 'error', message: text };
  });
  const first = details[0]!;
  throw new PgmaskError({
    code: 'CUSTOM_TRANSFORM_TYPE_ERROR',
    message: `custom transforms do not type-check (${details.length} error${details.length === 1 ? '' : 's'}); first: ${first.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : ''}${first.message}`,
    hint: 'custom transforms run inside PLV8: ES2020 and plain JavaScript only, no Node modules, Buffer, TextEncoder or crypto',
    exitCode: ExitCode.usage,
    details,
  });
}

async function importCustomFile(file: string): Promise<CustomTransform[]> {
  let code: string;
  try {
    const result = await build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'esm',
      target: 'es2020',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      alias: { pgmask: DEFINE_CUSTOM_MODULE },
      logLevel: 'silent',
    });
    code = result.outputFiles[0]!.text;
  } catch (cause) {
    const errors = (cause as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors ?? [];
    throw new PgmaskError({
      code: 'CUSTOM_TRANSFORM_BUNDLE_FAILED',
      message: `cannot bundle custom transform ${file}: ${errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)).join('; ') || String(cause)}`,
      hint: 'custom transforms run inside PLV8: no Node modules (fs, crypto…) and no packages that need them',
      exitCode: ExitCode.usage,
      cause,
    });
  }
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as Record<string, unknown>;
  const found = Object.values(mod).filter((v): v is CustomTransform => typeof v === 'object' && v !== null && (v as { pgmaskCustomTransform?: unknown }).pgmaskCustomTransform === 1);
  if (found.length === 0) {
    throw new PgmaskError({ code: 'CUSTOM_TRANSFORM_EMPTY', message: `${file} exports no defineCustomTransform(…) value`, hint: "export default defineCustomTransform({ name, description, types, fn }) (import it from 'pgmask'); put shared helpers in a subdirectory", exitCode: ExitCode.usage });
  }
  return found;
}

function invalid(file: string, message: string): PgmaskError {
  return new PgmaskError({ code: 'CUSTOM_TRANSFORM_INVALID', message: `${file}: ${message}`, hint: 'see defineCustomTransform in the pgmask docs', exitCode: ExitCode.usage });
}

function toDefinition(custom: CustomTransform, file: string): CustomTransformDefinition<any> {
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
      return sql`${ident('pgmask', sqlName)}(${value}::${trustedSqlText(type)}, ${jsonbLiteral(p)})`;
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
