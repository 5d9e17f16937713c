import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/transforms/registry.ts';
import { transformDocs } from '../../src/transforms/docs.ts';
import { TRANSFORM_DOCS_PATH } from '../../src/build/write-generated-files.ts';

describe('docs/transforms.md', () => {
  const docs = transformDocs(registry);

  it('is generated from the registry and current (run: npx tsx src/build/write-generated-files.ts)', () => {
    expect(readFileSync(TRANSFORM_DOCS_PATH, 'utf8')).toBe(docs);
  });

  it('has a section for every transform, with every parameter and its description', () => {
    for (const t of registry.all()) {
      const start = docs.indexOf(`## \`${t.name}\``);
      expect(start, t.name).toBeGreaterThan(0);
      const next = docs.indexOf('\n## `', start + 1);
      const section = docs.slice(start, next < 0 ? undefined : next);
      expect(section).toContain(t.description);
      const shape = (t.params as unknown as { shape?: Record<string, { description?: string }> }).shape ?? {};
      for (const [name, p] of Object.entries(shape)) {
        expect(section, `${t.name}.${name}`).toContain(`| \`${name}\` |`);
        if (p.description) expect(section, `${t.name}.${name}`).toContain(p.description.replaceAll('|', '\\|'));
      }
      if (t.usesKey) expect(section).toContain('| `key` |');
      if (t.example) expect(section).toContain(t.example.rule);
    }
  });

  it('escapes table cells: an enum stays one cell', () => {
    expect(docs).toContain('| `distribution` | uniform \\| laplace | no |');
  });
});
