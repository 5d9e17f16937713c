import { Command, InvalidArgumentError, Option } from 'commander';
import { loadPolicyFile, snapshotFor } from '../pipeline.ts';
import { connect, redactUrl } from '../../db/connection.ts';
import { checkRowFilter } from '../../sql/index.ts';
import { usageError } from '../../errors.ts';
import { PGMASK_VERSION } from '../../version.ts';
import { planExtract, type ExtractSubset } from '../../extract/extract-plan.ts';
import { runExtract, type ExtractProgress } from '../../extract/run-extract.ts';
import { viewsFromPolicy } from '../../extract/applied-policy.ts';
import { listKeys } from '../../db/keys.ts';
import { databaseSink } from '../../extract/database-sink.ts';
import { sqlFileSink } from '../../extract/sql-file-sink.ts';
import { csvSink } from '../../extract/csv-sink.ts';
import type { ExtractSink } from '../../extract/extract-sink.ts';
import { createOutput } from '../output.ts';
import { databaseUrlOption, jsonOption, policyOption, requireDatabaseUrl, transformsOption } from '../options.ts';

function positiveInteger(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

/** `10%` or `0.1` → 0.1; a share of subjects in (0, 1]. */
export function parseSubjectShare(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const value = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(value > 0 && value <= 1)) throw new InvalidArgumentError('expected a share of subjects such as 10% or 0.1 (more than 0, at most 100%)');
  return value;
}

/** `TABLE: condition` → its parts; the condition must be one SQL expression (it is put inside WHERE (…)). */
export function parseWhere(text: string): { table: string; condition: string } {
  const colon = text.indexOf(':');
  const table = colon > 0 ? text.slice(0, colon).trim() : '';
  const condition = colon > 0 ? text.slice(colon + 1).trim() : '';
  if (!table || !condition) throw usageError('EXTRACT_WHERE_INVALID', `--where ${JSON.stringify(text)} is not 'TABLE: condition'`, "e.g. --where \"patients: sex = 'F'\"");
  const problem = checkRowFilter(condition);
  if (problem) throw usageError('EXTRACT_WHERE_INVALID', `the --where condition ${problem.message} (at character ${problem.offset + 1})`, 'write one SQL boolean expression over the masked columns of the table');
  return { table, condition };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

interface ExtractOptions {
  policy: string;
  databaseUrl?: string;
  transforms?: string;
  role?: string;
  to?: string;
  out?: string;
  format?: 'sql' | 'csv';
  schema?: string;
  jobs: number;
  subjects?: number;
  seed: string;
  where?: string;
  minK?: number;
  replace?: boolean;
  json?: boolean;
}

export function extractCommand(): Command {
  return new Command('extract')
    .description('write what a masking role sees — and nothing more — to another database, one SQL file or CSV files, in one consistent snapshot; optional keyed subsets and a k-anonymity gate')
    .addOption(policyOption())
    .addOption(databaseUrlOption())
    .addOption(transformsOption())
    .option('-r, --role <role>', "masking role whose view is extracted (default: the policy's first role)")
    .option('--to <url>', 'target PostgreSQL database: same table and column names and types, keys re-created on the masked values')
    .option('-o, --out <path>', 'output file (--format sql) or directory (--format csv)')
    .addOption(new Option('--format <format>', 'with --out: sql (one file for psql -f) or csv (one file per table + manifest.json)').choices(['sql', 'csv']).default('sql'))
    .option('--schema <name>', "schema of the extracted tables in the target (default: the policy's source_schema; a policy with several source schemas writes each table to a schema named like its masked schema)")
    .option('-j, --jobs <n>', 'tables read and written in parallel, all in one snapshot', positiveInteger, 1)
    .option('--subjects <share>', 'keep this share of subjects (e.g. 10%) with all their rows in every table, plus the parent rows those reference', parseSubjectShare)
    .option('--seed <text>', 'seed of the --subjects sample: same seed, same subset', 'pgmask')
    .option('--where <table-condition>', "start from the rows of one table, e.g. \"patients: sex = 'F'\": their subjects' rows in every table")
    .option('--min-k <k>', 'refuse (exit 7, nothing written) when k-anonymity over a table\'s quasi_identifiers is below k on the extracted rows', positiveInteger)
    .option('--replace', 'overwrite an existing output file or directory, or drop same-named tables in the target')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nRows are read through the masked views as the masking role (SET ROLE): connect as a superuser or a member of that role.\n\nExamples:\n  pgmask extract --to postgres://partner@host/study42\n  pgmask extract --out release-42.sql --subjects 10% --min-k 5\n  pgmask extract --format csv --out release-42/ --jobs 2',
    )
    .action(async (opts: ExtractOptions) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const out = createOutput(Boolean(opts.json));
      if ((opts.to === undefined) === (opts.out === undefined)) throw usageError('EXTRACT_DESTINATION', 'give exactly one destination: --to URL or --out PATH', 'e.g. --to postgres://host/empty_db, or --out extract.sql, or --format csv --out DIR');
      const to = opts.to === undefined ? undefined : requireDatabaseUrl(opts.to);
      const where = opts.where === undefined ? null : parseWhere(opts.where);
      const { policy } = await loadPolicyFile(opts.policy, opts.transforms);
      const role = opts.role ?? policy.roles[0]?.name;
      if (!role) throw usageError('EXTRACT_NO_ROLE', 'the policy has no masking role to extract as', 'add a role under roles: in the policy');
      if (!policy.roles.some((r) => r.name === role)) throw usageError('EXTRACT_NOT_MASKING_ROLE', `${role} is not a masking role of this policy`, `use one of: ${policy.roles.map((r) => r.name).join(', ')}`);
      const subset: ExtractSubset | null = opts.subjects === undefined && where === null ? null : { fraction: opts.subjects ?? null, seed: opts.seed, where };

      const admin = await connect(url);
      let plan;
      let fingerprints;
      try {
        const snapshot = await snapshotFor(admin, policy);
        plan = planExtract(policy, snapshot, subset, { targetSchema: opts.schema ?? null, viewsFromThisPolicy: await viewsFromPolicy(admin, policy) });
        fingerprints = (await listKeys(admin)).filter((k) => k.current && policy.keys.includes(k.name)).map((k) => ({ name: k.name, version: k.version, fingerprint: k.fingerprint }));
      } finally {
        await admin.end();
      }
      for (const w of plan.warnings) out.err(`warning: ${w}`);

      const started = performance.now();
      const bytes = new Map<string, number>();
      const onBytes = (table: string, n: number) => bytes.set(table, (bytes.get(table) ?? 0) + n);
      const sink: ExtractSink = to
        ? databaseSink({ connect: () => connect(to), replace: Boolean(opts.replace), onBytes })
        : opts.format === 'csv'
          ? csvSink({ dir: opts.out!.replace(/\/+$/, ''), replace: Boolean(opts.replace), onBytes })
          : sqlFileSink({ file: opts.out!, replace: Boolean(opts.replace), onBytes });
      const progress = (p: ExtractProgress) => {
        if (!p.done) return;
        const seconds = (performance.now() - started) / 1000;
        const eta = p.tablesDone < p.tablesTotal ? `, about ${Math.ceil((seconds / p.tablesDone) * (p.tablesTotal - p.tablesDone))} s left` : '';
        out.progress(`${p.table}: ${p.rows} rows, ${megabytes(p.bytes)} (${p.tablesDone}/${p.tablesTotal} tables, ${seconds.toFixed(1)} s${eta})`);
      };
      const manifest = await runExtract({
        policy,
        plan,
        role,
        jobs: opts.jobs,
        minK: opts.minK ?? null,
        subset,
        openSource: () => connect(url),
        sink,
        keyFingerprints: fingerprints,
        pgmaskVersion: PGMASK_VERSION,
        progress,
      });
      if (out.json) out.out(JSON.stringify({ ok: true, destination: to ? redactUrl(to) : opts.out, manifest }, null, 2));
      else {
        const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
        out.out(`extracted ${manifest.tables.length} tables, ${rows} rows as ${role} to ${sink.description}${to ? ` at ${redactUrl(to)}` : ''} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        // the manifest lists the plan's tables in order; the label tells same-named tables of two schemas apart
        manifest.tables.forEach((t, i) => out.out(`  ${plan.tables[i]!.label}: ${t.rows} rows`));
      }
    });
}
