import { Command } from 'commander';
import { formatNotice } from '../../db/connection.ts';
import { readUninstallPlan, runUninstall, type UninstallPlan, type UninstallResult } from '../../db/uninstall.ts';
import { ExitCode, usageError } from '../../errors.ts';
import { setCommandExitCode } from '../status.ts';
import { createOutput } from '../output.ts';
import { databaseUrlOption, jsonOption, lockTimeoutOption, parseDuration, requireDatabaseUrl } from '../options.ts';
import { withInterrupt } from '../interrupt.ts';
import { withGuardedSession } from '../../db/session-guard.ts';

export function uninstallCommand(): Command {
  return new Command('uninstall')
    .description('remove everything pgmask created in this database (masked views and schemas, pgmask schemas, keys, grants, role settings; roles nothing else uses); the source data is untouched')
    .addOption(databaseUrlOption())
    .option('--dry-run', 'print what would be removed and kept, and change nothing')
    .option('--yes', 'really remove it (the keys go too: pseudonyms made with them can never be recomputed)')
    .addOption(lockTimeoutOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  pgmask uninstall --dry-run\n  pgmask uninstall --yes')
    .action(async (opts: { databaseUrl?: string; dryRun?: boolean; yes?: boolean; json?: boolean; lockTimeout: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const lockTimeoutMs = parseDuration(opts.lockTimeout, '--lock-timeout');
      if (!opts.dryRun && !opts.yes) {
        throw usageError('UNINSTALL_NOT_CONFIRMED', 'uninstall removes every masked view, masking key and role pgmask created in this database', 'look first with pgmask uninstall --dry-run, then run pgmask uninstall --yes');
      }
      const out = createOutput(Boolean(opts.json));
      await withInterrupt(out, (signal) =>
        withGuardedSession(
          url,
          { lockTimeoutMs, signal, onNotice: (n) => out.err(formatNotice(n)), command: 'uninstall', rolledBack: 'the whole uninstall was rolled back; nothing was changed' },
          async (client) => {
            const plan = await readUninstallPlan(client);
            const result = opts.dryRun || !plan.installed ? null : await runUninstall(client, plan, { signal });
            if (out.json) out.out(JSON.stringify({ ok: plan.dependents.length === 0, dryRun: Boolean(opts.dryRun), plan, result }, null, 2));
            else out.out(formatUninstall(plan, result));
            // a dry run that finds objects outside pgmask depending on it fails as the real run would
            if (plan.dependents.length > 0) setCommandExitCode(ExitCode.database);
          },
        ),
      );
    });
}

function formatUninstall(plan: UninstallPlan, result: UninstallResult | null): string {
  if (!plan.installed) return `pgmask is not installed in database ${plan.database}: nothing to remove`;
  const done = result !== null;
  const verb = (now: string, past: string) => (done ? past : now);
  const lines = [`${done ? 'uninstalled' : 'would uninstall'} pgmask from database ${plan.database}${done ? '' : ' (dry run: nothing was changed)'}`];
  for (const r of plan.relations) lines.push(`  - ${r.kind} ${r.schema}.${r.name}`);
  for (const s of plan.maskedSchemasDropped) lines.push(`  - schema ${s} (masked schema, empty once its views are gone)`);
  for (const s of plan.maskedSchemasKept) lines.push(`  = schema ${s} kept: it holds ${s.objects} object(s) pgmask did not make`);
  for (const s of plan.pgmaskSchemas) lines.push(`  - schema ${s} and everything in it${s === 'pgmask_private' ? ' (the masking keys)' : ''}`);
  for (const p of plan.searchPaths) lines.push(`  - search_path of ${p.role} in this database (${p.value}): ${verb('reset', 'reset')}`);
  if (result) {
    for (const r of result.droppedRoles) lines.push(`  - role ${r}`);
    for (const k of result.keptRoles) lines.push(`  = role ${k.role} kept: ${k.reason}`);
  } else {
    for (const r of plan.roles) {
      lines.push(
        r.usedElsewhere.length > 0
          ? `  = role ${r.role} (${r.kind}) kept: it owns objects or holds privileges in ${r.usedElsewhere.join(', ')}`
          : `  - role ${r.role} (${r.kind}), unless it turns out to be used elsewhere or can log in`,
      );
    }
  }
  if (plan.dependents.length > 0) lines.push(`refused: ${plan.dependents.length} object(s) outside pgmask depend on it: ${plan.dependents.join('; ')}`);
  lines.push('the source tables and their data are untouched');
  return lines.join('\n');
}
