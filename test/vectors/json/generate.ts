/**
 * Regenerates test/vectors/json/paths.json from cases.ts with the TypeScript reference
 * (src/transforms/json-path.ts). Run: npx tsx test/vectors/json/generate.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assemble, locate, parseJsonPath, type JsonValue } from '../../../src/transforms/json-path.ts';
import { jsonCases } from './cases.ts';

export function generateJsonVectors() {
  return jsonCases.map((c) => {
    const paths = c.paths.map(parseJsonPath);
    const located = paths.map((p) => locate(c.doc, p).map((l) => ({ loc: l.loc, fits: l.fits, ...(l.fits ? { value: l.value } : {}) })));
    // every value kept as it is ([v]); every second value of the first path dropped ([]) to exercise removal
    const masked = located.map((ls, k) => ls.filter((l) => l.fits).map((l, j) => (k === 0 && j % 2 === 1 ? [] : [l.value as JsonValue])));
    return { name: c.name, doc: c.doc, paths: c.paths, segments: paths, located, masked, removed: assemble(c.doc, paths, masked, false) ?? null, removedIsSqlNull: assemble(c.doc, paths, masked, false) === undefined, kept: assemble(c.doc, paths, masked, true) ?? null };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = fileURLToPath(new URL('./paths.json', import.meta.url));
  writeFileSync(file, `${JSON.stringify(generateJsonVectors(), null, 2)}\n`);
  process.stdout.write(`${file}\n`);
}
