import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TransformRegistry } from '../transforms/registry.ts';
import type { Plv8Signature } from '../transforms/transform.ts';
import { implementations } from '../transforms/js/index.ts';
import { bundleRuntime } from '../../plv8/bundle-runtime.ts';
import { compilePlv8Install } from '../../plv8/compile-install.ts';
import { isCustomTransformDefinition } from '../transforms/custom-transform-definition.ts';
import { PgmaskError, ExitCode } from '../errors.ts';
import { packagePath } from '../version.ts';

const SQL_DIR = packagePath('sql');
/** structural helpers every runtime installs (array shapes, JSON paths): they never read a key */
const STRUCTURE_SQL = 'structure.sql';
/** the line after which the PLV8 install carries shared SQL rather than PLV8 functions (the test sandbox stops there) */
export const SHARED_SQL_MARKER = '-- pgmask shared SQL helpers (every runtime)';

function sqlFile(f: string): string {
  return `-- sql/${f}\n${readFileSync(join(SQL_DIR, f), 'utf8').trimEnd()}\n`;
}

/**
 * The sql runtime: sql/<sqlFile> of every registered transform that has one, each file
 * once, in registry order. The caller runs it after `CREATE EXTENSION pgcrypto` with a
 * search_path under which pgcrypto's hmac() resolves (the RETURN bodies bind names then).
 */
export function sqlRuntimeInstall(registry: TransformRegistry): string {
  const files: string[] = [STRUCTURE_SQL];
  for (const t of registry.all()) if (t.sqlFile !== null && !files.includes(t.sqlFile)) files.push(t.sqlFile);
  return files.map(sqlFile).join('\n');
}

/**
 * The plv8 runtime: the esbuild bundle of every implementation (built-ins and custom
 * transforms) in `pgmask._plv8_init()`, and one function per plv8 signature of every
 * registered transform that runs on plv8. Custom transform files come from the registry's
 * custom definitions (loadCustomTransforms) and from `customDir` when given.
 */
export async function plv8RuntimeInstall(registry: TransformRegistry, opts: { customDir?: string } = {}): Promise<string> {
  const customFiles = new Set<string>();
  if (opts.customDir !== undefined) for (const f of customTransformFiles(opts.customDir)) customFiles.add(f);
  const signatures: Plv8Signature[] = [];
  const available = new Set(Object.keys(implementations));
  for (const t of registry.all()) {
    if (isCustomTransformDefinition(t)) {
      customFiles.add(t.sourceFile);
      available.add(`custom_${t.name}`);
    }
  }
  for (const t of registry.all()) {
    if (!t.runtimes.includes('plv8')) continue;
    for (const sig of t.plv8 ?? []) {
      if (!available.has(sig.js)) {
        throw new PgmaskError({
          code: 'PLV8_IMPLEMENTATION_MISSING',
          message: `transform ${t.name}: plv8 signature pgmask.${sig.sqlName} names JavaScript implementation ${sig.js}, which the implementation table does not have`,
          hint: 'add it to src/transforms/js/index.ts (built-in) or check the custom transform file',
          exitCode: ExitCode.internal,
        });
      }
      signatures.push(sig);
    }
  }
  const bundle = await bundleRuntime([...customFiles].sort());
  return `${compilePlv8Install(bundle, signatures)}\n${SHARED_SQL_MARKER}\n${sqlFile(STRUCTURE_SQL)}`;
}

/** The custom transform files of a directory: *.ts (not .d.ts, not tests), sorted, absolute. */
export function customTransformFiles(dir: string): string[] {
  const abs = resolve(dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch (cause) {
    throw new PgmaskError({
      code: 'CUSTOM_TRANSFORMS_DIR',
      message: `cannot read the custom transforms directory ${abs}`,
      hint: 'pass --transforms DIR with a directory of .ts files',
      exitCode: ExitCode.usage,
      cause,
    });
  }
  return names
    .filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts') && !n.endsWith('.test.ts'))
    .map((n) => join(abs, n))
    .filter((f) => statSync(f).isFile())
    .sort();
}
