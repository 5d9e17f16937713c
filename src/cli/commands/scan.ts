import { Command, Option } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { usageError } from '../../errors.ts';
import { presets, type Preset } from '../../scan/draft-policy.ts';
import { defaultSampleRows } from '../../scan/scan-database.ts';
import { runScan, scanReport } from '../../scan/run-scan.ts';
import { createOutput } from '../output.ts';
import { databaseUrlOption, jsonOption, requireDatabaseUrl } from '../options.ts';

const help = `
Every column gets one rule and a comment: "# <category>, confidence <0..1>: <reasons>".
Categories: the 18 HIPAA Safe Harbor identifier kinds, quasi-identifiers, subject_key,
clinical, free_text, other. A column believed identifying is never given keep.

Reviewed rules: a rule whose comment still starts with "<category>, confidence <n>" is a
draft, and the next scan rewrites it. To keep a rule, add the word "reviewed" to its comment
(e.g. "# reviewed: pseudonymize is fine") or delete the comment. Re-running scan with
--policy FILE (or --out pointing at an existing file) keeps every reviewed rule and the rest
of the file, redrafts the draft rules, and adds the columns that are new.

Sampling: about --sample rows per table (TABLESAMPLE on large tables, LIMIT always); a
large table is never read in full. The scan only reads (read-only session). A table the role
may not SELECT from is classified from its names, types and keys alone (said in its reasons).

Examples:
  pgmask scan --preset hipaa-safe-harbor --out pgmask.yaml
  pgmask scan --schema clinical --schema lab --sample 500 --json > scan.json
  pgmask scan --policy pgmask.yaml --out pgmask.yaml   # keep reviewed rules, add new columns`;

interface ScanCommandOptions {
  databaseUrl?: string;
  schema: string[];
  sample: string;
  preset?: string;
  out?: string;
  policy?: string;
  json?: boolean;
}

export function scanCommand(): Command {
  return new Command('scan')
    .description('classify every column of a live database and draft a policy (reads a bounded sample, changes nothing)')
    .addOption(databaseUrlOption())
    .addOption(new Option('-s, --schema <schema...>', 'schemas to scan (one policy document per schema)').default(['public']))
    .addOption(new Option('--sample <rows>', 'rows sampled per table').default(String(defaultSampleRows)))
    .addOption(new Option('--preset <preset>', 'rule preset').choices([...presets]))
    .option('-o, --out <file>', 'write the draft policy to a file (merged into it when it exists) instead of stdout')
    .option('-p, --policy <file>', 'an existing policy to merge into: its reviewed rules are kept')
    .addOption(jsonOption())
    .addHelpText('after', help)
    .action(async (opts: ScanCommandOptions) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const sampleRows = Number(opts.sample);
      if (!Number.isInteger(sampleRows) || sampleRows < 1 || sampleRows > 1_000_000) {
        throw usageError('BAD_SAMPLE', `--sample must be a whole number of rows from 1 to 1000000, not ${JSON.stringify(opts.sample)}`, 'e.g. --sample 1000');
      }
      const out = createOutput(Boolean(opts.json));
      const existingPath = opts.policy ?? opts.out;
      const existingPolicy = existingPath ? await readFile(existingPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' && !opts.policy) return null;
        throw usageError('POLICY_NOT_READABLE', `cannot read ${existingPath}: ${e.message}`, 'check the path given to --policy');
      }) : null;
      const result = await runScan({
        databaseUrl: url,
        schemas: opts.schema,
        sampleRows,
        preset: (opts.preset as Preset | undefined) ?? null,
        existingPolicy,
        onTable: (done, total, table) => out.progress(`scanned ${done}/${total} ${table}`),
      });
      if (opts.out) {
        await writeFile(opts.out, result.draft.yaml).catch((e: Error) => {
          throw usageError('OUT_NOT_WRITABLE', `cannot write ${opts.out}: ${e.message}`, 'check the path and its permissions');
        });
      }
      if (out.json) {
        out.out(JSON.stringify({ ok: true, out: opts.out ?? null, ...(scanReport(result) as object) }, null, 2));
      } else if (opts.out) {
        const columns = result.scan.tables.reduce((n, t) => n + t.columns.length, 0);
        const kept = result.draft.rules.filter((r) => r.reviewed).length;
        out.err(`wrote ${opts.out}: ${result.scan.tables.length} tables, ${columns} columns (${kept} reviewed rules kept) in ${(result.scan.elapsedMs / 1000).toFixed(1)} s`);
      } else {
        process.stdout.write(result.draft.yaml);
      }
    });
}
