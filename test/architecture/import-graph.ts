/**
 * The import graph of src/ (and plv8/), read with a scan of import/export lines and
 * dynamic import('…') calls: each file with the modules it imports, relative ones
 * resolved to repository paths (`src/db/query.ts`), packages by name (`pg`, `node:fs`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Strips comments so an example in a doc comment is not read as an import. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The modules a file imports; with `runtimeOnly`, without `import type` (erased when compiled). */
export function importsOf(file: string, opts: { runtimeOnly?: boolean } = {}): string[] {
  const text = code(readFileSync(join(ROOT, file), 'utf8'));
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    if (opts.runtimeOnly && /^\s*;?\s*(?:import|export)\s+type\s/.test(m[0])) continue;
    const spec = m[1] ?? m[2]!;
    out.add(spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)) : spec);
  }
  return [...out].sort();
}

export function importGraph(dirs: readonly string[], opts: { runtimeOnly?: boolean } = {}): Map<string, string[]> {
  return new Map(dirs.flatMap(sourceFiles).map((f) => [f, importsOf(f, opts)]));
}

/** Every cycle found by a depth-first walk (each reported once, as the path that closes it). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}
