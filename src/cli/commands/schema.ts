import { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { policyJsonSchema } from '../../policy/json-schema.ts';
import { registry } from '../../transforms/registry.ts';
import { createOutput } from '../output.ts';

export function schemaCommand(): Command {
  return new Command('schema')
    .description('print the JSON Schema of the policy file (every transform and its parameters), for editors')
    .option('-o, --out <file>', 'write it to a file instead of stdout')
    .addHelpText('after', '\nExample (VS Code / any YAML language server):\n  pgmask schema --out pgmask.schema.json\n  # then put on the first line of pgmask.yaml:\n  # yaml-language-server: $schema=./pgmask.schema.json')
    .action(async (opts: { out?: string }) => {
      const text = `${JSON.stringify(policyJsonSchema(registry), null, 2)}\n`;
      if (opts.out) {
        await writeFile(opts.out, text);
        createOutput(false).err(`wrote ${opts.out}`);
      } else process.stdout.write(text);
    });
}
