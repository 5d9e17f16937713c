import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { policyJsonSchema } from '../../src/policy/json-schema.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { DESIGN_EXAMPLE, testRegistry } from './fixtures.ts';
import { schemaErrors } from './json-schema-check.ts';

type Json = Record<string, any>;

/** the anyOf list of one column rule */
function ruleForms(schema: Json): Json[] {
  return schema.properties.tables.additionalProperties.properties.columns.additionalProperties.anyOf;
}

function parses(text: string): boolean {
  try {
    parsePolicy(text, 'p.yaml', testRegistry);
    return true;
  } catch {
    return false;
  }
}

describe('policyJsonSchema', () => {
  const schema = policyJsonSchema(testRegistry);

  it('is draft 2020-12 with descriptions', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('pgmask policy (version 1)');
    const props = (schema as Json).properties;
    expect(Object.keys(props)).toEqual(['version', 'source_schema', 'masked_schema', 'runtime', 'unlisted_columns', 'subject', 'keys', 'roles', 'brokers', 'tables', 'schemas', 'materialize', 'transforms', 'citus']);
    for (const [name, prop] of Object.entries(props)) expect((prop as Json).description, name).toMatch(/\w/);
    expect((schema as Json).required).toEqual(['version']);
    expect((schema as Json).additionalProperties).toBe(false);
  });

  it('accepts the DESIGN example', () => {
    expect(schemaErrors(schema, parseYaml(DESIGN_EXAMPLE))).toEqual([]);
  });

  it('accepts the DESIGN example with the real registry, and lists every registered transform with its description', () => {
    const real = policyJsonSchema(registry) as Json;
    expect(schemaErrors(real, parseYaml(DESIGN_EXAMPLE))).toEqual([]);
    const forms = ruleForms(real);
    for (const t of registry.all()) {
      const map = forms.find((f) => f.type === 'object' && f.required?.[0] === t.name);
      expect(map, t.name).toBeDefined();
      expect(map!.description).toBe(t.description);
      const bare = forms.some((f) => f.const === t.name);
      expect(bare, `${t.name} as a bare name`).toBe(t.params.safeParse({}).success);
    }
    expect(forms.filter((f) => f.type === 'object')).toHaveLength(registry.all().length);
  });

  it('describes parameters, `key` only for keyed transforms, and requires what the transform requires', () => {
    const forms = ruleForms(schema as Json);
    const byName = (name: string) => forms.find((f) => f.required?.[0] === name)!.properties[name];
    const fake = byName('fake');
    expect(fake.required).toEqual(['kind']);
    expect(fake.properties.kind.description).toBe('what to generate');
    expect(fake.properties.key.pattern).toBe('^[a-z][a-z0-9_]*$');
    const pseudonymize = byName('pseudonymize');
    expect(pseudonymize.anyOf.map((b: Json) => b.type)).toEqual(['object', 'null']);
    expect(Object.keys(pseudonymize.anyOf[0].properties)).toEqual(['prefix', 'length', 'key']);
    const zip3 = byName('zip3');
    expect(Object.keys(zip3.anyOf[0].properties)).toEqual(['restricted']);
  });

  it.each([
    ['an unknown top-level key', 'unlisted_colums: error\n'],
    ['a misspelt transform', '      e: pseudonymise\n'],
    ['an unknown parameter', '      e: { pseudonymize: { prefx: "A" } }\n'],
    ['a parameter of the wrong type', '      e: { shift_date: { max_days: "30" } }\n'],
    ['a missing required parameter', '      e: { fake: {} }\n'],
    ['a bare name that needs parameters', '      e: fake\n'],
    ['`key` on a transform without keys', '      e: { redact: { key: default } }\n'],
    ['a badly named key', '      e: { pseudonymize: { key: Study } }\n'],
    ['a two-key rule', '      e: { keep: , redact: }\n'],
  ])('rejects %s, as the parser does', (_, line) => {
    const text = line.startsWith('      ') ? DESIGN_EXAMPLE + `  extra:\n    columns:\n${line}` : DESIGN_EXAMPLE + line;
    expect(schemaErrors(schema, parseYaml(text))).not.toEqual([]);
    expect(parses(text)).toBe(false);
  });

  it.each([
    ['a keyed rule', '      e: { pseudonymize: { key: default, length: 12 } }\n'],
    ['null parameters', '      e: { pseudonymize: }\n'],
    ['a redact constant', '      e: { redact: { value: 0 } }\n'],
    ['a role without members', ''],
  ])('accepts %s, as the parser does', (_, line) => {
    const text = DESIGN_EXAMPLE.replace('roles:\n', 'roles:\n  auditor:\n') + (line ? `  extra:\n    columns:\n${line}` : '');
    expect(schemaErrors(schema, parseYaml(text))).toEqual([]);
    expect(parses(text)).toBe(true);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(policyJsonSchema(testRegistry))).toBe(JSON.stringify(schema));
  });
});
