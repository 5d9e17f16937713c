import { build } from 'esbuild';
import { DEFINE_CUSTOM_MODULE } from '../../plv8/bundle-runtime.ts';
import { PgmaskError, ExitCode, type ErrorDetail } from '../errors.ts';
import { customTransformDefinition, type CustomTransform, type CustomTransformDefinition } from '../transforms/custom.ts';
import { customTransformFiles } from './runtime-install.ts';

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
      const def = customTransformDefinition(custom, file);
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

