import type pg from 'pg';
import type { Policy, PolicyTable } from '../policy/policy.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { ident, literal, sql } from '../sql/index.ts';
import { databaseError, PgmaskError, ExitCode } from '../errors.ts';
import { maskedKeyIndexName } from '../plan/planner.ts';
import { query } from './query.ts';

export interface RefreshResult {
  readonly view: string;
  readonly rows: number;
  readonly durationMs: number;
  readonly concurrently: boolean;
}

/**
 * The policy's materialized tables, parents before children (foreign keys among
 * them), so a child view is never refreshed to reference a parent row its view
 * does not have yet. Ties keep policy order; a cycle keeps policy order too.
 */
export function refreshOrder(policy: Policy, snapshot: CatalogSnapshot): PolicyTable[] {
  const materialized = policy.tables.filter((t) => t.materialize);
  const names = new Set(materialized.map((t) => t.name));
  const parents = new Map<string, Set<string>>();
  for (const t of materialized) {
    const table = findTable(snapshot, policy.sourceSchema, t.name);
    const deps = new Set<string>();
    for (const fk of table?.foreignKeys ?? []) {
      if (fk.refSchema === policy.sourceSchema && names.has(fk.refTable) && fk.refTable !== t.name) deps.add(fk.refTable);
    }
    parents.set(t.name, deps);
  }
  const ordered: PolicyTable[] = [];
  const done = new Set<string>();
  while (ordered.length < materialized.length) {
    const next = materialized.find((t) => !done.has(t.name) && [...parents.get(t.name)!].every((p) => done.has(p)))
      ?? materialized.find((t) => !done.has(t.name))!;
    ordered.push(next);
    done.add(next.name);
  }
  return ordered;
}

/**
 * `pgmask refresh`: REFRESH MATERIALIZED VIEW CONCURRENTLY for each materialized
 * masked view, in dependency order, each in its own transaction so analysts keep
 * reading the previous contents until the new ones commit; then CLUSTER on the
 * masked key (unless the table accepts `row_order: storage`), so rows stay in an
 * order that reveals nothing. Recorded in
 * pgmask.refreshes. Must run as the owner of the views (pgmask_owner, a member,
 * or a superuser).
 */
export async function refreshMaterialized(
  client: pg.ClientBase,
  policy: Policy,
  snapshot: CatalogSnapshot,
  opts: { tables?: readonly string[]; onProgress?: (line: string) => void } = {},
): Promise<RefreshResult[]> {
  const order = refreshOrder(policy, snapshot).filter((t) => !opts.tables || opts.tables.includes(t.name));
  if (opts.tables) {
    for (const name of opts.tables) {
      if (!policy.tables.some((t) => t.name === name && t.materialize)) {
        throw new PgmaskError({ code: 'NOT_MATERIALIZED', message: `table ${name} is not materialized by the policy`, hint: 'set materialize: true for it (and run pgmask migrate), or leave --table out', exitCode: ExitCode.usage });
      }
    }
  }
  const results: RefreshResult[] = [];
  for (const t of order) {
    const rel = findTable(snapshot, policy.maskedSchema, t.name);
    if (rel?.kind !== 'materialized view') {
      throw new PgmaskError({
        code: 'NOT_MIGRATED',
        message: `${policy.maskedSchema}.${t.name} is not a materialized view yet`,
        hint: 'run pgmask migrate with this policy first',
        exitCode: ExitCode.drift,
      });
    }
    const view = ident(policy.maskedSchema, t.name);
    opts.onProgress?.(`refreshing ${policy.maskedSchema}.${t.name} …`);
    const started = performance.now();
    try {
      await query(client, sql`BEGIN`);
      await query(client, sql`REFRESH MATERIALIZED VIEW CONCURRENTLY ${view}`);
      // a concurrent refresh appends new and changed rows where there is room (mostly
      // the end), so position would tell recent rows apart: CLUSTER restores the keyed
      // order (sorted by the masked key), in the same transaction, so readers never see
      // the appended order; it holds an ACCESS EXCLUSIVE lock only while it rewrites
      if (t.rowOrder === 'keyed') await query(client, sql`CLUSTER ${view} USING ${ident(maskedKeyIndexName(policy.maskedSchema, t.name))}`);
      await query(client, sql`COMMIT`);
      const rows = Number((await query<{ n: string }>(client, sql`SELECT count(*) AS n FROM ${view}`)).rows[0]!.n);
      const durationMs = performance.now() - started;
      await query(
        client,
        sql`INSERT INTO pgmask.refreshes (view_schema, view_name, row_count, duration_ms, was_concurrent) VALUES (${literal(policy.maskedSchema)}, ${literal(t.name)}, ${literal(rows)}, ${literal(Math.round(durationMs * 1000) / 1000)}, TRUE)`,
      );
      results.push({ view: `${policy.maskedSchema}.${t.name}`, rows, durationMs, concurrently: true });
    } catch (e) {
      await query(client, sql`ROLLBACK`).catch(() => {});
      throw databaseError(e, `refreshing ${policy.maskedSchema}.${t.name} failed`, 'refresh as the role that ran pgmask migrate (owner of the views, or a member of pgmask_owner); views refreshed before this one keep their new contents');
    }
  }
  return results;
}
