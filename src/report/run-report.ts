import type pg from 'pg';
import { connect } from '../db/connection.ts';
import { findTable, type CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { databaseError, ExitCode, PgmaskError, usageError } from '../errors.ts';
import type { LoadedPolicy } from '../policy/loaded-policy.ts';
import { snapshotFor } from '../db/introspect.ts';
import { resolveRuntime, VIEW_COMMENT_MARKER } from '../plan/planner.ts';
import { plannedMaskedViews } from '../plan/planned-masked-views.ts';
import { citusMode } from '../plan/citus.ts';
import { chooseRiskReader, riskSessionStatements, type RiskReader } from './risk-reader.ts';
import type { CreateMaskedView } from '../plan/nodes.ts';
import { ident, literal, param, sql } from '../sql/index.ts';
import { PGMASK_VERSION } from '../version.ts';
import { measureTableRisk } from './measure-risk.ts';
import { measureTableUtility } from './measure-utility.ts';
import { measureSignalFidelity } from './signal-fidelity.ts';
import { DEFAULT_RISK_THRESHOLD, REPORT_FORMAT_VERSION, inMaskedSchema, tableLabel, type ColumnUtility, type CorrelationPair, type SignalFidelity, type Report, type RiskSection, type TableRisk, type UtilitySection } from './report.ts';
import { safeHarborChecklist } from './safe-harbor-checklist.ts';
import { sampleTable } from '../scan/sample.ts';
import type { Preset } from '../scan/presets.ts';
import { query, readOnly } from '../db/query.ts';

/**
 * Memory for each sort and hash of the report's queries (its transactions
 * only): with the default 4MB the million-row sorts (medians, distinct counts)
 * and materialized rows spill to disk; measured on 1M observations, utility
 * 5.7 → 4.3 s and risk 1.6 → 1.0 s.
 */
const REPORT_WORK_MEM = literal('128MB');

export interface ReportOptions {
  /** the masking role to read the views as; default: the policy's first role */
  readonly role?: string;
  /** gate: report not ok when a table's k is below this */
  readonly minK?: number | null;
  /** progress lines (the CLI shows them on a TTY) */
  readonly progress?: (line: string) => void;
  /** read the views through this login (e.g. the BI tool's) instead of becoming the role */
  readonly loginUrl?: string;
  /** the standard the checklist judges against (default hipaa-safe-harbor) */
  readonly preset?: Preset;
}

/** Rows sampled per table for the checklist's classifier (the scan reads 1,000; categories settle well before). */
const CHECKLIST_SAMPLE_ROWS = 300;

/**
 * `pgmask report`: risk measured through the masked views as the masking role,
 * utility measured on the admin connection (the view's expressions next to the
 * raw values, aggregated in SQL), the Safe Harbor checklist from the catalog.
 * Both sessions are read-only transactions that are rolled back; nothing is
 * written, and only aggregates and masked values come back.
 */
export async function runReport(databaseUrl: string, loaded: LoadedPolicy, options: ReportOptions = {}): Promise<Report> {
  const started = performance.now();
  const { policy, registry } = loaded;
  const minK = options.minK ?? null;
  const threshold = minK ?? DEFAULT_RISK_THRESHOLD;
  const progress = options.progress ?? (() => {});
  const role = options.role ?? policy.roles[0]?.name;
  if (!role && !options.loginUrl) throw usageError('REPORT_NO_ROLE', 'the policy has no masking role to measure the views as', 'add a role under roles: in the policy, or pass --role ROLE or --login-url URL');

  const admin = await connect(databaseUrl);
  try {
    let snapshot: CatalogSnapshot;
    try {
      snapshot = withoutExtensionRelations(await snapshotFor(admin, policy), await extensionRelations(admin, policy.schemas.map((s) => s.source)));
    } catch (cause) {
      throw databaseError(cause, 'cannot read the catalog', 'connect as a superuser or the role that ran pgmask migrate');
    }
    const runtime = resolveRuntime(policy, snapshot);
    // Citus mode: the masked tables are filled by the materialized views the Citus plan starts from
    const views = plannedMaskedViews({ policy, snapshot, registry, runtime, runtimeSql: '', pgmaskVersion: PGMASK_VERSION });
    const warnings = checkViews(snapshot, views, policy.hash, citusMode(policy, snapshot));
    if (!options.loginUrl && !snapshot.roles.some((r) => r.name === role)) {
      throw usageError('REPORT_UNKNOWN_ROLE', `role ${role} does not exist`, 'run pgmask migrate first (it creates the masking roles), or pass --role with an existing role');
    }

    const reader = options.loginUrl ? null : chooseRiskReader(policy, snapshot, role!);
    const readAs = reader === null ? 'the login of --login-url' : reader.throughMember ? `${reader.role} (a login member of ${reader.maskingRole}: Citus reaches the workers as the current role)` : reader.role;
    progress(`measuring risk as ${readAs} and utility as ${snapshot.currentUser} …`);
    const [risk, utility] = await Promise.all([
      measureRisk(reader === null ? { loginUrl: options.loginUrl! } : { databaseUrl, reader }, loaded, threshold, minK),
      measureUtility(admin, loaded, snapshot, views),
    ]);
    const samples = new Map<string, ReadonlyMap<string, readonly string[]>>();
    for (const ptable of policy.tables) {
      const table = findTable(snapshot, ptable.sourceSchema, ptable.name);
      if (table) samples.set(`${table.schema}.${table.name}`, (await sampleTable(admin, table, CHECKLIST_SAMPLE_ROWS)).values);
    }
    const safeHarbor = safeHarborChecklist(policy, snapshot, { preset: options.preset, samples });
    for (const t of risk.tables) {
      if (t.status === 'measured' && t.failingClassesTruncated) warnings.push(`${tableLabel(t)}: ${t.atRisk.classes} classes are below k=${threshold}; only the first ${t.failingClasses.length} are listed`);
    }
    const ok = minK === null || risk.tables.every((t) => t.status !== 'measured' || t.meetsMinK !== false);
    return {
      reportFormat: REPORT_FORMAT_VERSION,
      ok,
      generatedAt: new Date().toISOString(),
      database: snapshot.database,
      policy: {
        file: policy.file,
        hash: policy.hash,
        sourceSchema: policy.sourceSchema,
        maskedSchema: policy.maskedSchema,
        ...(policy.schemas.length > 1 ? { schemas: policy.schemas.map((s) => ({ source: s.source, masked: s.masked })) } : {}),
      },
      minK,
      riskThreshold: threshold,
      risk,
      utility,
      safeHarbor,
      warnings,
      elapsedMs: Math.round(performance.now() - started),
    };
  } finally {
    await admin.end().catch(() => {});
  }
}

/**
 * Every view must exist; a view made from another policy version is measured but warned
 * about. In Citus mode each masked relation must be a table Citus distributes (a view of a
 * distributed table would read the raw shards as the analyst: docs/scale.md).
 */
function checkViews(snapshot: CatalogSnapshot, views: readonly CreateMaskedView[], policyHash: string, citus: boolean): string[] {
  const warnings: string[] = [];
  const missing = views.filter((v) => !findTable(snapshot, v.schema, v.name));
  if (missing.length > 0) {
    throw new PgmaskError({
      code: 'REPORT_NOT_MIGRATED',
      message: `masked ${citus ? 'table' : 'view'}${missing.length > 1 ? 's' : ''} ${missing.map((v) => `${v.schema}.${v.name}`).join(', ')} not found`,
      hint: 'run pgmask migrate with this policy first: the report measures what analysts see',
      exitCode: ExitCode.database,
    });
  }
  for (const v of views) {
    const live = findTable(snapshot, v.schema, v.name)!;
    if (!live.comment?.startsWith(VIEW_COMMENT_MARKER) || !live.comment.includes(policyHash.slice(0, 16))) {
      warnings.push(`${v.schema}.${v.name} was not created from this policy file (sha256 ${policyHash.slice(0, 16)}): risk is measured on the live view, utility on this policy's rules; run pgmask check`);
    }
    if (citus && (live.kind !== 'table' || !snapshot.citus?.tables.some((t) => t.schema === v.schema && t.name === v.name))) {
      warnings.push(`${v.schema}.${v.name} is a ${live.kind} that Citus does not distribute, not a Citus masked table: run pgmask migrate on the coordinator (docs/scale.md)`);
    }
  }
  return warnings;
}

/**
 * Relations an extension owns in the source schemas (pg_depend deptype 'e': Citus's
 * citus_tables, citus_shards and other views in public, pg_stat_statements): they hold
 * no source data, so the checklist's subject and vocabulary guesses must not see them.
 */
export async function extensionRelations(client: pg.ClientBase, schemas: readonly string[]): Promise<Set<string>> {
  const rows = (
    await query<{ schema: string; name: string }>(
      client,
      sql`SELECT n.nspname AS schema, c.relname AS name
            FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
           WHERE n.nspname = ANY(${param([...schemas])}::text[])
             AND EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                          WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')`,
    )
  ).rows;
  return new Set(rows.map((r) => JSON.stringify([r.schema, r.name])));
}

function withoutExtensionRelations(snapshot: CatalogSnapshot, owned: ReadonlySet<string>): CatalogSnapshot {
  if (owned.size === 0) return snapshot;
  return { ...snapshot, tables: snapshot.tables.filter((t) => !owned.has(JSON.stringify([t.schema, t.name]))) };
}

type RiskSession = { readonly loginUrl: string } | { readonly databaseUrl: string; readonly reader: RiskReader };

/**
 * A new read-only session as the analyst: a real login (--login-url), or the admin
 * become the reader (src/report/risk-reader.ts: the masking role, or in Citus mode one
 * of its login members) faithfully with SET SESSION AUTHORIZATION when the admin is a
 * superuser, else with SET ROLE as a member of it.
 */
async function openRiskSession(how: RiskSession): Promise<{ client: pg.Client; role: string; impersonation: RiskSection['impersonation'] }> {
  const client = await connect('loginUrl' in how ? how.loginUrl : how.databaseUrl);
  try {
    if ('loginUrl' in how) {
      for (const statement of riskSessionStatements(null, REPORT_WORK_MEM)) await query(client, statement);
      const me = (await query<{ u: string }>(client, sql`SELECT current_user AS u`)).rows[0]!.u;
      return { client, role: me, impersonation: 'login' };
    }
    for (const statement of riskSessionStatements(how.reader, REPORT_WORK_MEM)) await query(client, statement);
    return { client, role: how.reader.role, impersonation: how.reader.impersonation };
  } catch (cause) {
    await client.end().catch(() => {});
    const who = 'loginUrl' in how ? 'the --login-url login' : how.reader.role;
    throw databaseError(cause, `cannot become ${who}`, 'loginUrl' in how ? 'check --login-url' : `connect as a superuser, or as a member of ${how.reader.role}`);
  }
}

async function measureRisk(how: RiskSession, loaded: LoadedPolicy, threshold: number, minK: number | null): Promise<RiskSection> {
  const { policy } = loaded;
  const { client, role, impersonation } = await openRiskSession(how);
  try {
    const tables: TableRisk[] = [];
    for (const t of policy.tables) {
      if (t.quasiIdentifiers.length === 0) {
        tables.push(inMaskedSchema(policy, t.maskedSchema, { table: t.name, status: 'not declared' }));
        continue;
      }
      try {
        tables.push(inMaskedSchema(policy, t.maskedSchema, await measureTableRisk(client, { maskedSchema: t.maskedSchema, table: t.name, quasiIdentifiers: t.quasiIdentifiers, sensitive: t.sensitive, threshold, minK })));
      } catch (cause) {
        throw databaseError(cause, `cannot measure ${t.maskedSchema}.${t.name} as ${role}`, `check that ${role} can read the masked views (pgmask verify)`);
      }
    }
    return { role, impersonation, ...('reader' in how && how.reader.throughMember ? { maskingRole: how.reader.maskingRole } : {}), tables };
  } finally {
    await query(client, sql`ROLLBACK`).catch(() => {});
    await client.end().catch(() => {});
  }
}

async function measureUtility(admin: pg.Client, loaded: LoadedPolicy, snapshot: CatalogSnapshot, views: readonly CreateMaskedView[]): Promise<UtilitySection> {
  const { policy } = loaded;
  const columns: ColumnUtility[] = [];
  const correlations: CorrelationPair[] = [];
  const signals: SignalFidelity[] = [];
  await readOnly(admin, async () => {
    // the row filter is written against the source schema, as in the view
    await query(admin, sql`SET LOCAL work_mem = ${REPORT_WORK_MEM}`);
    for (const view of views) {
      await query(admin, sql`SET LOCAL search_path = pg_catalog, ${ident(view.sourceSchema)}`);
      const policyTable = policy.tables.find((t) => t.sourceSchema === view.sourceSchema && t.name === view.name)!;
      const source = findTable(snapshot, view.sourceSchema, view.sourceTable)!;
      try {
        const keyColumns = [...(source.primaryKey ?? []), ...source.foreignKeys.flatMap((k) => k.columns)];
        const measured = await measureTableUtility(admin, { view, policyTable, columns: source.columns, keyColumns });
        const tag = <T extends { readonly table: string }>(entry: T) => inMaskedSchema(policy, view.schema, entry);
        columns.push(...measured.columns.map(tag));
        correlations.push(...measured.correlations.map(tag));
        signals.push(...(await measureSignalFidelity(admin, view, policyTable, source.columns)).map(tag));
      } catch (cause) {
        throw databaseError(cause, `cannot compare ${view.sourceSchema}.${view.sourceTable} with its masked values`, 'connect as a superuser or the role that ran pgmask migrate (it reads the source tables and the keys)');
      }
    }
  });
  return { computedAs: snapshot.currentUser, columns, correlations, signals };
}
