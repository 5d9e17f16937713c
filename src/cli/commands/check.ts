import { Command } from 'commander';
import { loadPolicyFile } from '../pipeline.ts';
import { connect } from '../../db/connection.ts';
import { checkDrift, type DriftReport } from '../../verify/check.ts';
import { ExitCode } from '../../errors.ts';
import { createOutput } from '../output.ts';
import { setCommandExitCode } from '../status.ts';
import { databaseUrlOption, jsonOption, policyOption, requireDatabaseUrl, transformsOption } from '../options.ts';

export function checkCommand(): Command {
  return new Command('check')
    .description('compare the policy with the live schema and the applied migration (reads only); exit 5 on drift')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(transformsOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  pgmask check --policy examples/clinic.yaml\n  pgmask check --json | jq .findings')
    .action(async (opts: { policy: string; databaseUrl?: string; json?: boolean; transforms?: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const out = createOutput(Boolean(opts.json));
      const { policy, registry } = await loadPolicyFile(opts.policy, opts.transforms);
      const client = await connect(url);
      let report: DriftReport;
      try {
        report = await checkDrift(client, policy, registry);
      } finally {
        await client.end();
      }
      if (out.json) out.out(JSON.stringify(report, null, 2));
      else out.out(formatDriftReport(report));
      if (!report.ok) setCommandExitCode(ExitCode.drift);
    });
}

export function formatDriftReport(report: DriftReport): string {
  if (report.ok) return `check: no drift — the schema matches the policy (sha256 ${report.policyHash.slice(0, 16)}) and it is applied`;
  const lines = report.findings.map((f) => `  drift[${f.kind}]: ${f.message}\n    hint: ${f.hint}`);
  lines.push(`check: ${report.findings.length} difference(s) between the policy and the database (exit 5)`);
  return lines.join('\n');
}
