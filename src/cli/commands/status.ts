import { Command } from 'commander';
import { loadPolicyFile, snapshotFor } from '../pipeline.ts';
import { connect } from '../../db/connection.ts';
import { maskingStatus, type MaskedRelationStatus, type MaskingStatus } from '../../db/status.ts';
import type { Policy } from '../../policy/policy.ts';
import { setCommandExitCode } from '../status.ts';
import { createOutput } from '../output.ts';
import { databaseError, ExitCode } from '../../errors.ts';
import { databaseUrlOption, jsonOption, policyOption, requireDatabaseUrl } from '../options.ts';

export function statusCommand(): Command {
  return new Command('status')
    .description('show what is applied to each masked schema: policy hash, runtime, each masked relation and, for materialized ones, the last refresh and row count; exit 5 when a masked schema is not up to date')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (opts: { policy: string; databaseUrl?: string; json?: boolean }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const out = createOutput(Boolean(opts.json));
      const { policy } = await loadPolicyFile(opts.policy);
      const client = await connect(url);
      try {
        const snapshot = await snapshotFor(client, policy);
        const status = await maskingStatus(client, policy, snapshot).catch((e: unknown) => {
          throw databaseError(e, 'cannot read what is applied', 'connect as a member of pgmask_owner or the role that ran pgmask migrate (docs/privileges.md)');
        });
        // up to date only when every masked schema is: the worst one decides the exit code
        if (!status.upToDate) setCommandExitCode(ExitCode.drift);
        if (out.json) {
          out.out(JSON.stringify({ ok: true, ...status }, null, 2));
          return;
        }
        out.out(formatStatus(policy, status).join('\n'));
      } finally {
        await client.end();
      }
    });
}

/** What an applied hash means next to the policy's own. */
function appliedState(s: { upToDate: boolean; appliedPolicyHash: string | null; appliedAt: string | null }): string {
  if (s.upToDate) return 'applied, up to date';
  if (!s.appliedPolicyHash) return 'never applied; run pgmask migrate';
  return `NOT up to date (applied: ${s.appliedPolicyHash.slice(0, 16)} at ${s.appliedAt}); run pgmask migrate`;
}

function relationLine(r: MaskedRelationStatus): string {
  const last = `last refresh ${r.lastRefresh}, ${r.lastRefreshRows} rows, ${Math.round(r.lastRefreshMs ?? 0)} ms`;
  const refresh = r.kind !== 'materialized view' ? '' : r.neverRefreshed ? 'not refreshed since migrate' : r.refreshedBeforeMigrate ? `not refreshed since migrate (${last}, before it)` : last;
  const mismatch = r.kind !== r.wanted ? ` (policy wants a ${r.wanted})` : '';
  return `  ${r.relation.padEnd(32)} ${r.kind}${mismatch}${refresh ? `  ${refresh}` : ''}`;
}

/**
 * The text of `pgmask status`. A policy with one masked schema: the applied state, the runtime,
 * one line per relation. With several: the same first lines, then each masked schema with its
 * own applied state (another policy file may have migrated it since) and its relations.
 */
export function formatStatus(policy: Policy, status: MaskingStatus): string[] {
  const head = (state: string) => `policy ${policy.file}: sha256 ${policy.hash.slice(0, 16)} — ${state}`;
  if (status.schemas.length === 1) {
    return [head(appliedState(status)), `runtime: ${status.runtime ?? 'not installed'}`, ...status.relations.map(relationLine)];
  }
  const behind = status.schemas.filter((s) => !s.upToDate).length;
  const lines = [head(behind === 0 ? 'applied, up to date' : `NOT up to date in ${behind} of ${status.schemas.length} masked schemas; run pgmask migrate`), `runtime: ${status.runtime ?? 'not installed'}`];
  for (const s of status.schemas) {
    const other = s.appliedSourceSchema !== null && s.appliedSourceSchema !== s.sourceSchema ? ` — it masks ${s.appliedSourceSchema} there` : '';
    const by = !s.upToDate && s.appliedPolicyHash && s.appliedPolicyHash !== policy.hash ? ', by another policy file or another version of this one' : '';
    lines.push(`${s.sourceSchema} → ${s.maskedSchema}: ${appliedState(s)}${by}${other}`);
    lines.push(...s.relations.map(relationLine));
  }
  return lines;
}

