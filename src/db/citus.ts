import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import type { FillCitusMaskedTable } from '../plan/nodes.ts';
import { OWNER_ROLE } from '../plan/nodes.ts';
import { planMigration, resolveRuntime } from '../plan/planner.ts';
import { citusMode, keyVersionsOfComment } from '../plan/citus.ts';
import { renderCitusFill } from '../plan/citus-render.ts';
import { PGMASK_VERSION } from '../version.ts';
import { ident, join, literal, param, sql, textLiteral } from '../sql/index.ts';
import { databaseError, ExitCode, PgmaskError, type ErrorDetail } from '../errors.ts';
import { query, queryRows } from './query.ts';
import type { RefreshResult } from './refresh.ts';

/**
 * Citus mode against a live coordinator (docs/scale.md): node-to-node access of the role
 * that migrates and refreshes, what Citus copied to the workers, and the refresh of the
 * distributed masked tables. Only called when the citus extension is installed: a plain
 * server is never asked about pg_dist_* or Citus's functions.
 */

export interface NodeAccess {
  readonly node: string;
  readonly ok: boolean;
  /** what the connection attempt said (the role it ran as, or the error) */
  readonly result: string;
}

/**
 * Before a Citus migration: every shard query the migration (and later `pgmask refresh`)
 * sends runs as this session's role on a connection Citus opens to each worker, so the
 * role must be able to log in there. run_command_on_workers opens exactly such a
 * connection; a node that refuses it is reported with what pg_dist_authinfo holds for the
 * role (only superusers can read that table), before anything is changed.
 */
export async function checkNodeAccess(client: pg.ClientBase): Promise<NodeAccess[]> {
  let nodes: { nodename: string; nodeport: number; success: boolean; result: string }[];
  try {
    nodes = await queryRows(client, sql`SELECT nodename, nodeport, success, result FROM pg_catalog.run_command_on_workers(${literal('SELECT current_user')})`);
  } catch (cause) {
    throw databaseError(cause, 'cannot reach the Citus workers (run_command_on_workers)', 'run pgmask on the Citus coordinator, as a role that may call run_command_on_workers');
  }
  const access = nodes.map((n) => ({ node: `${n.nodename}:${n.nodeport}`, ok: n.success, result: n.result }));
  const failed = access.filter((a) => !a.ok);
  if (failed.length === 0) return access;
  const role = (await queryRows<{ role: string }>(client, sql`SELECT current_user::text AS role`))[0]!.role;
  const authinfo = await authinfoRows(client, role);
  const details: ErrorDetail[] = failed.map((f) => ({
    code: 'CITUS_NODE_ACCESS',
    severity: 'error',
    message: `${role} cannot connect to worker ${f.node}: ${f.result}`,
    hint:
      authinfo === null
        ? 'pg_dist_authinfo is readable only by superusers: ask one whether it holds a row for this role (nodeid 0 = every node)'
        : authinfo.length === 0
          ? `pg_dist_authinfo has no row for ${role}: INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES (0, '${role}', 'password=… or sslcert=…/sslkey=…'), or give the coordinator a client certificate or .pgpass entry; restrict the workers' pg_hba.conf to the coordinator`
          : `pg_dist_authinfo has ${authinfo.map((a) => `nodeid ${a.nodeid}${a.node ? ` (${a.node})` : a.nodeid === 0 ? ' (every node)' : ''}`).join(', ')} for ${role}, and the worker still refuses: check the credential and the worker's pg_hba.conf`,
  }));
  throw new PgmaskError({
    code: 'CITUS_NODE_ACCESS',
    message: `${failed.length} of ${access.length} Citus worker(s) refuse connections from ${role}, which every shard query of the migration and of pgmask refresh opens`,
    hint: 'set up node-to-node authentication for this role (docs/scale.md, "Node-to-node access"); nothing was changed',
    exitCode: ExitCode.database,
    details,
  });
}

/** pg_dist_authinfo rows of `role` (never their secrets), or null when this session may not read the table. */
async function authinfoRows(client: pg.ClientBase, role: string): Promise<{ nodeid: number; node: string | null }[] | null> {
  const [row] = await queryRows<{ readable: boolean }>(client, sql`SELECT pg_catalog.has_table_privilege('pg_catalog.pg_dist_authinfo', 'SELECT') AS readable`);
  if (!row?.readable) return null;
  return queryRows(
    client,
    sql`SELECT a.nodeid::int4 AS nodeid, n.nodename || ':' || n.nodeport AS node
          FROM pg_catalog.pg_dist_authinfo AS a LEFT JOIN pg_catalog.pg_dist_node AS n ON n.nodeid = a.nodeid
         WHERE a.rolename = ${param(role)} ORDER BY a.nodeid`,
  );
}

export interface NodeObjects {
  readonly node: string;
  /** objects the coordinator has and this node lacks (`function pgmask.fake(text, bytea, jsonb)`, `role analyst`, `extension pgcrypto`, `membership metabase_reader in analyst`) */
  readonly missing: readonly string[];
  /** the node could not be asked (its error) */
  readonly error: string | null;
}

export interface CitusObjectReport {
  readonly nodes: readonly NodeObjects[];
  /** pgmask functions the coordinator has that pg_dist_object does not list (Citus will not copy them to a node added later) */
  readonly notDistributed: readonly string[];
}

/**
 * After a Citus migration: Citus copies the pgmask functions, pgcrypto, the masking roles
 * and their memberships to the workers by itself (and records them in pg_dist_object, so
 * a node added later gets them too). This asks every worker (run_command_on_workers) for
 * the same list the coordinator has and reports what differs.
 */
export async function citusObjectReport(client: pg.ClientBase, policy: Policy): Promise<CitusObjectReport> {
  const roles = [OWNER_ROLE, ...policy.roles.map((r) => r.name), ...policy.brokers.map((b) => b.name), ...new Set([...policy.roles, ...policy.brokers].flatMap((r) => r.members))];
  const inventory = objectInventory(roles);
  try {
    const local = JSON.parse((await queryRows<{ objects: string }>(client, sql`SELECT (${inventory})::text AS objects`))[0]!.objects) as string[];
    const remote = await queryRows<{ nodename: string; nodeport: number; success: boolean; result: string }>(
      client,
      sql`SELECT nodename, nodeport, success, result FROM pg_catalog.run_command_on_workers(${textLiteral(sql`SELECT (${inventory})::text`)})`,
    );
    const notDistributed = await queryRows<{ fn: string }>(
      client,
      sql`SELECT 'pgmask.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS fn
            FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
           WHERE n.nspname = 'pgmask'
             AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_object AS d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid)
           ORDER BY 1`,
    );
    return {
      nodes: remote.map((r) => {
        if (!r.success) return { node: `${r.nodename}:${r.nodeport}`, missing: [], error: r.result };
        const there = new Set(JSON.parse(r.result) as string[]);
        return { node: `${r.nodename}:${r.nodeport}`, missing: local.filter((o) => !there.has(o)), error: null };
      }),
      notDistributed: notDistributed.map((r) => r.fn),
    };
  } catch (cause) {
    throw databaseError(cause, 'cannot compare the Citus workers with the coordinator after the migration');
  }
}

/** One JSON array of text naming what pgmask needs on a node; the same query runs on the coordinator and on every worker. */
export function objectInventory(roles: readonly string[]) {
  const names = literal(`{${roles.map((r) => `"${r.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`);
  return sql`SELECT pg_catalog.to_json(ARRAY(
  SELECT 'function pgmask.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
    FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = 'pgmask'
  UNION ALL SELECT 'extension ' || e.extname FROM pg_catalog.pg_extension AS e WHERE e.extname = 'pgcrypto'
  UNION ALL SELECT 'role ' || r.rolname FROM pg_catalog.pg_roles AS r WHERE r.rolname = ANY(${names}::text[])
  UNION ALL SELECT 'membership ' || u.rolname || ' in ' || g.rolname
    FROM pg_catalog.pg_auth_members AS m JOIN pg_catalog.pg_roles AS g ON g.oid = m.roleid JOIN pg_catalog.pg_roles AS u ON u.oid = m.member
   WHERE g.rolname = ANY(${names}::text[])
  ORDER BY 1))`;
}

/**
 * The fill statements of the policy's masked tables in Citus mode, planned against the live
 * catalog with the key versions each table was migrated with (its comment: src/plan/citus.ts):
 * REFRESH MATERIALIZED VIEW on one server runs the stored definition, which names the versions
 * of its migration, so a rotated key is used only after the next migrate there and here.
 */
export function citusFills(policy: Policy, registry: TransformRegistry, snapshot: CatalogSnapshot): FillCitusMaskedTable[] {
  const planned = new Map<string, FillCitusMaskedTable[]>();
  const fills: FillCitusMaskedTable[] = [];
  for (const t of policy.tables) {
    const versions = keyVersionsOfComment(findTable(snapshot, t.maskedSchema, t.name)?.comment ?? null);
    const group = JSON.stringify(versions);
    if (!planned.has(group)) {
      const pinned: CatalogSnapshot = { ...snapshot, keyVersions: { ...snapshot.keyVersions, ...versions } };
      const plan = planMigration({ policy, snapshot: pinned, registry, runtime: resolveRuntime(policy, pinned), runtimeSql: '', pgmaskVersion: PGMASK_VERSION });
      planned.set(group, plan.nodes.filter((n): n is FillCitusMaskedTable => n.kind === 'FillCitusMaskedTable'));
    }
    const fill = planned.get(group)!.find((f) => f.schema === t.maskedSchema && f.name === t.name);
    if (fill) fills.push(fill);
  }
  // the plan's order (every group plans the same tables in the same order)
  const order = [...planned.values()][0]?.map((f) => `${f.schema}.${f.name}`) ?? [];
  return fills.sort((a, b) => order.indexOf(`${a.schema}.${a.name}`) - order.indexOf(`${b.schema}.${b.name}`));
}

/** Whether `pgmask refresh` of this policy refills distributed masked tables (Citus mode) rather than materialized views. */
export function isCitusRefresh(policy: Policy, snapshot: CatalogSnapshot): boolean {
  return citusMode(policy, snapshot);
}

/**
 * `pgmask refresh` in Citus mode: one distributed transaction empties every masked table
 * (TRUNCATE, propagated to the shards), refills each by INSERT … SELECT from the raw
 * tables and CLUSTERs it on its masked key; COMMIT is Citus's two-phase commit, so every
 * table shows the new contents or none does. Readers wait while it runs (TRUNCATE's
 * ACCESS EXCLUSIVE lock) instead of reading the old contents as they do during a
 * concurrent refresh on one server. Must run as a login role that reads the sources (the
 * role that ran pgmask migrate) and reaches every worker (checkNodeAccess).
 */
export async function refreshCitus(
  client: pg.ClientBase,
  policy: Policy,
  registry: TransformRegistry,
  snapshot: CatalogSnapshot,
  opts: { tables?: readonly string[]; onProgress?: (line: string) => void } = {},
): Promise<RefreshResult[]> {
  for (const name of opts.tables ?? []) {
    if (!policy.tables.some((t) => t.name === name)) {
      throw new PgmaskError({ code: 'NOT_MATERIALIZED', message: `table ${name} is not in the policy`, hint: 'name a table of the policy, or leave --table out', exitCode: ExitCode.usage });
    }
  }
  const fills = citusFills(policy, registry, snapshot).filter((f) => !opts.tables || opts.tables.includes(f.name));
  for (const f of fills) {
    const rel = findTable(snapshot, f.schema, f.name);
    if (rel?.kind !== 'table' || !snapshot.citus?.tables.some((t) => t.schema === f.schema && t.name === f.name)) {
      throw new PgmaskError({ code: 'NOT_MIGRATED', message: `${f.schema}.${f.name} is not a distributed masked table yet`, hint: 'run pgmask migrate with this policy first (on the Citus coordinator)', exitCode: ExitCode.drift });
    }
    // the fill is re-planned from the policy: only the policy the table was migrated with refills it as migrated
    if (!rel.comment?.includes(`(policy sha256 ${policy.hash.slice(0, 16)}`)) {
      throw new PgmaskError({
        code: 'NOT_MIGRATED',
        message: `${f.schema}.${f.name} was migrated from another version of the policy (its comment: ${JSON.stringify(rel.comment)}), so refreshing it from this one would change what it masks`,
        hint: 'run pgmask migrate with this policy first (it rebuilds and fills the masked tables), then refresh',
        exitCode: ExitCode.drift,
      });
    }
  }
  if (fills.length === 0) return [];
  await checkNodeAccess(client);
  const started = performance.now();
  opts.onProgress?.(`refreshing ${fills.length} distributed masked table(s) in one transaction …`);
  const durations: number[] = [];
  try {
    await query(client, sql`BEGIN`);
    await query(client, sql`SET LOCAL search_path = pg_catalog`);
    await query(client, sql`TRUNCATE ${join(fills.map((f) => ident(f.schema, f.name)))}`);
    for (const f of fills) {
      const t = performance.now();
      await query(client, renderCitusFill(f));
      durations.push(performance.now() - t);
    }
    await query(client, sql`COMMIT`);
  } catch (e) {
    await query(client, sql`ROLLBACK`).catch(() => {});
    throw databaseError(e, 'refreshing the distributed masked tables failed', 'nothing changed: every masked table keeps its previous contents (one transaction); refresh as the role that ran pgmask migrate, which must reach every worker');
  }
  const total = performance.now() - started;
  const results: RefreshResult[] = [];
  for (const [i, f] of fills.entries()) {
    const rows = Number((await queryRows<{ n: string }>(client, sql`SELECT count(*) AS n FROM ${ident(f.schema, f.name)}`))[0]!.n);
    await query(
      client,
      sql`INSERT INTO pgmask.refreshes (view_schema, view_name, row_count, duration_ms, was_concurrent) VALUES (${literal(f.schema)}, ${literal(f.name)}, ${literal(rows)}, ${literal(Math.round(durations[i]! * 1000) / 1000)}, FALSE)`,
    );
    results.push({ view: `${f.schema}.${f.name}`, rows, durationMs: durations[i]!, concurrently: false });
  }
  opts.onProgress?.(`refreshed in ${Math.round(total)} ms`);
  return results;
}
