import { Command } from 'commander';
import { loadPolicyFile, snapshotFor } from '../pipeline.ts';
import { refreshMaterialized, type RefreshResult } from '../../db/refresh.ts';
import { isCitusRefresh, refreshCitus } from '../../db/citus.ts';
import { createOutput } from '../output.ts';
import { databaseUrlOption, jsonOption, lockTimeoutOption, parseDuration, policyOption, requireDatabaseUrl } from '../options.ts';
import { withInterrupt } from '../interrupt.ts';
import { formatNotice } from '../../db/connection.ts';
import { withGuardedSession } from '../../db/session-guard.ts';

export function refreshCommand(): Command {
  return new Command('refresh')
    .description('refresh the materialized masked views (CONCURRENTLY: analysts keep reading), parents before children')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .option('-t, --table <name...>', 'refresh only these tables')
    .addOption(lockTimeoutOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nRun it as the role that ran pgmask migrate (e.g. from cron after the nightly load):\n  pgmask refresh --policy pgmask.yaml\n  pgmask refresh --table encounters observations')
    .action(async (opts: { policy: string; databaseUrl?: string; table?: string[]; json?: boolean; lockTimeout: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const lockTimeoutMs = parseDuration(opts.lockTimeout, '--lock-timeout');
      const out = createOutput(Boolean(opts.json));
      const { policy, registry } = await loadPolicyFile(opts.policy);
      const rolledBack = 'the refresh it was running was rolled back (views refreshed before it stay refreshed)';
      await withInterrupt(out, (signal) =>
        withGuardedSession(url, { lockTimeoutMs, signal, onNotice: (n) => out.err(formatNotice(n)), command: 'refresh', rolledBack }, async (client, guard) => {
          // each view refreshes in its own transaction: a Ctrl-C between two stops before the next
          const progress = (line: string) => {
            if (line.startsWith('refreshing ')) guard.throwIfCancelled();
            out.progress(line);
          };
          const snapshot = await snapshotFor(client, policy);
          const results: RefreshResult[] = [];
          // Citus mode: every masked table of the policy refilled in one distributed transaction
          if (isCitusRefresh(policy, snapshot)) results.push(...(await refreshCitus(client, policy, registry, snapshot, { tables: opts.table, onProgress: progress })));
          // one order over every masked schema: a parent in one schema before its child in another
          else results.push(...(await refreshMaterialized(client, policy, snapshot, { tables: opts.table, onProgress: progress, onWarning: (w) => out.err(w) })));
          if (out.json) {
            out.out(JSON.stringify({ ok: true, refreshed: results.map((r) => ({ view: r.view, rows: r.rows, durationMs: Math.round(r.durationMs), concurrently: r.concurrently })) }, null, 2));
          } else if (results.length === 0) {
            out.out('nothing to refresh: the policy materializes no table (set materialize: true)');
          } else {
            for (const r of results) out.out(`refreshed ${r.view}: ${r.rows} rows in ${Math.round(r.durationMs)} ms (${r.concurrently ? 'concurrently' : 'Citus: one transaction, readers waited'})`);
          }
        }),
      );
    });
}
