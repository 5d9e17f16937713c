import { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { generateSql, loadPolicyFile } from '../pipeline.ts';
import { createOutput, reportWarnings } from '../output.ts';
import { databaseUrlOption, jsonOption, policyOption, requireDatabaseUrl, transformsOption } from '../options.ts';
import { usageError } from '../../errors.ts';

export function generateCommand(): Command {
  return new Command('generate')
    .description('print (or write) the SQL migration for a policy; reads the live catalog, changes nothing')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(transformsOption())
    .option('-o, --out <file>', 'write the SQL to a file instead of stdout')
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  pgmask generate --policy pgmask.yaml > masking.sql\n  pgmask generate --out migrations/0042_masking.sql')
    .action(async (opts: { policy: string; databaseUrl?: string; out?: string; json?: boolean; transforms?: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const out = createOutput(Boolean(opts.json));
      const loaded = await loadPolicyFile(opts.policy, opts.transforms);
      const prepared = await generateSql(url, loaded);
      reportWarnings(out, prepared.warnings);
      if (opts.out) {
        await writeFile(opts.out, prepared.sql).catch((e: Error) => {
          throw usageError('OUT_NOT_WRITABLE', `cannot write ${opts.out}: ${e.message}`, 'check the path and its permissions');
        });
      }
      if (out.json) {
        out.out(JSON.stringify({ ok: true, runtime: prepared.runtime, policyHash: prepared.policy.hash, out: opts.out ?? null, sql: opts.out ? null : prepared.sql }, null, 2));
      } else if (opts.out) {
        out.err(`wrote ${opts.out} (runtime ${prepared.runtime}, policy sha256 ${prepared.policy.hash.slice(0, 16)})`);
      } else {
        process.stdout.write(prepared.sql);
      }
    });
}
