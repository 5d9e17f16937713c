import type pg from 'pg';
import type { Policy, PolicySchema } from '../policy/policy.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { query } from './query.ts';
import { param, sql } from '../sql/index.ts';

export interface MaskedRelationStatus {
  readonly table: string;
  readonly relation: string;
  /** what exists in the masked schema now */
  readonly kind: 'view' | 'materialized view' | 'missing' | 'other';
  /** what the policy asks for */
  readonly wanted: 'view' | 'materialized view';
  readonly lastRefresh: string | null;
  readonly lastRefreshRows: number | null;
  readonly lastRefreshMs: number | null;
  /** a materialized view with no refresh recorded: it holds the rows of the migrate that built it */
  readonly neverRefreshed: boolean;
  /**
   * a materialized view whose last recorded refresh is older than the last migrate of its
   * masked schema, which rebuilt it: the refresh figures describe an earlier build
   */
  readonly refreshedBeforeMigrate: boolean;
}

/** One masked schema of the policy: which policy last made it, and its relations. */
export interface MaskedSchemaStatus {
  readonly sourceSchema: string;
  readonly maskedSchema: string;
  /** hash of the policy file last applied to this masked schema (another file's, when another policy migrated it since) */
  readonly appliedPolicyHash: string | null;
  readonly appliedAt: string | null;
  /** the source schema that migrate recorded for it (null for rows written before pgmask recorded it) */
  readonly appliedSourceSchema: string | null;
  readonly upToDate: boolean;
  readonly relations: readonly MaskedRelationStatus[];
}

export interface MaskingStatus {
  /** the applied hash and time of the first masked schema not up to date, else of the first one */
  readonly appliedPolicyHash: string | null;
  readonly appliedAt: string | null;
  readonly currentPolicyHash: string;
  /** every masked schema of the policy is up to date */
  readonly upToDate: boolean;
  /** language of the installed transform functions: sql, plv8, or null when none is installed */
  readonly runtime: 'sql' | 'plv8' | null;
  /** the relations of every masked schema, in policy order */
  readonly relations: readonly MaskedRelationStatus[];
  /** each masked schema on its own, in policy order (one for a policy with top-level `tables`) */
  readonly schemas: readonly MaskedSchemaStatus[];
}

/** The newest pgmask.applied_policies row of a masked schema: the policy that made its views. */
export interface AppliedRow {
  readonly hash: string;
  readonly at: string;
  readonly epoch: number;
  readonly source: string | null;
}

interface RefreshRow {
  readonly at: string;
  readonly epoch: number;
  readonly rows: number;
  readonly ms: number;
}

async function tableExists(client: pg.ClientBase, name: string): Promise<boolean> {
  return (await query(client, sql`SELECT to_regclass(${param(name)}) IS NOT NULL AS ok`)).rows[0].ok as boolean;
}

/** The newest applied_policies row of each of these masked schemas (none before pgmask's schema exists). */
export async function readAppliedPolicies(client: pg.ClientBase, masked: readonly string[]): Promise<Map<string, AppliedRow>> {
  const applied = new Map<string, AppliedRow>();
  if (!(await tableExists(client, 'pgmask.applied_policies'))) return applied;
  // source_schema arrived with migration 0007; a database still before it has none
  const hasSource = (
    await query(client, sql`SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = 'pgmask.applied_policies'::regclass AND attname = 'source_schema' AND NOT attisdropped) AS ok`)
  ).rows[0].ok as boolean;
  const rows = await query(
    client,
    sql`SELECT DISTINCT ON (masked_schema) masked_schema, policy_hash, applied_at::text AS at, extract(epoch FROM applied_at)::float8 AS epoch,
          ${hasSource ? sql`source_schema` : sql`NULL::text`} AS source_schema
        FROM pgmask.applied_policies WHERE masked_schema = ANY(${param([...masked])}::text[]) ORDER BY masked_schema, id DESC`,
  );
  for (const r of rows.rows) applied.set(r.masked_schema, { hash: r.policy_hash, at: r.at, epoch: Number(r.epoch), source: r.source_schema });
  return applied;
}

/**
 * `pgmask status`: for each masked schema of the policy, the policy last applied to it,
 * what kind each masked relation is, and when materialized ones were refreshed. A masked
 * schema can be out of date on its own: another policy file with the same source schema
 * may have migrated it since.
 */
export async function maskingStatus(client: pg.ClientBase, policy: Policy, snapshot: CatalogSnapshot): Promise<MaskingStatus> {
  const masked = policy.schemas.map((s) => s.masked);
  const applied = await readAppliedPolicies(client, masked);
  const lang = (
    await query(
      client,
      sql`SELECT l.lanname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
        WHERE n.nspname = 'pgmask' AND p.proname = 'pseudonymize' AND pg_get_function_identity_arguments(p.oid) = 'value text, key bytea, opts jsonb'`,
    )
  ).rows[0]?.lanname as string | undefined;
  const refreshes = new Map<string, RefreshRow>();
  if (await tableExists(client, 'pgmask.refreshes')) {
    const rows = await query(
      client,
      sql`SELECT DISTINCT ON (view_schema, view_name) view_schema, view_name, refreshed_at::text AS at, extract(epoch FROM refreshed_at)::float8 AS epoch, row_count, duration_ms
         FROM pgmask.refreshes WHERE view_schema = ANY(${param(masked)}::text[]) ORDER BY view_schema, view_name, refreshed_at DESC`,
    );
    for (const r of rows.rows) refreshes.set(JSON.stringify([r.view_schema, r.view_name]), { at: r.at, epoch: Number(r.epoch), rows: Number(r.row_count), ms: Number(r.duration_ms) });
  }
  const schemas = policy.schemas.map((s) => schemaStatus(policy, s, snapshot, applied.get(s.masked), refreshes));
  const stale = schemas.find((s) => !s.upToDate);
  const shown = stale ?? schemas[0]!;
  return {
    appliedPolicyHash: shown.appliedPolicyHash,
    appliedAt: shown.appliedAt,
    currentPolicyHash: policy.hash,
    upToDate: !stale,
    runtime: lang === 'plv8' ? 'plv8' : lang ? 'sql' : null,
    relations: schemas.flatMap((s) => s.relations),
    schemas,
  };
}

function schemaStatus(policy: Policy, schema: PolicySchema, snapshot: CatalogSnapshot, applied: AppliedRow | undefined, refreshes: ReadonlyMap<string, RefreshRow>): MaskedSchemaStatus {
  const relations = policy.tables
    .filter((t) => t.sourceSchema === schema.source)
    .map((t): MaskedRelationStatus => {
      const rel = findTable(snapshot, t.maskedSchema, t.name);
      const kind = !rel ? 'missing' : rel.kind === 'view' || rel.kind === 'materialized view' ? rel.kind : 'other';
      const r = refreshes.get(JSON.stringify([t.maskedSchema, t.name]));
      return {
        table: t.name,
        relation: `${t.maskedSchema}.${t.name}`,
        kind,
        wanted: t.materialize ? 'materialized view' : 'view',
        lastRefresh: r?.at ?? null,
        lastRefreshRows: r?.rows ?? null,
        lastRefreshMs: r?.ms ?? null,
        neverRefreshed: kind === 'materialized view' && !r,
        refreshedBeforeMigrate: kind === 'materialized view' && r !== undefined && applied !== undefined && r.epoch < applied.epoch,
      };
    });
  return {
    sourceSchema: schema.source,
    maskedSchema: schema.masked,
    appliedPolicyHash: applied?.hash ?? null,
    appliedAt: applied?.at ?? null,
    appliedSourceSchema: applied?.source ?? null,
    upToDate: applied?.hash === policy.hash && relations.every((r) => r.kind === r.wanted),
    relations,
  };
}
