import { z } from 'zod';
import type { TransformDefinition } from '../transforms/transform.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import { keyName, policyInputSchema } from './policy-input-schema.ts';

/**
 * JSON Schema (draft 2020-12) of the policy file, generated from the same zod
 * definition the parser uses plus every registered transform's parameter schema,
 * so a YAML language server completes and checks a policy. `pgmask schema`
 * prints it.
 *
 * @example
 *   # yaml-language-server: $schema=./pgmask.schema.json
 *   // pgmask schema > pgmask.schema.json
 */
export function policyJsonSchema(registry: TransformRegistry): Record<string, unknown> {
  const schema = z.toJSONSchema(policyInputSchema(ruleSchema(registry)), {
    target: 'draft-2020-12',
    io: 'input',
    // a refinement (NUL in a name, a row filter's lexing) cannot be expressed; the parser still checks it
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  // exactly one of the two forms: top-level `tables` (one source schema) or `schemas` (several)
  const oneForm = { oneOf: [{ required: ['tables'] }, { required: ['schemas'] }] };
  return { $schema: $schema ?? 'https://json-schema.org/draft/2020-12/schema', title: 'pgmask policy (version 1)', ...rest, ...oneForm };
}

/** One column rule: a bare name (for transforms that need no parameters) or `{ name: { params…, key? } }`. */
function ruleSchema(registry: TransformRegistry): z.ZodType {
  const transforms = registry.all();
  const bare = transforms.filter(acceptsNoParams).map((t) => z.literal(t.name).describe(t.description));
  const maps = transforms.map((t) => {
    const params = withKey(t.params, t.usesKey);
    return z.strictObject({ [t.name]: acceptsNoParams(t) ? params.nullable() : params }).describe(t.description);
  });
  const forms: z.ZodType[] = [...bare, ...maps];
  if (forms.length === 0) return z.never();
  return z.union(forms as [z.ZodType, ...z.ZodType[]]).describe('a transform name, or `{ transform: { params } }`');
}

function acceptsNoParams(t: TransformDefinition<any>): boolean {
  return t.params.safeParse({}).success;
}

/** Adds the `key:` every keyed rule accepts (the parser takes it out before the transform's schema sees the params). */
function withKey(schema: z.ZodType, usesKey: boolean): z.ZodType {
  if (!usesKey) return schema;
  const key = keyName.optional().describe('key name from `keys:` (default: the first); a different key gives an unlinkable pseudonym domain');
  if (schema instanceof z.ZodObject) return schema.extend({ key });
  if (schema instanceof z.ZodUnion) {
    const options = (schema.options as readonly z.ZodType[]).map((o) => withKey(o, true));
    return z.union(options as [z.ZodType, ...z.ZodType[]]);
  }
  return schema;
}
