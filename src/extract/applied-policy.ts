import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import { queryRows } from '../db/query.ts';
import { param, sql } from '../sql/index.ts';

/**
 * Whether the masked views were made from this very policy: its hash is the one
 * last applied to every one of its masked schemas. The extract then reads the
 * views' consent routes from the policy file (see planExtract); a file edited
 * since the last migrate may describe other views.
 */
export async function viewsFromPolicy(client: pg.ClientBase, policy: Policy): Promise<boolean> {
  const exists = await queryRows<{ ok: boolean }>(client, sql`SELECT to_regclass('pgmask.applied_policies') IS NOT NULL AS ok`);
  if (!exists[0]!.ok) return false;
  const masked = policy.schemas.map((s) => s.masked);
  const latest = await queryRows<{ masked_schema: string; policy_hash: string }>(
    client,
    sql`SELECT DISTINCT ON (masked_schema) masked_schema, policy_hash FROM pgmask.applied_policies
          WHERE masked_schema = ANY(${param(masked)}::text[]) ORDER BY masked_schema, id DESC`,
  );
  return masked.every((m) => latest.some((r) => r.masked_schema === m && r.policy_hash === policy.hash));
}
