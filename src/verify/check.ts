import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { snapshotFor } from '../cli/pipeline.ts';
import { registry as builtinRegistry, type TransformRegistry } from '../transforms/registry.ts';
import { VIEW_COMMENT_MARKER } from '../plan/planner.ts';
import { databaseError } from '../errors.ts';

/**
 * `pgmask check`: the policy against the live catalog and what `migrate`
 * recorded. Each difference is a finding; any finding is drift (exit 5). Pure
 * reads: a snapshot, the newest pgmask.applied_policies row, the partitions.
 */

export type DriftKind =
  | 'not-migrated'
  | 'policy-changed'
  | 'table-missing'
  | 'table-unlisted'
  | 'column-unclassified'
  | 'column-missing'
  | 'type-changed'
  | 'view-missing'
  | 'view-not-pgmask'
  | 'view-columns-differ'
  | 'view-stale'
  | 'role-missing'
  | 'member-not-granted';

export interface DriftFinding {
  readonly kind: DriftKind;
  /** the source (or masked) table's name, or null for database-wide findings */
  readonly table: string | null;
  readonly column: string | null;
  readonly message: string;
  readonly hint: string;
}

export interface DriftReport {
  /** true when nothing drifted */
  readonly ok: boolean;
  /** sha256 of the policy file checked */
  readonly policyHash: string;
  /** the policy hash of the newest `pgmask migrate` on this database, or null when none ran */
  readonly appliedPolicyHash: string | null;
  readonly findings: readonly DriftFinding[];
}

/**
 * @example
 *   const r = await checkDrift(client, policy);
 *   // after ALTER TABLE patients ADD COLUMN ssn text:
 *   // r.findings[0] = { kind: 'column-unclassified', table: 'patients', column: 'ssn', message: 'column patients.ssn has no rule …', hint: '…' }
 */
export async function checkDrift(client: pg.ClientBase, policy: Policy, registry: TransformRegistry = builtinRegistry): Promise<DriftReport> {
  let snapshot: CatalogSnapshot;
  let applied: string | null;
  let unlisted: string[];
  try {
    snapshot = await snapshotFor(client, policy);
    applied = await appliedPolicyHash(client);
    unlisted = (
      await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_catalog.pg_class c
          WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1)
            AND c.relkind IN ('r', 'p', 'f', 'm') AND NOT c.relispartition AND NOT (c.relname = ANY($2::text[]))
          ORDER BY c.relname`,
        [policy.sourceSchema, policy.tables.map((t) => t.name)],
      )
    ).rows.map((r) => r.name);
  } catch (cause) {
    throw databaseError(cause, 'cannot read the catalog for pgmask check');
  }
  const findings: DriftFinding[] = [];
  const add = (f: DriftFinding) => findings.push(f);
  const source = policy.sourceSchema;
  const masked = policy.maskedSchema;

  if (applied === null) {
    add({ kind: 'not-migrated', table: null, column: null, message: `no policy was ever applied to database ${snapshot.database}`, hint: 'run pgmask migrate' });
  } else if (applied !== policy.hash) {
    add({
      kind: 'policy-changed',
      table: null,
      column: null,
      message: `the masked views were made from policy sha256 ${applied.slice(0, 16)}…, but ${policy.file} is sha256 ${policy.hash.slice(0, 16)}…`,
      hint: 'review the policy change and run pgmask migrate',
    });
  }

  for (const ptable of policy.tables) {
    const table = findTable(snapshot, source, ptable.name);
    if (!table) {
      add({ kind: 'table-missing', table: ptable.name, column: null, message: `policy table ${source}.${ptable.name} no longer exists (dropped or renamed)`, hint: `remove or rename it in ${policy.file}, then run pgmask migrate` });
      continue;
    }
    checkColumns(policy, ptable.name, table, add);
    const view = findTable(snapshot, masked, ptable.name);
    if (!view) {
      add({ kind: 'view-missing', table: ptable.name, column: null, message: `masked view ${masked}.${ptable.name} does not exist`, hint: 'run pgmask migrate' });
      continue;
    }
    const wanted = ptable.materialize ? 'materialized view' : 'view';
    if ((view.kind !== 'view' && view.kind !== 'materialized view') || !view.comment?.startsWith(VIEW_COMMENT_MARKER)) {
      add({ kind: 'view-not-pgmask', table: ptable.name, column: null, message: `${masked}.${ptable.name} is a ${view.kind} pgmask did not make`, hint: `drop or rename it, then run pgmask migrate` });
      continue;
    }
    if (view.kind !== wanted) {
      add({ kind: 'view-not-pgmask', table: ptable.name, column: null, message: `${masked}.${ptable.name} is a ${view.kind}; the policy wants a ${wanted}`, hint: 'run pgmask migrate' });
      continue;
    }
    checkView(policy, registry, ptable.name, table, view, add);
  }

  for (const r of policy.roles) {
    if (!snapshot.roles.some((x) => x.name === r.name)) {
      add({ kind: 'role-missing', table: null, column: null, message: `masking role ${r.name} does not exist`, hint: 'run pgmask migrate (it creates masking roles)' });
    }
    for (const m of r.members) {
      const member = snapshot.roles.find((x) => x.name === m);
      if (!member) {
        add({ kind: 'role-missing', table: null, column: null, message: `login member ${m} of masking role ${r.name} does not exist`, hint: `create the login role ${m} (pgmask does not create people's logins), then run pgmask migrate` });
      } else if (!member.memberOf.includes(r.name)) {
        add({ kind: 'member-not-granted', table: null, column: null, message: `${m} is not a member of masking role ${r.name}`, hint: 'run pgmask migrate (it grants the masking role to its members)' });
      }
    }
  }

  for (const name of unlisted) {
    add({ kind: 'table-unlisted', table: name, column: null, message: `table ${source}.${name} has no rules in the policy`, hint: `add it to ${policy.file} (pgmask scan drafts rules), or move it out of schema ${source}` });
  }
  for (const t of snapshot.tables) {
    if (t.schema !== masked || t.kind !== 'view' || !t.comment?.startsWith(VIEW_COMMENT_MARKER)) continue;
    if (!policy.tables.some((pt) => pt.name === t.name)) {
      add({ kind: 'view-stale', table: t.name, column: null, message: `masked view ${masked}.${t.name} is for a table the policy no longer lists`, hint: 'run pgmask migrate (it drops the view)' });
    }
  }
  return { ok: findings.length === 0, policyHash: policy.hash, appliedPolicyHash: applied, findings };
}

async function appliedPolicyHash(client: pg.ClientBase): Promise<string | null> {
  const exists = await client.query<{ ok: boolean }>(`SELECT pg_catalog.to_regclass('pgmask.applied_policies') IS NOT NULL AS ok`);
  if (!exists.rows[0]!.ok) return null;
  const r = await client.query<{ policy_hash: string }>('SELECT policy_hash FROM pgmask.applied_policies ORDER BY id DESC LIMIT 1');
  return r.rows[0]?.policy_hash ?? null;
}

function checkColumns(policy: Policy, name: string, table: CatalogTable, add: (f: DriftFinding) => void): void {
  const ptable = policy.tables.find((t) => t.name === name)!;
  const added = table.columns.filter((c) => !ptable.columns.some((pc) => pc.name === c.name));
  const gone = ptable.columns.filter((pc) => !table.columns.some((c) => c.name === pc.name));
  for (const c of added) {
    const renamed = gone.length > 0 ? ` (renamed from ${gone.map((g) => g.name).join(' or ')}?)` : '';
    add({
      kind: 'column-unclassified',
      table: name,
      column: c.name,
      message: `column ${policy.sourceSchema}.${name}.${c.name} (${c.sqlType}) has no rule${renamed}; the masked view does not show it until the policy classifies it`,
      hint: policy.unlistedColumns === 'redact' ? 'add a rule (the next migrate would redact it), then run pgmask migrate' : `add a rule for ${c.name} (redact or keep if unsure), then run pgmask migrate`,
    });
  }
  for (const pc of gone) {
    add({
      kind: 'column-missing',
      table: name,
      column: pc.name,
      message: `policy column ${name}.${pc.name} no longer exists in ${policy.sourceSchema}.${name} (dropped or renamed)`,
      hint: `remove or rename its rule in ${policy.file}, then run pgmask migrate`,
    });
  }
}

/** The view's columns against what the policy makes of the source columns today (names, order, types). */
function checkView(policy: Policy, registry: TransformRegistry, name: string, table: CatalogTable, view: CatalogTable, add: (f: DriftFinding) => void): void {
  const ptable = policy.tables.find((t) => t.name === name)!;
  for (const vc of view.columns) {
    const sc = table.columns.find((c) => c.name === vc.name);
    if (!sc) continue; // reported as column-missing
    const pc = ptable.columns.find((c) => c.name === vc.name);
    const transform = pc ? registry.get(pc.rule.transform) : registry.get('redact');
    const expected = (pc && transform?.outputType?.(sc, pc.rule.params)) ?? sc.sqlType;
    if (vc.sqlType !== expected) {
      add({
        kind: 'type-changed',
        table: name,
        column: vc.name,
        message: `${policy.maskedSchema}.${name}.${vc.name} is ${vc.sqlType} but the source column is now ${sc.sqlType}${expected !== sc.sqlType ? ` (the rule gives ${expected})` : ''}`,
        hint: 'check that the rule still fits the new type, then run pgmask migrate',
      });
    }
  }
  const expectedNames = table.columns.filter((c) => ptable.columns.some((pc) => pc.name === c.name) || policy.unlistedColumns === 'redact').map((c) => c.name);
  const actualNames = view.columns.map((c) => c.name);
  const missing = expectedNames.filter((n) => !actualNames.includes(n));
  const extra = actualNames.filter((n) => !table.columns.some((c) => c.name === n));
  if (missing.length > 0 || (extra.length === 0 && missing.length === 0 && expectedNames.join('\0') !== actualNames.join('\0'))) {
    add({
      kind: 'view-columns-differ',
      table: name,
      column: missing[0] ?? null,
      message: `${policy.maskedSchema}.${name} has columns (${actualNames.join(', ')}) but the policy makes (${expectedNames.join(', ')})`,
      hint: 'run pgmask migrate',
    });
  }
}
