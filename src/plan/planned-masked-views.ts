import type { CreateMaskedView } from './nodes.ts';
import { planMigration, type PlanInput } from './planner.ts';
import { citusMode, citusPolicy } from './citus.ts';

/**
 * The masked views that compute a policy's masked relations: the views themselves on one
 * server; in Citus mode (src/plan/citus.ts) the materialized views its masked tables are
 * filled from (same columns, expressions, filters and routes). What report and verify
 * compare the live relations with.
 */
export function plannedMaskedViews(input: PlanInput): CreateMaskedView[] {
  const citus = citusMode(input.policy, input.snapshot);
  const plan = planMigration(citus ? { ...input, policy: { ...citusPolicy(input.policy), citus: false } } : input);
  return plan.nodes.filter((n): n is CreateMaskedView => n.kind === 'CreateMaskedView');
}
