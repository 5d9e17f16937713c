import { Command } from 'commander';
import { loadPolicyFile } from '../pipeline.ts';
import { STANDBY_SKIP, verify } from '../../verify/verify.ts';
import type { VerifyReport } from '../../verify/verify-report.ts';
import { listSome } from '../../verify/attack-session.ts';
import { ExitCode } from '../../errors.ts';
import { createOutput } from '../output.ts';
import { setCommandExitCode } from '../status.ts';
import { databaseUrlOption, jsonOption, policyOption, requireDatabaseUrl, transformsOption } from '../options.ts';

export function verifyCommand(): Command {
  return new Command('verify')
    .description('attack the live masking as each masking role and login member (in transactions rolled back; changes nothing); exit 6 on any leak')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(transformsOption())
    .option('-r, --role <role>', 'attack as this role only (a masking role or a login member); default: every masking role and member in the policy')
    .option('--allow-skipped <ids>', 'comma-separated attack ids that may be skipped without failing (default: none; any other skipped attack exits 4)')
    .option('--login-url <url>', 'attack through a real login with this URL (e.g. the BI tool\'s) instead of impersonating; --database-url still reads the facts as admin')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nConnect as a superuser for a faithful test (SET SESSION AUTHORIZATION); otherwise the connecting role must be a member of each role (SET ROLE).\n\nExamples:\n  pgmask verify --policy examples/clinic.yaml\n  pgmask verify --role metabase_reader --json | jq \'.subjects[].attacks[] | select(.status == "leaked")\'',
    )
    .action(async (opts: { policy: string; databaseUrl?: string; role?: string; loginUrl?: string; json?: boolean; transforms?: string; allowSkipped?: string }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const out = createOutput(Boolean(opts.json));
      const { policy, registry } = await loadPolicyFile(opts.policy, opts.transforms);
      out.progress(`attacking ${policy.roles.length} masking role(s) and their members …`);
      const loginUrl = opts.loginUrl === undefined ? undefined : requireDatabaseUrl(opts.loginUrl);
      const allowSkipped = (opts.allowSkipped ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
      const report = await verify(url, policy, { role: opts.role, registry, loginUrl, allowSkipped, onProgress: out.progress });
      if (out.json) out.out(JSON.stringify(report, null, 2));
      else out.out(formatVerifyReport(report));
      // a leak exits 6; otherwise fail closed: an attack that did not run is not an attack that held (exit 4)
      if (!report.ok) setCommandExitCode(ExitCode.leak);
      else if (!report.complete) setCommandExitCode(ExitCode.database);
      const unattacked = report.subjects.filter((s) => s.impersonation === 'none').map((s) => s.role);
      if (unattacked.length > 0) out.err(`verify: could not attack as ${unattacked.join(', ')} (see the skipped attacks)`);
      if (report.ok && !report.complete) {
        const unproven = report.subjects.flatMap((s) => s.attacks.filter((a) => a.status === 'skipped' && !allowSkipped.includes(a.id)).map((a) => `${s.role}/${a.id}`));
        out.err(`verify: ${unproven.length} attack(s) skipped, so the masking is not proven (exit 4): ${listSome(unproven)}; fix the cause or accept them with --allow-skipped`);
      }
    });
}

/** Held/leaked per attack and subject, leaks first within each subject, then the summary. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  const mark = { held: 'held   ', leaked: 'LEAKED ', skipped: 'skipped' } as const;
  for (const s of report.subjects) {
    lines.push(`${s.role} (${s.kind}; ${s.impersonation}; search_path ${s.searchPath})`);
    const ordered = [...s.attacks].sort((a, b) => Number(b.status === 'leaked') - Number(a.status === 'leaked'));
    for (const a of ordered) {
      lines.push(`  ${mark[a.status]} ${a.id}: ${a.evidence}`);
    }
    lines.push('');
  }
  const { held, leaked, skipped } = report.summary;
  if (report.standby) {
    const onStandby = report.subjects.reduce((n, sub) => n + sub.attacks.filter((a) => a.status === 'skipped' && a.evidence.startsWith(STANDBY_SKIP)).length, 0);
    lines.push(`on a standby: ${onStandby} attack(s) that create objects were skipped; run pgmask verify on the primary for them`);
  }
  lines.push(
    report.ok
      ? `verify: no leak — ${held} held, ${skipped} skipped, ${report.subjects.length} role(s) on ${report.database}`
      : `verify: ${leaked} LEAK(S) — ${held} held, ${skipped} skipped; fix every LEAKED line above (exit 6)`,
  );
  return lines.join('\n');
}
