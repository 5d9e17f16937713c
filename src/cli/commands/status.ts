import { Command } from 'commander';
import { loadPolicyFile, snapshotFor } from '../pipeline.ts';
import { connect } from '../../db/connection.ts';
import { maskingStatus } from '../../db/status.ts';
import { policySections } from '../../policy/policy-sections.ts';
import { createOutput } from '../output.ts';
import { databaseError } from '../../errors.ts';
import { databaseUrlOption, jsonOption, policyOption, requireDatabaseUrl } from '../options.ts';

export function statusCommand(): Command {
  return new Command('status')
    .description('show what is applied: policy hash, runtime, each masked relation and, for materialized ones, the last refresh and row count')
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
        const parts = [];
        for (const section of policySections(policy)) {
          parts.push(
            await maskingStatus(client, section, snapshot).catch((e: unknown) => {
              throw databaseError(e, 'cannot read what is applied', 'connect as a member of pgmask_owner or the role that ran pgmask migrate (docs/privileges.md)');
            }),
          );
        }
        // one status over every masked schema of the policy: up to date only when each is
        const stale = parts.find((p) => !p.upToDate);
        const status = { ...(stale ?? parts[0]!), upToDate: !stale, relations: parts.flatMap((p) => p.relations) };
        if (out.json) {
          out.out(JSON.stringify({ ok: true, ...status }, null, 2));
          return;
        }
        out.out(`policy ${policy.file}: sha256 ${policy.hash.slice(0, 16)} — ${status.upToDate ? 'applied, up to date' : status.appliedPolicyHash ? `NOT up to date (applied: ${status.appliedPolicyHash.slice(0, 16)} at ${status.appliedAt}); run pgmask migrate` : 'never applied; run pgmask migrate'}`);
        out.out(`runtime: ${status.runtime ?? 'not installed'}`);
        for (const r of status.relations) {
          const refresh = r.kind === 'materialized view' ? (r.lastRefresh ? `last refresh ${r.lastRefresh}, ${r.lastRefreshRows} rows, ${Math.round(r.lastRefreshMs ?? 0)} ms` : 'not refreshed since migrate') : '';
          const mismatch = r.kind !== r.wanted ? ` (policy wants a ${r.wanted})` : '';
          out.out(`  ${r.relation.padEnd(32)} ${r.kind}${mismatch}${refresh ? `  ${refresh}` : ''}`);
        }
      } finally {
        await client.end();
      }
    });
}
