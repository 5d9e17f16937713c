import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
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
}

export interface MaskingStatus {
  readonly appliedPolicyHash: string | null;
  readonly appliedAt: string | null;
  readonly currentPolicyHash: string;
  readonly upToDate: boolean;
  /** language of the installed transform functions: sql, plv8, or null when none is installed */
  readonly runtime: 'sql' | 'plv8' | null;
  readonly relations: readonly MaskedRelationStatus[];
}

/** `pgmask status`: what is applied, what kind each masked relation is, and when materialized ones were refreshed. */
export async function maskingStatus(client: pg.ClientBase, policy: Policy, snapshot: CatalogSnapshot): Promise<MaskingStatus> {
  const hasTable = async (name: string) => (await query(client, sql`SELECT to_regclass(${param(name)}) IS NOT NULL AS ok`)).rows[0].ok as boolean;
  let appliedPolicyHash: string | null = null;
  let appliedAt: string | null = null;
  if (await hasTable('pgmask.applied_policies')) {
    const row = (await query(client, sql`SELECT policy_hash, applied_at::text AS at FROM pgmask.applied_policies WHERE masked_schema = ${param(policy.maskedSchema)} ORDER BY id DESC LIMIT 1`)).rows[0];
    appliedPolicyHash = row?.policy_hash ?? null;
    appliedAt = row?.at ?? null;
  }
  const lang = (
    await query(
      client,
      sql`SELECT l.lanname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
        WHERE n.nspname = 'pgmask' AND p.proname = 'pseudonymize' AND pg_get_function_identity_arguments(p.oid) = 'value text, key bytea, opts jsonb'`,
    )
  ).rows[0]?.lanname as string | undefined;
  const refreshes = new Map<string, { at: string; rows: number; ms: number }>();
  if (await hasTable('pgmask.refreshes')) {
    const rows = await query(
      client,
      sql`SELECT DISTINCT ON (view_name) view_name, refreshed_at::text AS at, row_count, duration_ms
         FROM pgmask.refreshes WHERE view_schema = ${param(policy.maskedSchema)} ORDER BY view_name, refreshed_at DESC`,
    );
    for (const r of rows.rows) refreshes.set(r.view_name, { at: r.at, rows: Number(r.row_count), ms: Number(r.duration_ms) });
  }
  const relations = policy.tables.map((t): MaskedRelationStatus => {
    const rel = findTable(snapshot, policy.maskedSchema, t.name);
    const kind = !rel ? 'missing' : rel.kind === 'view' || rel.kind === 'materialized view' ? rel.kind : 'other';
    const r = refreshes.get(t.name);
    return {
      table: t.name,
      relation: `${policy.maskedSchema}.${t.name}`,
      kind,
      wanted: t.materialize ? 'materialized view' : 'view',
      lastRefresh: r?.at ?? null,
      lastRefreshRows: r?.rows ?? null,
      lastRefreshMs: r?.ms ?? null,
    };
  });
  return {
    appliedPolicyHash,
    appliedAt,
    currentPolicyHash: policy.hash,
    upToDate: appliedPolicyHash === policy.hash && relations.every((r) => r.kind === r.wanted),
    runtime: lang === 'plv8' ? 'plv8' : lang ? 'sql' : null,
    relations,
  };
}
