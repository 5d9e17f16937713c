import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { presets, type Preset } from '../../scan/presets.ts';
import { loadPolicyFile } from '../pipeline.ts';
import { runReport } from '../../report/run-report.ts';
import { formatReport } from '../../report/format-report.ts';
import { renderReportHtml } from '../../report/render-html.ts';
import { ExitCode, usageError } from '../../errors.ts';
import { createOutput } from '../output.ts';
import { setCommandExitCode } from '../status.ts';
import { databaseUrlOption, jsonOption, policyOption, requireDatabaseUrl, transformsOption } from '../options.ts';

function positiveInteger(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function reportCommand(): Command {
  return new Command('report')
    .description('measure re-identification risk (k-anonymity, l-diversity, uniqueness, small cells) through the masked views and utility against the raw data; exit 7 when --min-k is not met')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(transformsOption())
    .option('-r, --role <role>', "masking role to read the views as (default: the policy's first role)")
    .option('--login-url <url>', "read the masked views through this login (e.g. the BI tool's) instead of becoming --role; --database-url still computes utility")
    .option('--min-k <k>', 'fail (exit 7) when any table with quasi_identifiers has a class smaller than k; lists the failing classes (without it nothing gates and "at risk" means a class smaller than 5)', positiveInteger)
    .addOption(new Option('--preset <preset>', 'the standard the checklist judges against: hipaa-safe-harbor (default) or research-date-shift (a limited data set keeping shifted dates)').choices([...presets]))
    .option('--html <file>', 'also write a self-contained HTML page (charts inline, no external request)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nRisk is read as the masking role (connect as a superuser, or as a member of the role); utility compares with the raw data as the connecting role, aggregated in SQL (raw values are never printed). Declare quasi_identifiers: and sensitive: per table in the policy.\n\nExamples:\n  pgmask report --policy examples/clinic.yaml --min-k 5\n  pgmask report --json | jq \'.risk.tables[] | {table, k}\'\n  pgmask report --html release-42-report.html',
    )
    .action(async (opts: { policy: string; databaseUrl?: string; role?: string; loginUrl?: string; minK?: number; html?: string; json?: boolean; transforms?: string; preset?: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const out = createOutput(Boolean(opts.json));
      const loaded = await loadPolicyFile(opts.policy, opts.transforms);
      const loginUrl = opts.loginUrl === undefined ? undefined : requireDatabaseUrl(opts.loginUrl);
      const report = await runReport(url, loaded, { role: opts.role, loginUrl, minK: opts.minK ?? null, progress: out.progress, preset: opts.preset as Preset | undefined });
      if (opts.html) {
        try {
          await writeFile(opts.html, renderReportHtml(report), 'utf8');
        } catch (e) {
          throw usageError('REPORT_HTML_WRITE', `cannot write ${opts.html}: ${(e as Error).message}`, 'pass a writable path to --html');
        }
      }
      if (out.json) out.out(JSON.stringify(report, null, 2));
      else {
        out.out(formatReport(report));
        if (opts.html) out.out(`wrote ${opts.html}`);
      }
      if (!report.ok) setCommandExitCode(ExitCode.risk);
    });
}
