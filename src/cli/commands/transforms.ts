import { Command } from 'commander';
import { z } from 'zod';
import { registry } from '../../transforms/registry.ts';
import { createOutput } from '../output.ts';
import { jsonOption } from '../options.ts';

/** Parameter names of a transform, from its zod schema (the registry is the only source). */
function paramNames(schema: z.ZodType): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown>; anyOf?: { properties?: Record<string, unknown> }[] };
  const props = { ...(json.properties ?? {}), ...Object.assign({}, ...(json.anyOf ?? []).map((b) => b.properties ?? {})) };
  return Object.keys(props);
}

export function transformsCommand(): Command {
  return new Command('transforms')
    .description('list the transforms a policy can use, with their column types and parameters (from the registry)')
    .addOption(jsonOption())
    .addHelpText('after', '\nFull reference: docs/transforms.md; JSON Schema of every parameter: pgmask schema')
    .action((opts: { json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      const rows = registry.all().map((t) => ({
        name: t.name,
        description: t.description,
        types: [...t.types],
        runtimes: [...t.runtimes],
        keyed: t.usesKey,
        params: paramNames(t.params),
      }));
      if (out.json) {
        out.out(JSON.stringify({ ok: true, transforms: rows }, null, 2));
        return;
      }
      out.out(
        rows
          .map((r) => `${r.name}${r.keyed ? ' (keyed)' : ''}\n  ${r.description}\n  types: ${r.types.join(', ')}\n  params: ${r.params.length ? r.params.join(', ') : '(none)'}${r.keyed ? ', key' : ''}`)
          .join('\n\n'),
      );
    });
}
