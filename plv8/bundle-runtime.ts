import { sha256Hex } from '../src/sha256.ts';
import { build } from 'esbuild';
import { PgmaskError, ExitCode } from '../src/errors.ts';
import { packagePath, packageRoot } from '../src/version.ts';

/** The JS implementation table of the built-in transforms. */
export const IMPLEMENTATIONS_MODULE = packagePath('src', 'transforms', 'js', 'index.ts');
/** What `import … from 'pgmask'` means inside a custom transform file. */
export const DEFINE_CUSTOM_MODULE = packagePath('src', 'transforms', 'define-custom-transform.ts');

/** The repository root: esbuild's working directory, so the bundle (and its version tag) does not depend on the caller's cwd. */
const ROOT = packageRoot;

/** Name of the variable the IIFE bundle assigns inside `pgmask._plv8_init()`. */
export const BUNDLE_GLOBAL = '__pgmask_bundle';

export interface RuntimeBundle {
  /** JavaScript (an IIFE assigning `var __pgmask_bundle`), whose `.table` is the implementation table */
  readonly code: string;
  /** version tag: the first 16 hex digits of SHA-256 of the code */
  readonly tag: string;
}

/**
 * Bundles the implementation table (built-ins plus the custom transform files) into one
 * IIFE for PLV8: target es2020, platform neutral (a `node:` import or a Node built-in
 * fails the build), no minification so a PLV8 stack trace stays readable.
 * Custom transform files export `defineCustomTransform(…)` values; each becomes
 * `custom_<name>` in the table.
 */
export async function bundleRuntime(customFiles: readonly string[] = []): Promise<RuntimeBundle> {
  const imports = customFiles.map((f, i) => `import * as custom${i} from ${JSON.stringify(f)};`).join('\n');
  const entry = `import { implementations } from ${JSON.stringify(IMPLEMENTATIONS_MODULE)};
${imports}
const table = Object.assign({}, implementations);
for (const mod of [${customFiles.map((_f, i) => `custom${i}`).join(', ')}]) {
  for (const value of Object.values(mod)) {
    if (value && typeof value === 'object' && value.pgmaskCustomTransform === 1) table['custom_' + value.name] = value.fn;
  }
}
export { table };
`;
  let result;
  try {
    result = await build({
      stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'pgmask-plv8-entry.ts', loader: 'ts' },
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      format: 'iife',
      globalName: BUNDLE_GLOBAL,
      target: 'es2020',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      alias: { pgmask: DEFINE_CUSTOM_MODULE },
      legalComments: 'none',
      logLevel: 'silent',
    });
  } catch (cause) {
    const errors = (cause as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors ?? [];
    throw new PgmaskError({
      code: 'PLV8_BUNDLE_FAILED',
      message: `bundling the PLV8 runtime failed: ${errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)).join('; ') || String(cause)}`,
      hint: 'transforms run inside PLV8 with bare V8 globals: no Node modules, Buffer, TextEncoder or crypto',
      exitCode: ExitCode.usage,
    });
  }
  const code = result.outputFiles[0]!.text;
  const tag = sha256Hex(code).slice(0, 16);
  return { code, tag };
}
