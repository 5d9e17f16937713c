/**
 * Regenerates test/vectors/<transform>.json from test/vectors/cases/<transform>.ts using
 * the TypeScript reference implementations. Run: npx tsx test/vectors/generate.ts
 * The JSON files are committed; the vector test checks them on every runtime present.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registry } from '../../src/transforms/registry.ts';
import { implementations } from '../../src/transforms/js/index.ts';
import type { Vector, VectorCase, VectorFile } from './vector-case.ts';
import { evaluateTs, resolveCase, VECTOR_SESSION } from './vector-eval.ts';

export const VECTORS_DIR = fileURLToPath(new URL('.', import.meta.url));
const CASES_DIR = join(VECTORS_DIR, 'cases');

export async function loadCases(): Promise<{ transform: string; cases: readonly VectorCase[] }[]> {
  const files = readdirSync(CASES_DIR).filter((f) => f.endsWith('.ts')).sort();
  const out = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(CASES_DIR, f)).href)) as { cases?: readonly VectorCase[] };
    if (!Array.isArray(mod.cases)) throw new Error(`${f} does not export cases: VectorCase[]`);
    out.push({ transform: basename(f, '.ts'), cases: mod.cases });
  }
  return out;
}

export function generateFile(transform: string, cases: readonly VectorCase[]): VectorFile {
  const names = new Set<string>();
  const vectors: Vector[] = cases.map((c) => {
    if (names.has(c.name)) throw new Error(`${transform}: duplicate case name ${JSON.stringify(c.name)}`);
    names.add(c.name);
    const resolved = resolveCase(registry, c);
    if (resolved === null) throw new Error(`${transform}: case ${JSON.stringify(c.name)} calls pgmask.${c.fn}(${c.args.map((a) => a.type).join(', ')}), which no registered transform's plv8 signatures define`);
    return { ...c, expected: evaluateTs(implementations, resolved, c) };
  });
  return { transform, session: VECTOR_SESSION, vectors } as VectorFile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const only = process.argv.slice(2);
  for (const { transform, cases } of await loadCases()) {
    if (only.length > 0 && !only.includes(transform)) continue;
    const file = join(VECTORS_DIR, `${transform}.json`);
    writeFileSync(file, `${JSON.stringify(generateFile(transform, cases), null, 2)}\n`);
    process.stdout.write(`${file}: ${cases.length} vectors\n`);
  }
}
