import { Command } from 'commander';
import { applyLoadedPolicy, loadPolicyFile } from '../pipeline.ts';
import { createOutput, reportWarnings } from '../output.ts';
import { databaseUrlOption, jsonOption, lockTimeoutOption, parseDuration, policyOption, requireDatabaseUrl, transformsOption } from '../options.ts';
import { withInterrupt } from '../interrupt.ts';
import { formatPlanSummary } from '../../plan/plan-summary.ts';

/**
 * `pgmask plan`: what `migrate` would change, as a reviewer reads it. It is migrate's own
 * dry run (a read-only transaction, so the server guarantees nothing changes) plus the
 * summary of the plan against the live catalog.
 */
export function planCommand(): Command {
  return new Command('plan')
    .description('show what migrate would change (relations, columns and their rules, roles, members, grants, runtime, keys); changes nothing')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(transformsOption())
    .addOption(lockTimeoutOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  pgmask plan --policy pgmask.yaml\n  pgmask plan --policy pgmask.yaml --json | jq .summary.membersRevoked')
    .action(async (opts: { policy: string; databaseUrl?: string; json?: boolean; transforms?: string; lockTimeout: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const lockTimeoutMs = parseDuration(opts.lockTimeout, '--lock-timeout');
      const out = createOutput(Boolean(opts.json));
      const loaded = await loadPolicyFile(opts.policy, opts.transforms);
      out.progress(`planning ${opts.policy} …`);
      const { prepared, migration } = await withInterrupt(out, (signal) => applyLoadedPolicy(url, loaded, { dryRun: true, lockTimeoutMs, signal }));
      reportWarnings(out, prepared.warnings);
      const pending = migration.own.filter((m) => m.status === 'applied').map((m) => m.name);
      const upToDate = migration.policy !== 'applied' && pending.length === 0;
      if (out.json) {
        out.out(
          JSON.stringify(
            { ok: true, policyHash: prepared.policy.hash, runtime: prepared.runtime, upToDate, ownMigrations: pending, policyMigration: migration.policy, summary: prepared.summary },
            null,
            2,
          ),
        );
        return;
      }
      if (upToDate) {
        out.out(`up to date: policy sha256 ${prepared.policy.hash.slice(0, 16)} is applied; migrate would change nothing`);
        return;
      }
      out.out(`plan for ${opts.policy} (policy sha256 ${prepared.policy.hash.slice(0, 16)}, runtime ${prepared.runtime}); nothing was changed`);
      if (pending.length > 0) out.out(`pgmask's own migrations: ${pending.length} to apply (${pending.join(', ')})`);
      if (migration.policy === 'applied' && prepared.summary.empty) {
        out.out('the policy migration would run again (its SQL differs from the applied one: another pgmask version, policy file path or runtime build) and change none of the below');
      }
      out.out(formatPlanSummary(prepared.summary));
    });
}
