import { Command } from 'commander';
import { applyLoadedPolicy, loadPolicyFile } from '../pipeline.ts';
import type { CitusObjectReport } from '../../db/citus.ts';
import { createOutput, reportWarnings } from '../output.ts';
import { databaseUrlOption, jsonOption, lockTimeoutOption, parseDuration, policyOption, requireDatabaseUrl, transformsOption } from '../options.ts';
import { withInterrupt } from '../interrupt.ts';
import { formatNotice } from '../../db/connection.ts';
import { describeBlocker } from '../../db/session-guard.ts';
import { formatPlanSummary } from '../../plan/plan-summary.ts';
import type { PlanNode } from '../../plan/nodes.ts';
import type { Policy } from '../../policy/policy.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description("apply pgmask's own schema and the policy migration in one transaction (re-running is a no-op)")
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(transformsOption())
    .option('--dry-run', 'print the SQL that would run and change nothing')
    .addOption(lockTimeoutOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  pgmask migrate --policy examples/clinic.yaml\n  pgmask migrate --dry-run | less')
    .action(async (opts: { policy: string; databaseUrl?: string; dryRun?: boolean; json?: boolean; transforms?: string; lockTimeout: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const lockTimeoutMs = parseDuration(opts.lockTimeout, '--lock-timeout');
      const out = createOutput(Boolean(opts.json));
      const loaded = await loadPolicyFile(opts.policy, opts.transforms);
      out.progress(`planning ${opts.policy} …`);
      const { prepared, migration, citus } = await withInterrupt(out, (signal) =>
        applyLoadedPolicy(url, loaded, {
          dryRun: Boolean(opts.dryRun),
          lockTimeoutMs,
          signal,
          onNotice: (n) => out.err(formatNotice(n)),
          onLockWait: (blockers) =>
            out.err(`waiting for the masked views, in use by ${blockers.map(describeBlocker).join('; ') || 'another session'}; retrying ${lockTimeoutMs > 0 ? `for up to ${opts.lockTimeout}` : 'until they are free'} without making readers queue`),
        }),
      );
      reportWarnings(out, prepared.warnings);
      reportCitusNodes(out, citus);
      if (out.json) {
        out.out(
          JSON.stringify(
            {
              ok: true,
              dryRun: Boolean(opts.dryRun),
              runtime: prepared.runtime,
              policyHash: prepared.policy.hash,
              warnings: prepared.warnings,
              own: migration.own,
              policy: migration.policy,
              views: prepared.plan.nodes.filter((n) => n.kind === 'CreateMaskedView' || n.kind === 'CreateCitusMaskedTable').map((n) => `${n.schema}.${n.name}`),
              // what it changed (nothing when the policy migration was unchanged)
              summary: migration.policy === 'applied' ? prepared.summary : null,
              ...(citus ? { citus } : {}),
              ...(opts.dryRun ? { sql: migration.sql } : {}),
            },
            null,
            2,
          ),
        );
        return;
      }
      if (opts.dryRun) {
        process.stdout.write(migration.sql.length > 0 ? migration.sql : '-- nothing to do: the database is up to date\n');
        return;
      }
      if (migration.ownerRoleGrantedTo) out.err(`granted pgmask_owner to ${migration.ownerRoleGrantedTo}: the masked views belong to pgmask_owner, and a non-superuser must be its member to hand them over`);
      const applied = migration.own.filter((m) => m.status === 'applied').length;
      if (migration.policy === 'unchanged' && applied === 0) {
        out.out(`up to date: policy sha256 ${prepared.policy.hash.slice(0, 16)} is already applied (nothing changed)`);
      } else {
        out.out(
          `applied: ${applied} pgmask migration(s), policy ${migration.policy} — ${maskedViewsPhrase(prepared.policy, prepared.plan.nodes)}, runtime ${prepared.runtime}, roles ${prepared.policy.roles.map((r) => r.name).join(', ') || '(none)'}`,
        );
        if (migration.policy === 'applied') out.out(formatPlanSummary(prepared.summary, { past: true }));
      }
    });
}

/** `3 masked view(s) in masked`; with several masked schemas, each: `3 masked view(s): 2 in hosp_masked, 1 in lab_masked`. */
export function maskedViewsPhrase(policy: Pick<Policy, 'schemas'>, nodes: readonly PlanNode[]): string {
  const views = nodes.filter((n) => n.kind === 'CreateMaskedView' || n.kind === 'CreateCitusMaskedTable');
  if (policy.schemas.length === 1) return `${views.length} masked view(s) in ${policy.schemas[0]!.masked}`;
  return `${views.length} masked view(s): ${policy.schemas.map((s) => `${views.filter((v) => v.schema === s.masked).length} in ${s.masked}`).join(', ')}`;
}

/** Citus mode: what a worker lacks of what the coordinator has, as warnings (the migration itself committed). */
function reportCitusNodes(out: ReturnType<typeof createOutput>, citus: CitusObjectReport | undefined): void {
  if (!citus) return;
  for (const n of citus.nodes) {
    if (n.error !== null) out.err(`warning[CITUS_NODE_UNCHECKED]: worker ${n.node} could not be compared with the coordinator: ${n.error}`);
    else if (n.missing.length > 0) out.err(`warning[CITUS_NODE_DIFFERS]: worker ${n.node} lacks ${n.missing.join(', ')} (Citus did not copy them: docs/scale.md)`);
  }
  if (citus.notDistributed.length > 0) out.err(`warning[CITUS_NOT_DISTRIBUTED]: pg_dist_object does not list ${citus.notDistributed.join(', ')}: a worker added later will not get them`);
}
