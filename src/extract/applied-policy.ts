import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import { readAppliedPolicies } from '../db/status.ts';

/**
 * Whether the masked views were made from this very policy: its hash is the one
 * last applied to every one of its masked schemas. The extract then reads the
 * views' consent routes from the policy file (see planExtract); a file edited
 * since the last migrate may describe other views.
 */
export async function viewsFromPolicy(client: pg.ClientBase, policy: Policy): Promise<boolean> {
  const applied = await readAppliedPolicies(client, policy.schemas.map((s) => s.masked));
  return policy.schemas.every((s) => applied.get(s.masked)?.hash === policy.hash);
}
