import type { AccessState } from '../catalog/access-state.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findTable, isPgmaskRelation, PGMASK_COMMENT_MARKER } from '../catalog/catalog-snapshot.ts';
import type { KeptMember } from './offboarding.ts';
import type { MigrationPlan } from './planner.ts';
import type { CitusPlacement, CreateCitusMaskedTable, CreateMaskedView } from './nodes.ts';

/** One column whose rule changes: `from`/`to` are rules as written in the policy (null: the column is new / gone). */
export interface ColumnChange {
  readonly column: string;
  readonly from: string | null;
  readonly to: string | null;
}

export interface RelationChange {
  /** schema.name of the masked relation */
  readonly relation: string;
  readonly change: 'added' | 'changed' | 'dropped';
  readonly columns: readonly ColumnChange[];
  /** e.g. 'now a materialized view', 'the policy no longer lists this table' */
  readonly notes: readonly string[];
}

/** Citus mode: how a masked table is placed on the cluster (src/plan/citus.ts), and how the coordinator places it today. */
export interface CitusTableSummary {
  /** schema.name of the masked table */
  readonly relation: string;
  readonly placement: CitusPlacement['kind'];
  /** the distribution column (the pseudonymized subject); null for a reference table */
  readonly distributionColumn: string | null;
  /** schema.name of the table whose co-location group it joins; null when it starts one (or is a reference table) */
  readonly colocateWith: string | null;
  /** pg_dist_partition's placement of the live table (`distributed by patient_id`, `reference`), null when Citus does not hold it yet */
  readonly live: string | null;
}

export interface AccessChange {
  readonly role: string;
  readonly schema: string;
  readonly views: readonly string[];
  readonly usage: boolean;
}

/**
 * What a policy migration changes, in the terms a reviewer reads: relations
 * added, changed (which columns, old rule → new rule) and dropped; roles,
 * members and grants added and revoked; runtime and keys. Old state comes from
 * the catalog (column comments carry the rule, grants and memberships from the
 * catalogs), so it describes the database as it is, whoever changed it.
 */
export interface PlanSummary {
  readonly relations: readonly RelationChange[];
  readonly unchangedRelations: number;
  readonly rolesAdded: readonly string[];
  readonly membersAdded: readonly { readonly role: string; readonly member: string }[];
  readonly membersRevoked: readonly { readonly role: string; readonly member: string; readonly searchPathReset: boolean }[];
  readonly membersKept: readonly KeptMember[];
  readonly grantsAdded: readonly AccessChange[];
  readonly grantsRevoked: readonly AccessChange[];
  readonly runtime: { readonly from: 'sql' | 'plv8' | null; readonly to: 'sql' | 'plv8' };
  /** key names the migration creates; null when the keys table could not be read */
  readonly keysAdded: readonly string[] | null;
  /** Citus mode only (absent on a plain server): every masked table's placement */
  readonly citus?: readonly CitusTableSummary[];
  /** true when the migration changes nothing a reviewer needs to look at */
  readonly empty: boolean;
}

/**
 * @example
 *   // after changing one rule (mrn: redact → pseudonymize):
 *   summarizePlan(plan, snapshot, access).relations
 *   // [{ relation: 'masked.patients', change: 'changed', columns: [{ column: 'mrn', from: 'redact', to: 'pseudonymize' }], notes: [] }]
 */
export function summarizePlan(plan: MigrationPlan, snapshot: CatalogSnapshot, access: AccessState): PlanSummary {
  const relations: RelationChange[] = [];
  let unchangedRelations = 0;
  const rolesAdded: string[] = [];
  const membersAdded: { role: string; member: string }[] = [];
  const membersRevoked: { role: string; member: string; searchPathReset: boolean }[] = [];
  const grantsAdded: AccessChange[] = [];
  const grantsRevoked: AccessChange[] = [];
  const keysAdded: string[] = [];
  const citus: CitusTableSummary[] = [];
  for (const node of plan.nodes) {
    switch (node.kind) {
      case 'CreateMaskedView':
      case 'CreateCitusMaskedTable': {
        const change = relationChange(node, snapshot);
        if (change) relations.push(change);
        else unchangedRelations++;
        if (node.kind === 'CreateCitusMaskedTable') citus.push(citusTableSummary(node, snapshot));
        break;
      }
      case 'DropView':
        if (!plan.nodes.some((n) => (n.kind === 'CreateMaskedView' || n.kind === 'CreateCitusMaskedTable') && n.schema === node.schema && n.name === node.name)) {
          relations.push({ relation: `${node.schema}.${node.name}`, change: 'dropped', columns: [], notes: [node.reason] });
        }
        break;
      case 'EnsureRole':
        if (!snapshot.roles.some((r) => r.name === node.name)) rolesAdded.push(node.name);
        break;
      case 'GrantMaskingRole': {
        for (const m of node.members) {
          if (!snapshot.roles.find((r) => r.name === m)?.memberOf.includes(node.role)) membersAdded.push({ role: node.role, member: m });
        }
        for (const s of node.schemas) {
          const views = s.views.filter((v) => !findTable(snapshot, s.name, v)?.privileges.some((p) => p.grantee === node.role && p.privilege === 'SELECT'));
          const usage = !access.schemaUsage.some((u) => u.schema === s.name && u.grantee === node.role);
          if (views.length > 0 || usage) grantsAdded.push({ role: node.role, schema: s.name, views, usage });
        }
        break;
      }
      case 'RevokeAccess':
        grantsRevoked.push({ role: node.role, schema: node.schema, views: node.views, usage: node.usage });
        break;
      case 'RevokeMembership':
        membersRevoked.push({ role: node.role, member: node.member, searchPathReset: node.resetSearchPath });
        break;
      case 'EnsureKey':
        if (access.keys && !access.keys.includes(node.name)) keysAdded.push(node.name);
        break;
      default:
        break;
    }
  }
  const runtime = { from: access.runtime, to: plan.runtime } as const;
  const empty =
    relations.length === 0 &&
    rolesAdded.length === 0 &&
    membersAdded.length === 0 &&
    membersRevoked.length === 0 &&
    grantsAdded.length === 0 &&
    grantsRevoked.length === 0 &&
    keysAdded.length === 0 &&
    runtime.from === runtime.to;
  return {
    relations,
    unchangedRelations,
    rolesAdded,
    membersAdded,
    membersRevoked,
    membersKept: plan.keptMembers,
    grantsAdded,
    grantsRevoked,
    runtime,
    keysAdded: access.keys ? keysAdded : null,
    ...(plan.nodes.some((n) => n.kind === 'CitusPreamble') ? { citus } : {}),
    empty,
  };
}

/** What a masked relation's migration changes against the live one, or null when nothing a reviewer reads does. */
function relationChange(node: CreateMaskedView | CreateCitusMaskedTable, snapshot: CatalogSnapshot): RelationChange | null {
  const relation = `${node.schema}.${node.name}`;
  const kind = node.kind === 'CreateCitusMaskedTable' ? 'table' : node.materialized ? 'materialized view' : 'view';
  const existing = findTable(snapshot, node.schema, node.name);
  if (!existing || !isPgmaskRelation(existing)) {
    return { relation, change: 'added', columns: [], notes: [node.kind === 'CreateCitusMaskedTable' ? 'Citus masked table' : kind] };
  }
  const columns: ColumnChange[] = [];
  for (const c of node.columns) {
    const old = existing.columns.find((e) => e.name === c.name);
    const to = ruleOf(c.comment);
    const from = old ? ruleOf(old.comment ?? '') : null;
    if (from !== to) columns.push({ column: c.name, from, to });
  }
  for (const old of existing.columns) if (!node.columns.some((c) => c.name === old.name)) columns.push({ column: old.name, from: ruleOf(old.comment ?? ''), to: null });
  const notes: string[] = [];
  if (kind !== existing.kind) notes.push(node.kind === 'CreateCitusMaskedTable' ? 'now a Citus masked table' : `now a ${kind}`);
  return columns.length > 0 || notes.length > 0 ? { relation, change: 'changed', columns, notes } : null;
}

function citusTableSummary(node: CreateCitusMaskedTable, snapshot: CatalogSnapshot): CitusTableSummary {
  const live = snapshot.citus?.tables.find((t) => t.schema === node.schema && t.name === node.name);
  const p = node.placement;
  return {
    relation: `${node.schema}.${node.name}`,
    placement: p.kind,
    distributionColumn: p.kind === 'distributed' ? p.column : null,
    colocateWith: p.kind === 'distributed' && p.colocateWith ? `${p.colocateWith.schema}.${p.colocateWith.name}` : null,
    live: live ? (live.placement === 'distributed' ? `distributed by ${live.distributionColumn}` : live.placement) : null,
  };
}

function ruleOf(comment: string): string | null {
  return comment.startsWith(PGMASK_COMMENT_MARKER) ? comment.slice(PGMASK_COMMENT_MARKER.length).trim() : null;
}

/**
 * The summary as a reviewer reads it, one line per change.
 *
 * @example
 *   relations: 0 added, 1 changed, 0 dropped, 2 unchanged
 *     ~ masked.patients  mrn: redact → pseudonymize
 *   members: - bob from analyst (revoked; search_path reset)
 */
export function formatPlanSummary(s: PlanSummary, verb: { past: boolean } = { past: false }): string {
  const lines: string[] = [];
  const count = (c: RelationChange['change']) => s.relations.filter((r) => r.change === c).length;
  lines.push(`relations: ${count('added')} added, ${count('changed')} changed, ${count('dropped')} dropped, ${s.unchangedRelations} unchanged`);
  for (const r of s.relations) {
    const sign = r.change === 'added' ? '+' : r.change === 'dropped' ? '-' : '~';
    const notes = r.notes.length > 0 ? ` (${r.notes.join('; ')})` : '';
    if (r.columns.length === 0) lines.push(`  ${sign} ${r.relation}${notes}`);
    for (const [i, c] of r.columns.entries()) {
      const what = c.from === null ? `new column, ${c.to}` : c.to === null ? `column gone (was ${c.from})` : `${c.from} → ${c.to}`;
      lines.push(`  ${i === 0 ? `${sign} ${r.relation}${notes}` : ' '.repeat(r.relation.length + 2)}  ${c.column}: ${what}`);
    }
  }
  const revoked = verb.past ? 'revoked' : 'revoke';
  const granted = verb.past ? 'granted' : 'grant';
  for (const r of s.rolesAdded) lines.push(`role: + ${r} (${verb.past ? 'created' : 'create'}, NOLOGIN)`);
  for (const m of s.membersAdded) lines.push(`member: + ${m.member} → ${m.role} (${granted})`);
  for (const m of s.membersRevoked) lines.push(`member: - ${m.member} from ${m.role} (${revoked}${m.searchPathReset ? '; its search_path in this database reset' : ''})`);
  for (const m of s.membersKept) lines.push(`member: = ${m.member} stays in ${m.role}, not listed by this policy: ${m.reason}`);
  for (const g of s.grantsAdded) lines.push(`grant: + ${g.role}: ${accessText(g)} (${granted})`);
  for (const g of s.grantsRevoked) lines.push(`grant: - ${g.role}: ${accessText(g)} (${revoked})`);
  for (const c of s.citus ?? []) lines.push(`citus: ${c.relation} ${citusPlacementText(c)}`);
  lines.push(`runtime: ${s.runtime.from === s.runtime.to ? `${s.runtime.to} (unchanged)` : `${s.runtime.from ?? 'none'} → ${s.runtime.to}`}`);
  if (s.keysAdded && s.keysAdded.length > 0) lines.push(`keys: + ${s.keysAdded.join(', ')} (generated in the database)`);
  return lines.join('\n');
}

/** `distributed by patient_id, co-located with masked.patients (now: reference)` */
function citusPlacementText(c: CitusTableSummary): string {
  const placement =
    c.placement === 'reference'
      ? 'reference table (one shard on every node)'
      : `distributed by ${c.distributionColumn}, ${c.colocateWith ? `co-located with ${c.colocateWith}` : 'first of its co-location group'}`;
  const wanted = c.placement === 'reference' ? 'reference' : `distributed by ${c.distributionColumn}`;
  return c.live === null || c.live === wanted ? placement : `${placement} (now: ${c.live})`;
}

function accessText(g: AccessChange): string {
  const parts: string[] = [];
  if (g.usage) parts.push(`USAGE on schema ${g.schema}`);
  if (g.views.length > 0) parts.push(`SELECT on ${g.views.length} view(s) in ${g.schema}${g.views.length <= 4 ? ` (${g.views.join(', ')})` : ''}`);
  return parts.join(', ');
}
