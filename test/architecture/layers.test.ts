/**
 * The layers of ARCHITECTURE.md, checked on the import graph: the pure core does no I/O
 * and knows nothing of the shell, features do not import the shell, and nothing imports
 * in a circle.
 */
import { describe, expect, it } from 'vitest';
import { cycles, importGraph, importsOf, sourceFiles } from './import-graph.ts';

const graph = importGraph(['src', 'plv8']);
/** the plan's node vocabulary (nodes, expression builders) is its own layer: transforms build Expr nodes with it, the planner imports transforms */
const NODE_VOCABULARY = new Set(['src/plan/nodes.ts', 'src/plan/expression.ts']);
const layerOf = (file: string) => (NODE_VOCABULARY.has(file) ? 'src/plan nodes' : (/^(src\/[^/]+|plv8)(?:\/|$)/.exec(file)?.[1] ?? file));

const PURE = ['src/policy', 'src/plan', 'src/catalog', 'src/transforms', 'src/sql'];
const FEATURES = ['src/verify', 'src/scan', 'src/report', 'src/extract', 'src/keys'];
/** what the pure core may not import: I/O below the shell, the shell itself, the PLV8 build and the I/O packages */
const NOT_IN_PURE = [/^src\/db\//, /^src\/cli\//, /^src\/runtime\//, /^src\/demo\//, /^src\/build\//, /^plv8\//, /^pg$/, /^pg-copy-streams$/, /^kysely$/, /^(node:)?fs(\/promises)?$/, /^esbuild$/];

describe('import graph', () => {
  it('reads imports of every kind (a self-check of the scanner on a file known to import pg, node:fs and relative modules)', () => {
    const migrate = importsOf('src/db/migrate.ts');
    expect(migrate).toContain('pg');
    expect(migrate).toContain('node:fs');
    expect(migrate).toContain('src/db/query.ts');
    expect(graph.size).toBeGreaterThan(100);
    expect(importsOf('src/verify/attack-session.ts')).toContain('src/verify/verify-facts.ts');
    expect(importsOf('src/verify/attack-session.ts', { runtimeOnly: true })).not.toContain('src/verify/verify-facts.ts');
  });

  it('the pure core (policy, plan, catalog, transforms, sql) imports no I/O, no shell and no plv8/', () => {
    const offending = [...graph]
      .filter(([file]) => PURE.includes(layerOf(file)))
      .flatMap(([file, imports]) => imports.filter((i) => NOT_IN_PURE.some((re) => re.test(i))).map((i) => `${file} imports ${i}`));
    expect(offending).toEqual([]);
    expect(PURE.every((dir) => sourceFiles(dir).length > 0)).toBe(true);
  });

  it('no feature (verify, scan, report, …) imports the shell (src/cli)', () => {
    const offending = [...graph]
      .filter(([file]) => FEATURES.includes(layerOf(file)))
      .flatMap(([file, imports]) => imports.filter((i) => i.startsWith('src/cli/')).map((i) => `${file} imports ${i}`));
    expect(offending).toEqual([]);
  });

  it('nothing below the shell imports it: only src/cli imports src/cli', () => {
    const offending = [...graph]
      .filter(([file]) => layerOf(file) !== 'src/cli')
      .flatMap(([file, imports]) => imports.filter((i) => i.startsWith('src/cli/')).map((i) => `${file} imports ${i}`));
    expect(offending).toEqual([]);
  });

  it('has no import cycle between files (type-only imports, erased when compiled, aside), nor between layers', () => {
    expect(cycles(importGraph(['src', 'plv8'], { runtimeOnly: true })).map((c) => c.join(' → '))).toEqual([]);
    const layers = new Map<string, string[]>();
    for (const [file, imports] of graph) {
      const from = layerOf(file);
      const to = imports.filter((i) => graph.has(i)).map(layerOf).filter((l) => l !== from);
      layers.set(from, [...new Set([...(layers.get(from) ?? []), ...to])]);
    }
    expect(cycles(layers).map((c) => c.join(' → '))).toEqual([]);
    // the node vocabulary sits below everything but src/sql
    expect([...graph].filter(([f]) => NODE_VOCABULARY.has(f)).flatMap(([, imports]) => imports.filter((i) => graph.has(i) && !NODE_VOCABULARY.has(i) && !i.startsWith('src/sql/')))).toEqual([]);
  });
});
