import pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import { declaredTransformsDir, parsePolicyDocument, readPolicyDocument } from '../policy/parse.ts';
import { readPolicyFile } from './read-policy-file.ts';
import { dirname, resolve } from 'node:path';
import { checkPolicy } from '../policy/validate.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { snapshotFor } from '../db/introspect.ts';
import type { LoadedPolicy } from '../policy/loaded-policy.ts';

export { snapshotFor } from '../db/introspect.ts';
export type { LoadedPolicy } from '../policy/loaded-policy.ts';
import { applyMigrations, type MigrationResult } from '../db/migrate.ts';
import { sha256Hex } from '../sha256.ts';
import { readAccessState } from '../db/access-state.ts';
import type { AccessState } from '../catalog/access-state.ts';
import { summarizePlan, type PlanSummary } from '../plan/plan-summary.ts';
import { checkNodeAccess, citusObjectReport, type CitusObjectReport } from '../db/citus.ts';
import { connect, type ServerNotice } from '../db/connection.ts';
import { withGuardedSession, type Blocker, type SessionGuard } from '../db/session-guard.ts';
import { assertMigratePrivileges, assertRevocableMemberships, readMigrateRoleFacts, type MigrateTargets } from '../db/migrate-privileges.ts';
import { registry as builtinRegistry, type TransformRegistry } from '../transforms/registry.ts';
import { sqlRuntimeInstall, plv8RuntimeInstall } from '../runtime/runtime-install.ts';
import { loadCustomTransforms } from '../runtime/load-custom-transforms.ts';
import type { Runtime } from '../transforms/transform.ts';
import { planMigration, resolveRuntime, type MigrationPlan } from '../plan/planner.ts';
import { renderPlan } from '../plan/render.ts';
import { PGMASK_VERSION } from '../version.ts';
import { ident, sql, sqlExpression } from '../sql/index.ts';
import { policyError, type ErrorDetail } from '../errors.ts';
import { formatPath } from '../policy/policy-source-map.ts';
import { query, readOnly, savepoint } from '../db/query.ts';

/**
 * The imperative shell around the pure planner: connect, introspect, validate,
 * build the runtime, plan, render, apply. The CLI and the benchmarks call these.
 */

export interface PreparedMigration {
  readonly policy: Policy;
  readonly snapshot: CatalogSnapshot;
  readonly registry: TransformRegistry;
  readonly runtime: Runtime;
  readonly plan: MigrationPlan;
  readonly sql: string;
  /** sha256 of `sql` without its offboarding revokes: what the migration history records and compares */
  readonly sqlSha256: string;
  /** grants, role settings, runtime and keys as they were before (for the offboarding revokes and the summary) */
  readonly access: AccessState;
  /** what the migration changes, as a reviewer reads it (`pgmask plan`, and migrate's report) */
  readonly summary: PlanSummary;
  /** validation warnings (the migration still runs): the CLI prints them */
  readonly warnings: readonly ErrorDetail[];
}

/**
 * Parses a policy with the transforms it may use: the built-ins plus the custom
 * ones from `transformsDir` (the --transforms flag) or the policy's own
 * `transforms:` key, which is read in a first pass because the parser must know
 * every transform name.
 */
export async function loadPolicyText(text: string, file: string, transformsDir?: string | null): Promise<LoadedPolicy> {
  const document = readPolicyDocument(text, file);
  const declared = transformsDir ? null : declaredTransformsDir(document);
  const dir = transformsDir || (declared === null ? null : resolve(dirname(file), declared));
  const registry = dir ? builtinRegistry.with(await loadCustomTransforms(dir)) : builtinRegistry;
  return { policy: parsePolicyDocument(document, registry), registry, transformsDir: dir };
}

export async function loadPolicyFile(path: string, transformsDir?: string | null): Promise<LoadedPolicy> {
  return loadPolicyText(readPolicyFile(path), path, transformsDir);
}

/** Checks every row filter against the real table (plans it, reads nothing); problems are policy errors. */
async function checkFilters(client: pg.ClientBase, policy: Policy): Promise<void> {
  const problems: ErrorDetail[] = [];
  for (const table of policy.tables) {
    if (table.filter === null) continue;
    const probe = sql`EXPLAIN (COSTS OFF) SELECT 1 FROM ${ident(table.sourceSchema, table.name)} AS src WHERE ${sqlExpression(table.filter)}`;
    try {
      await savepoint(
        client,
        async () => {
          await query(client, sql`SET LOCAL search_path = pg_catalog, ${ident(table.sourceSchema)}`);
          await query(client, probe);
        },
        { rollback: true },
      );
    } catch (e) {
      problems.push({
        code: 'FILTER_INVALID',
        severity: 'error',
        message: `filter of table ${table.name} does not work on ${table.sourceSchema}.${table.name}: ${(e as Error).message}`,
        hint: 'a filter is a boolean SQL expression over the source table columns',
        path: formatPath([...table.path, 'filter']),
      });
    }
  }
  if (problems.length > 0) throw policyError('a row filter is invalid', problems);
}

/** Plans the policy migration against the live catalog (reads only). */
export async function prepareMigration(client: pg.ClientBase, loaded: LoadedPolicy): Promise<PreparedMigration> {
  const { policy, registry } = loaded;
  const snapshot = await snapshotFor(client, policy);
  const runtime = resolveRuntime(policy, snapshot);
  // validate before touching the database again: a policy that does not fit fails with positions (exit 3)
  const checked = checkPolicy(policy, snapshot, registry, runtime);
  await readOnly(client, () => checkFilters(client, policy));
  const runtimeSql = runtime === 'sql' ? sqlRuntimeInstall(registry) : await plv8RuntimeInstall(registry, { customDir: loaded.transformsDir ?? undefined });
  const access = await readAccessState(client, policy.schemas.map((s) => s.masked));
  const plan = planMigration({ policy, snapshot, registry, runtime, runtimeSql, pgmaskVersion: PGMASK_VERSION, access, checked });
  const rendered = renderPlan(plan);
  const revokes = plan.nodes.some(isRevoke);
  const sqlSha256 = sha256Hex(revokes ? renderPlan({ ...plan, nodes: plan.nodes.filter((n) => !isRevoke(n)) }) : rendered);
  return {
    policy,
    snapshot,
    registry,
    runtime,
    plan,
    sql: rendered,
    sqlSha256,
    access,
    summary: summarizePlan(plan, snapshot, access),
    warnings: checked.warnings,
  };
}

function isRevoke(node: MigrationPlan['nodes'][number]): boolean {
  return node.kind === 'RevokeAccess' || node.kind === 'RevokeMembership';
}

export interface ApplyOptions {
  readonly dryRun?: boolean;
  /** the longest any statement waits for a lock (default DEFAULT_LOCK_TIMEOUT_MS; 0: no limit) */
  readonly lockTimeoutMs?: number;
  /** aborted by Ctrl-C: the running statement is cancelled on the server and the migration rolled back */
  readonly signal?: AbortSignal;
  /** WARNING and NOTICE messages the server sends while migrating (default: dropped) */
  readonly onNotice?: (notice: ServerNotice) => void;
  /** told who holds the masked views' locks while migrate waits for them (without making readers queue) */
  readonly onLockWait?: (blockers: readonly Blocker[]) => void;
}

/** migrate and refresh wait this long for a lock, then give up naming who holds it (--lock-timeout) */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export interface ApplyResult {
  readonly prepared: PreparedMigration;
  readonly migration: MigrationResult;
  /** Citus mode: what every worker lacks of what the coordinator has (pgmask functions, pgcrypto, roles, memberships) */
  readonly citus?: CitusObjectReport;
}

/** Plans and applies a policy (pgmask's own migrations first), in one transaction. */
export async function applyLoadedPolicy(databaseUrl: string, loaded: LoadedPolicy, opts: ApplyOptions = {}): Promise<ApplyResult> {
  return withGuardedSession(
    databaseUrl,
    {
      lockTimeoutMs: opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
      signal: opts.signal,
      onNotice: opts.onNotice,
      command: opts.dryRun ? 'the dry run' : 'migrate',
      rolledBack: opts.dryRun ? 'it changes nothing' : 'the whole migration was rolled back; the database is exactly as before',
    },
    (client, guard) => applyGuarded(client, guard, loaded, opts),
  );
}

async function applyGuarded(client: pg.Client, guard: SessionGuard, loaded: LoadedPolicy, opts: ApplyOptions): Promise<ApplyResult> {
  {
    if (!opts.dryRun) {
      // every missing privilege at once, before anything runs (docs/privileges.md)
      const targets = migrateTargets(loaded.policy);
      assertMigratePrivileges(await readMigrateRoleFacts(client, targets), targets);
    }
    const prepared = await prepareMigration(client, loaded);
    const offboarded = prepared.plan.nodes.flatMap((n) => (n.kind === 'RevokeMembership' ? [n] : []));
    if (!opts.dryRun && offboarded.length > 0) {
      // resetting a removed member's search_path alters that role (PostgreSQL 16+: ADMIN OPTION on it)
      const members = [...new Set(offboarded.filter((n) => n.resetSearchPath).map((n) => n.member))];
      const targets: MigrateTargets = { sources: [], maskedSchemas: [], roles: [], members };
      if (members.length > 0) assertMigratePrivileges(await readMigrateRoleFacts(client, targets), targets);
      await assertRevocableMemberships(client, offboarded);
    }
    const citus = prepared.plan.nodes.some((n) => n.kind === 'CitusPreamble');
    // Citus mode: the fill's shard queries run as this role on every worker; refuse before anything runs if a worker would refuse it
    if (citus && !opts.dryRun) await checkNodeAccess(client);
    guard.throwIfCancelled();
    const migration = await applyMigrations(client, {
      signal: opts.signal,
      politeLocks: { budgetMs: opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, onWait: opts.onLockWait },
      policy: {
        hash: loaded.policy.hash,
        sql: prepared.sql,
        sqlSha256: prepared.sqlSha256,
        revokes: prepared.plan.nodes.some(isRevoke),
        schemas: loaded.policy.schemas.map((s) => ({ source: s.source, masked: s.masked })),
      },
      pgmaskVersion: PGMASK_VERSION,
      dryRun: opts.dryRun ?? false,
    });
    if (citus && !opts.dryRun) return { prepared, migration, citus: await citusObjectReport(client, loaded.policy) };
    return { prepared, migration };
  }
}

function migrateTargets(policy: Policy): MigrateTargets {
  return {
    sources: policy.tables.map((t) => ({ schema: t.sourceSchema, table: t.name })),
    maskedSchemas: policy.schemas.map((s) => s.masked),
    roles: policy.roles.map((r) => r.name),
    members: [...new Set(policy.roles.flatMap((r) => r.members))],
  };
}

/** Applies a policy given as YAML text (benchmarks, tests, the demo). */
export async function applyPolicy(databaseUrl: string, policyYamlText: string, opts: ApplyOptions & { file?: string; transformsDir?: string } = {}): Promise<ApplyResult> {
  return applyLoadedPolicy(databaseUrl, await loadPolicyText(policyYamlText, opts.file ?? 'policy.yaml', opts.transformsDir), opts);
}

/** `pgmask generate`: the SQL a migrate would run for this policy (reads the catalog, changes nothing). */
export async function generateSql(databaseUrl: string, loaded: LoadedPolicy): Promise<PreparedMigration> {
  const client = await connect(databaseUrl);
  try {
    return await prepareMigration(client, loaded);
  } finally {
    await client.end();
  }
}
