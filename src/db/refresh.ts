import type pg from 'pg';
import type { Policy, PolicyTable } from '../policy/policy.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { ident, literal, param, sql } from '../sql/index.ts';
import { databaseError, PgmaskError, ExitCode } from '../errors.ts';
import { maskedKeyIndexName } from '../plan/planner.ts';
import { planSubjectRoutes, routeKey } from '../plan/subject-routes.ts';
import type { SubjectRoute } from '../plan/nodes.ts';
import { query } from './query.ts';

export interface RefreshResult {
  readonly view: string;
  readonly rows: number;
  readonly durationMs: number;
  readonly concurrently: boolean;
}

/** A materialized table's masked relation, `masked_schema.name`. */
function viewName(t: PolicyTable): string {
  return `${t.maskedSchema}.${t.name}`;
}

/**
 * The order `pgmask refresh` runs in: every materialized table of the policy, of
 * every source schema, parents before children, so a reader between two refreshes
 * never sees a child row whose parent the parent's view does not have yet. A
 * parent is a materialized table the child references by a foreign key or reaches
 * through a consent route (both may cross schemas). Ties keep policy order.
 * `cycle` lists the tables whose parents could not all come first (a cycle of
 * foreign keys): they keep policy order, and the caller warns.
 */
export function refreshSequence(policy: Policy, snapshot: CatalogSnapshot): { order: PolicyTable[]; cycle: PolicyTable[] } {
  const materialized = policy.tables.filter((t) => t.materialize);
  const byKey = new Map(materialized.map((t) => [routeKey(t.sourceSchema, t.name), t]));
  const routes = planSubjectRoutes(policy, snapshot).routes;
  const parents = new Map<PolicyTable, Set<PolicyTable>>();
  for (const t of materialized) {
    const deps = new Set<PolicyTable>();
    const add = (schema: string, name: string) => {
      const parent = byKey.get(routeKey(schema, name));
      if (parent && parent !== t) deps.add(parent);
    };
    for (const fk of findTable(snapshot, t.sourceSchema, t.name)?.foreignKeys ?? []) add(fk.refSchema, fk.refTable);
    const walk = (rs: readonly SubjectRoute[]) => {
      for (const r of rs) {
        add(r.refSchema, r.refTable);
        walk(r.routes);
      }
    };
    walk(routes.get(routeKey(t.sourceSchema, t.name)) ?? []);
    parents.set(t, deps);
  }
  const order: PolicyTable[] = [];
  const cycle: PolicyTable[] = [];
  const done = new Set<PolicyTable>();
  while (order.length < materialized.length) {
    let next = materialized.find((t) => !done.has(t) && [...parents.get(t)!].every((p) => done.has(p)));
    if (!next) {
      next = materialized.find((t) => !done.has(t))!;
      cycle.push(next);
    }
    order.push(next);
    done.add(next);
  }
  return { order, cycle };
}

/** The materialized tables in refresh order (see refreshSequence). */
export function refreshOrder(policy: Policy, snapshot: CatalogSnapshot): PolicyTable[] {
  return refreshSequence(policy, snapshot).order;
}

/**
 * `pgmask refresh`: REFRESH MATERIALIZED VIEW CONCURRENTLY for each materialized
 * masked view of every masked schema, in one order across schemas (refreshSequence),
 * each in its own transaction so analysts keep reading the previous contents until
 * the new ones commit; then CLUSTER on the masked key (unless the table accepts
 * `row_order: storage`), so rows stay in an order that reveals nothing. Recorded in
 * pgmask.refreshes. Must run as the owner of the views (pgmask_owner, a member,
 * or a superuser). Every named table and every view is checked before the first
 * refresh: bad input refreshes nothing.
 */
export async function refreshMaterialized(
  client: pg.ClientBase,
  policy: Policy,
  snapshot: CatalogSnapshot,
  opts: { tables?: readonly string[]; onProgress?: (line: string) => void; onWarning?: (line: string) => void } = {},
): Promise<RefreshResult[]> {
  if (opts.tables) {
    for (const name of opts.tables) {
      // with several source schemas, a name may be a table of any of them (of each, when it repeats)
      if (!policy.tables.some((t) => t.name === name && t.materialize)) {
        throw new PgmaskError({ code: 'NOT_MATERIALIZED', message: `table ${name} is not materialized by the policy`, hint: 'set materialize: true for it (and run pgmask migrate), or leave --table out', exitCode: ExitCode.usage });
      }
    }
  }
  const { order: all, cycle } = refreshSequence(policy, snapshot);
  const order = all.filter((t) => !opts.tables || opts.tables.includes(t.name));
  const unordered = cycle.filter((t) => order.includes(t));
  if (unordered.length > 0) {
    opts.onWarning?.(
      `warning[REFRESH_CYCLE]: the materialized relations reference each other in a cycle (foreign keys or consent routes); ${unordered.map(viewName).join(', ')} refreshed in policy order, so until the refresh ends a reader may see a row whose parent's view does not have it yet`,
    );
  }
  for (const t of order) {
    const rel = findTable(snapshot, t.maskedSchema, t.name);
    if (rel?.kind !== 'materialized view') {
      throw new PgmaskError({
        code: 'NOT_MIGRATED',
        message: `${viewName(t)} is not a materialized view yet`,
        hint: 'run pgmask migrate with this policy first',
        exitCode: ExitCode.drift,
      });
    }
  }
  // CLUSTER needs the masked key's index; one query for all of them, before anything runs
  const keyed = order.filter((t) => t.rowOrder === 'keyed').map((t) => ({ t, schema: t.maskedSchema, index: maskedKeyIndexName(t.maskedSchema, t.name) }));
  const present = new Set(
    (
      await query<{ s: string; i: string }>(
        client,
        sql`SELECT n.nspname AS s, c.relname AS i FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'i' AND (n.nspname, c.relname) IN (SELECT * FROM unnest(${param(keyed.map((k) => k.schema))}::text[], ${param(keyed.map((k) => k.index))}::text[]))`,
      )
    ).rows.map((r) => JSON.stringify([r.s, r.i])),
  );
  const unindexed = keyed.find((k) => !present.has(JSON.stringify([k.schema, k.index])));
  if (unindexed) {
    throw new PgmaskError({
      code: 'NOT_MIGRATED',
      message: `${viewName(unindexed.t)} has no index ${unindexed.index} on its masked key to keep its rows in keyed order`,
      hint: 'run pgmask migrate with this policy (a policy with several source schemas migrated by an earlier pgmask named it after the first masked schema)',
      exitCode: ExitCode.drift,
    });
  }
  const results: RefreshResult[] = [];
  for (const t of order) {
    const view = ident(t.maskedSchema, t.name);
    opts.onProgress?.(`refreshing ${viewName(t)} …`);
    const started = performance.now();
    try {
      await query(client, sql`BEGIN`);
      await query(client, sql`REFRESH MATERIALIZED VIEW CONCURRENTLY ${view}`);
      // a concurrent refresh appends new and changed rows where there is room (mostly
      // the end), so position would tell recent rows apart: CLUSTER restores the keyed
      // order (sorted by the masked key), in the same transaction, so readers never see
      // the appended order; it holds an ACCESS EXCLUSIVE lock only while it rewrites
      if (t.rowOrder === 'keyed') await query(client, sql`CLUSTER ${view} USING ${ident(maskedKeyIndexName(t.maskedSchema, t.name))}`);
      await query(client, sql`COMMIT`);
      const rows = Number((await query<{ n: string }>(client, sql`SELECT count(*) AS n FROM ${view}`)).rows[0]!.n);
      const durationMs = performance.now() - started;
      await query(
        client,
        sql`INSERT INTO pgmask.refreshes (view_schema, view_name, row_count, duration_ms, was_concurrent) VALUES (${literal(t.maskedSchema)}, ${literal(t.name)}, ${literal(rows)}, ${literal(Math.round(durationMs * 1000) / 1000)}, TRUE)`,
      );
      results.push({ view: viewName(t), rows, durationMs, concurrently: true });
    } catch (e) {
      await query(client, sql`ROLLBACK`).catch(() => {});
      throw databaseError(e, `refreshing ${viewName(t)} failed`, 'refresh as the role that ran pgmask migrate (owner of the views, or a member of pgmask_owner); views refreshed before this one keep their new contents');
    }
  }
  return results;
}
