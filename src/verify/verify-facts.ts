import { ruleUsesKey } from '../transforms/apply-rule.ts';
import { elementColumn } from '../transforms/element-column.ts';
import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable, TypeFamily } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { maskingRoleMembers } from './check.ts';
import { SOURCE_RELATION } from './source-access-attacks.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import type { CreateMaskedView, SubjectRoute } from '../plan/nodes.ts';
import { planSubjectRoutes } from '../plan/subject-routes.ts';
import { resolveRuntime } from '../plan/planner.ts';
import { plannedMaskedViews } from '../plan/planned-masked-views.ts';
import { PGMASK_VERSION } from '../version.ts';
import { ident, join, literal, param, sql, sqlExpression, typeName, type Sql } from '../sql/index.ts';
import { gatherRowOrderFacts, type RowOrderFacts } from './row-order-attacks.ts';
import { visibleRowCondition } from '../plan/render.ts';
import { gatherShardReaders, type ShardReaders } from './citus-attacks.ts';
import { query, queryRows, savepoint } from '../db/query.ts';

/** A key as the attacks look for it: every common text encoding of its bytes. */
export interface KeyMaterial {
  readonly name: string;
  /** lowercase strings to look for in lowercased text (hex, hex halves) */
  readonly lowerNeedles: readonly string[];
  /** case-sensitive strings (base64, base64url) */
  readonly exactNeedles: readonly string[];
}

export interface SourceRelation {
  readonly name: string;
  /** pg_class.relkind */
  readonly kind: string;
  readonly columns: readonly string[];
}

export interface MaskedViewFact {
  readonly name: string;
  /** a view (masks each query), a materialized view, or a table (Citus mode): the latter two hold masked rows only */
  readonly kind: 'view' | 'materialized' | 'table';
  readonly securityBarrier: boolean;
  /** made by pgmask (its comment starts with `pgmask:`) */
  readonly pgmask: boolean;
}

/** Raw rows of one table (read as admin, out of band) and what the policy's view shows for them. */
export interface OracleSample {
  readonly view: CreateMaskedView;
  readonly table: CatalogTable;
  /** indexes (into view.columns and table.columns, same order) of the columns whose transform takes a key */
  readonly keyedColumns: readonly number[];
  readonly rows: readonly { readonly raw: readonly (string | null)[]; readonly expected: readonly (string | null)[] }[];
  /**
   * Per keyed column (same order as keyedColumns): the first sampled row with that column's
   * value replaced by ORACLE_PROBES made-up values of its type, and what the policy computes
   * for each (expected[j] is that column's). The raw rows may hold one value over and over (a
   * `city` column of one city); the probes give the oracle distinct inputs, so a wrong key that
   * matches a small output space once by chance cannot reproduce them all.
   */
  readonly probes: readonly (readonly { readonly raw: readonly (string | null)[]; readonly expected: readonly (string | null)[] }[])[];
}

/** Everything the attacks need to know that only the admin can read; gathered once, before impersonating anyone. */
export interface VerifyFacts {
  /** the policy cut to the source schema under attack (policySections): one masked schema */
  readonly policy: Policy;
  /**
   * the whole policy, every source schema: a consent route may leave the section (a child here,
   * its filtered parent in another schema); the same as `policy` for a policy of one schema
   */
  readonly wholePolicy: Policy;
  /** consent routes of every table of the whole policy, by routeKey(source schema, name), planned on every schema's catalog */
  readonly subjectRoutes: ReadonlyMap<string, readonly SubjectRoute[]>;
  readonly registry: TransformRegistry;
  readonly snapshot: CatalogSnapshot;
  readonly keys: readonly KeyMaterial[];
  readonly sourceRelations: readonly SourceRelation[];
  readonly maskedViews: readonly MaskedViewFact[];
  /** the views the policy asks for (this section's), planned with the whole policy against the live catalog; null when the policy does not plan (drift) */
  readonly plannedViews: readonly CreateMaskedView[] | null;
  readonly planError: string | null;
  /** per policy table: all rows, and rows passing its filter (= all without a filter) */
  readonly rowCounts: ReadonlyMap<string, { readonly total: number; readonly passing: number }>;
  readonly oracleSamples: readonly OracleSample[];
  /** tables whose raw samples could not be computed as admin (e.g. the transform functions are not installed) */
  readonly oracleProblems: readonly string[];
  /** rows of pg_stats about source tables (as admin) */
  readonly sourceStatsRows: number;
  /** raw ranks of sampled rows by masked key, for the row-order attack */
  readonly rowOrder: RowOrderFacts;
  /** Citus: who may read each placement of the source tables' shards on its worker; [] on a plain server, null when it could not be read */
  readonly shardReaders: readonly ShardReaders[] | null;
  /** every current member of each masking role (listed in the policy or not) that can use it */
  readonly maskingRoleMembers: readonly { readonly role: string; readonly member: string }[];
}

const ORACLE_ROWS = 20;
/** Made-up inputs per keyed column (see OracleSample.probes). */
export const ORACLE_PROBES = 24;

/** `g` (1…ORACLE_PROBES) as a value of a type family, distinct per g even when cast to a short varchar; null: no probe for this family. */
function probeValue(family: TypeFamily): Sql | null {
  switch (family) {
    case 'text':
      return sql`(g::text || '-pgmask-probe')`;
    case 'integer':
      return sql`(g + 97)`;
    case 'numeric':
    case 'float':
      return sql`(g * 7.25)`;
    case 'date':
      return sql`(DATE '2001-01-01' + g * 37)`;
    case 'timestamp':
      return sql`(TIMESTAMP '2001-01-01 08:00' + g * INTERVAL '37 days 5 hours')`;
    case 'timestamptz':
      return sql`(TIMESTAMPTZ '2001-01-01 08:00+00' + g * INTERVAL '37 days 5 hours')`;
    default:
      return null;
  }
}

/**
 * Runs `fn` with search_path = pg_catalog, <source> (how views and filters bind
 * names) in a savepoint: a query that cannot run here (no pgmask functions yet, a
 * filter that no longer fits) gives null, and the attack that needs it says so.
 */
async function withSourcePath<T>(client: pg.ClientBase, source: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await savepoint(client, async () => {
      await query(client, sql`SET LOCAL search_path = pg_catalog, ${ident(source)}`);
      return await fn();
    });
  } catch {
    return null;
  } finally {
    await query(client, sql`SET LOCAL search_path = pg_catalog`);
  }
}

/**
 * The whole policy a section was cut from, planned once on the catalog of every one of its
 * schemas (verify reads and plans it once for all sections): its consent routes, and its
 * views, null when it does not plan (drift in some schema).
 */
export interface WholePolicy {
  readonly policy: Policy;
  readonly routes: ReadonlyMap<string, readonly SubjectRoute[]>;
  readonly views: readonly CreateMaskedView[] | null;
}

export function planWholePolicy(policy: Policy, registry: TransformRegistry, snapshot: CatalogSnapshot): WholePolicy {
  return { policy, routes: planSubjectRoutes(policy, snapshot).routes, views: planViews(policy, registry, snapshot).views };
}

/** Gathers the admin-side facts inside the caller's transaction (which must be rolled back). */
export async function gatherFacts(
  client: pg.ClientBase,
  policy: Policy,
  registry: TransformRegistry,
  snapshot: CatalogSnapshot,
  whole: WholePolicy | null = null,
): Promise<VerifyFacts> {
  await query(client, sql`SET LOCAL search_path = pg_catalog`);
  const keys = await readKeys(client);
  const sourceRelations = (
    await query<{ name: string; kind: string; columns: string[] }>(
      client,
      sql`SELECT c.relname AS name, c.relkind::text AS kind,
              coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnum > 0), '{}') AS columns
         FROM pg_class c
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = ${param(policy.sourceSchema)})
          AND ${SOURCE_RELATION}
        GROUP BY c.oid, c.relname, c.relkind ORDER BY c.relname`,
    )
  ).rows;
  const maskedViews = (
    await query<{ name: string; kind: string; barrier: boolean; pgmask: boolean }>(
      client,
      sql`SELECT c.relname AS name, c.relkind::text AS kind,
              coalesce('security_barrier=true' = ANY(c.reloptions) OR 'security_barrier=on' = ANY(c.reloptions), false) AS barrier,
              coalesce(obj_description(c.oid, 'pg_class') LIKE 'pgmask:%', false) AS pgmask
         FROM pg_class c
        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = ${param(policy.maskedSchema)})
          AND (c.relkind IN ('v', 'm') OR (c.relkind IN ('r', 'p') AND coalesce(obj_description(c.oid, 'pg_class') LIKE 'pgmask:%', false)))
        ORDER BY c.relname`,
    )
  ).rows.map((r) => ({ name: r.name, kind: r.kind === 'v' ? ('view' as const) : r.kind === 'm' ? ('materialized' as const) : ('table' as const), securityBarrier: r.barrier, pgmask: r.pgmask }));

  const { views, error } = planSectionViews(policy, whole, registry, snapshot);
  const rowCounts = new Map<string, { total: number; passing: number }>();
  for (const t of policy.tables) {
    if (!findTable(snapshot, policy.sourceSchema, t.name)) continue;
    // the planned view's own condition (filter and consent routes) when the policy plans
    const planned = views?.find((v) => v.name === t.name);
    const where = planned ? visibleRowCondition(planned) : t.filter === null ? sql`true` : sqlExpression(t.filter);
    const r = await withSourcePath(client, policy.sourceSchema, () =>
      query<{ total: number; passing: number }>(
        client,
        sql`SELECT count(*)::float8 AS total, count(*) FILTER (WHERE ${where})::float8 AS passing FROM ${ident(policy.sourceSchema, t.name)} AS src`,
      ),
    );
    if (r) rowCounts.set(t.name, r.rows[0]!);
  }

  const oracleSamples: OracleSample[] = [];
  const oracleProblems: string[] = [];
  for (const view of views ?? []) {
    const table = findTable(snapshot, view.sourceSchema, view.sourceTable)!;
    const ptable = policy.tables.find((t) => t.name === view.sourceTable)!;
    const keyedColumns = view.columns.flatMap((c, i) => {
      const rule = ptable.columns.find((pc) => pc.name === c.name)?.rule;
      const t = rule ? registry.get(rule.transform) : undefined;
      return rule && t && ruleUsesKey(registry, t, rule.params) ? [i] : [];
    });
    if (keyedColumns.length === 0) continue;
    const raw: Sql[] = table.columns.map((c) => sql`src.${ident(c.name)}::text`);
    const expected: Sql[] = keyedColumns.map((i) => sql`(${view.columns[i]!.expression})::text`);
    const where = view.filter === null ? sql`` : sql` WHERE ${sqlExpression(view.filter)}`;
    const r = await withSourcePath(client, policy.sourceSchema, () =>
      query<{ raw: (string | null)[]; expected: (string | null)[] }>(
        client,
        sql`SELECT ARRAY[${join(raw)}]::text[] AS raw, ARRAY[${join(expected)}]::text[] AS expected
              FROM ${ident(view.sourceSchema, view.sourceTable)} AS src${where} LIMIT ${literal(ORACLE_ROWS)}`,
      ),
    );
    if (!r) {
      oracleProblems.push(`${view.sourceSchema}.${view.sourceTable}: the policy's expressions do not run here (is pgmask migrated?)`);
      continue;
    }
    const probes: { raw: (string | null)[]; expected: (string | null)[] }[][] = [];
    for (const [j, i] of keyedColumns.entries()) {
      const column = table.columns[i]!;
      // an array column gets arrays of the element's probe (a NULL element included); JSON documents get none
      const element = elementColumn(column);
      const elementProbe = element ? probeValue(element.family) : null;
      const value = element ? (elementProbe === null ? null : sql`ARRAY[${elementProbe}, NULL, ${elementProbe}]`) : probeValue(column.family);
      if (value === null || r.rows.length === 0) {
        probes.push([]);
        continue;
      }
      // the first sampled row, with this column replaced by each made-up value (cast to the column's type)
      const cols = table.columns.map((c, k) => (k === i ? sql`CAST(${value} AS ${typeName(c.sqlType)}) AS ${ident(c.name)}` : sql`src.${ident(c.name)}`));
      const p = await withSourcePath(client, policy.sourceSchema, () =>
        query<{ raw: (string | null)[]; expected: string | null }>(
          client,
          sql`SELECT ARRAY[${join(raw)}]::text[] AS raw, (${view.columns[i]!.expression})::text AS expected
                FROM (SELECT ${join(cols)}
                        FROM (SELECT * FROM ${ident(view.sourceSchema, view.sourceTable)} AS src${where} LIMIT 1) AS src,
                             pg_catalog.generate_series(1, ${literal(ORACLE_PROBES)}) AS g) AS src`,
        ),
      );
      // a type that refuses made-up values (a domain with a CHECK) keeps only the raw rows
      probes.push(p ? p.rows.map((row) => ({ raw: row.raw, expected: keyedColumns.map((_, jj) => (jj === j ? row.expected : null)) })) : []);
    }
    oracleSamples.push({
      view,
      table,
      keyedColumns,
      rows: r.rows.map((row) => ({ raw: row.raw, expected: row.expected })),
      probes,
    });
  }
  const rowOrder = await gatherRowOrderFacts(policy, snapshot, views, async (q) => withSourcePath(client, policy.sourceSchema, () => queryRows(client, q)));
  const stats = await query<{ n: number }>(client, sql`SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = ${param(policy.sourceSchema)}`);
  const members = await maskingRoleMembers(client, policy.roles.map((r) => r.name));
  return {
    policy,
    wholePolicy: whole?.policy ?? policy,
    subjectRoutes: whole?.routes ?? planSubjectRoutes(policy, snapshot).routes,
    registry,
    snapshot,
    keys,
    sourceRelations,
    maskedViews,
    plannedViews: views,
    planError: error,
    rowCounts,
    oracleSamples,
    oracleProblems,
    sourceStatsRows: stats.rows[0]!.n,
    rowOrder,
    maskingRoleMembers: members,
    shardReaders: snapshot.citus ? await shardReaders(client, policy, snapshot, members) : [],
  };
}

async function readKeys(client: pg.ClientBase): Promise<KeyMaterial[]> {
  const exists = await query<{ ok: boolean }>(client, sql`SELECT to_regclass('pgmask_private.keys') IS NOT NULL AS ok`);
  if (!exists.rows[0]!.ok) return [];
  const rows = (await query<{ name: string; hex: string }>(client, sql`SELECT name, encode(key, 'hex') AS hex FROM pgmask_private.keys ORDER BY name`)).rows;
  return rows.map(({ name, hex }) => {
    const bytes = Buffer.from(hex, 'hex');
    const half = Math.floor(hex.length / 2);
    return {
      name,
      // halves too: a key split across two literals, or a prefix of it, is still a key leak
      lowerNeedles: [hex, hex.slice(0, Math.max(16, half)), hex.slice(Math.min(half, hex.length - 16))],
      exactNeedles: [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('base64').slice(0, 24)],
    };
  });
}

/**
 * A section's masked views. Planned with the whole policy on every schema's catalog, as migrate
 * plans them: a section alone does not see a filtered parent in another schema, so its views
 * would lack the consent routes that cross schemas (and row-filter would count their hidden rows
 * as passing). When the whole policy does not plan (drift in another schema), the section's own
 * plan, as before.
 */
function planSectionViews(policy: Policy, whole: WholePolicy | null, registry: TransformRegistry, snapshot: CatalogSnapshot): { views: CreateMaskedView[] | null; error: string | null } {
  if (whole?.views) {
    const mine = (v: CreateMaskedView) => policy.tables.some((t) => t.sourceSchema === v.sourceSchema && t.name === v.sourceTable);
    return { views: whole.views.filter(mine), error: null };
  }
  return planViews(policy, registry, snapshot);
}

/**
 * The masked views the policy asks for, planned on the live catalog with grants
 * and role attributes ignored (those are the attacks' business, not the plan's).
 */
function planViews(policy: Policy, registry: TransformRegistry, snapshot: CatalogSnapshot): { views: CreateMaskedView[] | null; error: string | null } {
  const clean: CatalogSnapshot = {
    ...snapshot,
    tables: snapshot.tables.map((t) => ({ ...t, privileges: [] })),
    roles: snapshot.roles.map((r) => ({ ...r, canLogin: false, superuser: false })),
  };
  try {
    const runtime = resolveRuntime(policy, clean);
    // roles and members do not shape a view: their problems are the attacks' business
    // Citus mode: the masked tables' columns and filters are those of the materialized views the plan starts from
    return { views: plannedMaskedViews({ policy: { ...policy, roles: [] }, snapshot: clean, registry, runtime, runtimeSql: '', pgmaskVersion: PGMASK_VERSION }), error: null };
  } catch (e) {
    const err = e as { message?: string; details?: readonly { message: string }[] };
    const details = err.details?.map((d) => d.message).join('; ');
    return { views: null, error: `${err.message ?? String(e)}${details ? `: ${details}` : ''}` };
  }
}

/** Text contains key material? Returns the key name or null. */
export function findKey(keys: readonly KeyMaterial[], text: string): string | null {
  if (text.length < 16) return null;
  const lower = text.toLowerCase();
  for (const k of keys) {
    if (k.lowerNeedles.some((n) => lower.includes(n)) || k.exactNeedles.some((n) => text.includes(n))) return k.name;
  }
  return null;
}

/** Citus: the placements' readers among the masking roles and every member, in a savepoint (a worker that cannot be asked leaves null). */
async function shardReaders(client: pg.ClientBase, policy: Policy, snapshot: CatalogSnapshot, members: readonly { role: string; member: string }[]): Promise<ShardReaders[] | null> {
  const roles = [...new Set([...policy.roles.flatMap((r) => [r.name, ...r.members]), ...members.map((m) => m.member)])];
  try {
    return await savepoint(client, () => gatherShardReaders(client, policy, snapshot, roles));
  } catch {
    return null;
  }
}
