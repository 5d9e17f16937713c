import { ruleOutputType } from '../transforms/apply-rule.ts';
import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { snapshotFor } from '../db/introspect.ts';
import { registry as builtinRegistry, type TransformRegistry } from '../transforms/registry.ts';
import { OWNER_ROLE, VIEW_COMMENT_MARKER } from '../plan/planner.ts';
import { databaseError } from '../errors.ts';
import { policySections } from '../policy/policy-sections.ts';
import { citusMode } from '../plan/citus.ts';
import { query } from '../db/query.ts';
import { param, sql } from '../sql/index.ts';

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
  | 'view-kind-differs'
  | 'role-missing'
  | 'member-not-granted'
  | 'member-unlisted'
  | 'grant-unlisted';

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
  const sections = policySections(policy);
  if (sections.length === 1) return checkSection(client, policy, registry);
  // one report per source schema; database-wide findings (roles, members) are the same in each, so listed once
  const reports: DriftReport[] = [];
  for (const section of sections) reports.push(await checkSection(client, section, registry, policy));
  const seen = new Set<string>();
  const findings = reports
    .flatMap((r) => r.findings)
    .filter((f) => {
      const id = JSON.stringify([f.kind, f.table, f.column, f.message]);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  const applied = reports.map((r) => r.appliedPolicyHash);
  return { ok: findings.length === 0, policyHash: policy.hash, appliedPolicyHash: applied.every((h) => h === applied[0]) ? applied[0]! : null, findings };
}

/** check of one source schema and its masked schema */
async function checkSection(client: pg.ClientBase, policy: Policy, registry: TransformRegistry, whole: Policy = policy): Promise<DriftReport> {
  let live: LiveState;
  try {
    live = await readLiveState(client, policy);
  } catch (cause) {
    throw databaseError(cause, 'cannot read the catalog for pgmask check');
  }
  const findings: DriftFinding[] = [];
  const add = (f: DriftFinding) => findings.push(f);
  checkApplied(policy, live, add);
  for (const ptable of policy.tables) checkTable(policy, registry, ptable.name, live.snapshot, add);
  checkRoles(policy, live, add);
  checkGrants(policy, live, add, whole);
  checkUnlisted(policy, live, add);
  return { ok: findings.length === 0, policyHash: policy.hash, appliedPolicyHash: live.applied, findings };
}

type Add = (f: DriftFinding) => void;

/** What check reads, once: the snapshot, the applied policy, and what the snapshot does not hold. */
interface LiveState {
  readonly snapshot: CatalogSnapshot;
  readonly applied: string | null;
  /** source relations the policy does not list */
  readonly unlisted: readonly string[];
  /** current members of each masking role that exists: member → masking role (members who can use it) */
  readonly members: readonly { readonly role: string; readonly member: string }[];
  /** privileges on relations held by masking roles, or on masked-schema relations held by anyone but pgmask_owner */
  readonly grants: readonly { readonly grantee: string; readonly schema: string; readonly relation: string; readonly privilege: string }[];
}

async function readLiveState(client: pg.ClientBase, policy: Policy): Promise<LiveState> {
  const snapshot = await snapshotFor(client, policy);
  const applied = await appliedPolicyHash(client, policy.maskedSchema);
  const unlisted = (
    await query<{ name: string }>(
      client,
      sql`SELECT c.relname AS name FROM pg_catalog.pg_class c
        WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${param(policy.sourceSchema)})
          AND c.relkind IN ('r', 'p', 'f', 'm') AND NOT c.relispartition AND NOT (c.relname = ANY(${param(policy.tables.map((t) => t.name))}::text[]))
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                           WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY c.relname`,
    )
  ).rows.map((r) => r.name);
  const roles = policy.roles.map((r) => r.name);
  return { snapshot, applied, unlisted, members: await maskingRoleMembers(client, roles), grants: await relationGrants(client, policy.maskedSchema, roles) };
}

/**
 * Current members of the masking roles that can use their privileges. Since PostgreSQL 16
 * a role created by a non-superuser is granted to its creator WITH ADMIN, INHERIT FALSE,
 * SET FALSE: that member administers the role but reads nothing through it.
 */
export async function maskingRoleMembers(client: pg.ClientBase, maskingRoles: readonly string[]): Promise<{ role: string; member: string }[]> {
  const v16 = (await query<{ v: number }>(client, sql`SELECT pg_catalog.current_setting('server_version_num')::int AS v`)).rows[0]!.v >= 160000;
  return (
    await query<{ role: string; member: string }>(
      client,
      sql`SELECT DISTINCT g.rolname AS role, u.rolname AS member
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member
        WHERE g.rolname = ANY(${param(maskingRoles)}::text[])${v16 ? sql` AND (m.inherit_option OR m.set_option)` : sql``}
        ORDER BY 1, 2`,
    )
  ).rows;
}

async function relationGrants(client: pg.ClientBase, maskedSchema: string, maskingRoles: readonly string[]): Promise<LiveState['grants']> {
  return (
    await query<{ grantee: string; schema: string; relation: string; privilege: string }>(
      client,
      sql`SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
              n.nspname AS schema, c.relname AS relation, a.privilege_type AS privilege
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, pg_catalog.aclexplode(c.relacl) a
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND a.grantee <> c.relowner
          AND (pg_catalog.pg_get_userbyid(a.grantee) = ANY(${param(maskingRoles)}::text[]) OR (n.nspname = ${param(maskedSchema)} AND pg_catalog.pg_get_userbyid(a.grantee) <> ${param(OWNER_ROLE)}))
        ORDER BY 1, 2, 3, 4`,
    )
  ).rows;
}

function checkApplied(policy: Policy, live: LiveState, add: Add): void {
  if (live.applied === null) {
    add({ kind: 'not-migrated', table: null, column: null, message: `no policy was ever applied to database ${live.snapshot.database}`, hint: 'run pgmask migrate' });
  } else if (live.applied !== policy.hash) {
    add({
      kind: 'policy-changed',
      table: null,
      column: null,
      message: `the masked views were made from policy sha256 ${live.applied.slice(0, 16)}…, but ${policy.file} is sha256 ${policy.hash.slice(0, 16)}…`,
      hint: 'review the policy change and run pgmask migrate',
    });
  }
}

/** One policy table: its source columns, then its masked relation (kind, maker, columns). */
function checkTable(policy: Policy, registry: TransformRegistry, name: string, snapshot: CatalogSnapshot, add: Add): void {
  const source = policy.sourceSchema;
  const masked = policy.maskedSchema;
  const ptable = policy.tables.find((t) => t.name === name)!;
  const table = findTable(snapshot, source, name);
  if (!table) {
    add({ kind: 'table-missing', table: name, column: null, message: `policy table ${source}.${name} no longer exists (dropped or renamed)`, hint: `remove or rename it in ${policy.file}, then run pgmask migrate` });
    return;
  }
  checkColumns(policy, name, table, add);
  const view = findTable(snapshot, masked, name);
  if (!view) {
    add({ kind: 'view-missing', table: name, column: null, message: `masked view ${masked}.${name} does not exist`, hint: 'run pgmask migrate' });
    return;
  }
  if (!isMaskedRelation(view)) {
    add({ kind: 'view-not-pgmask', table: name, column: null, message: `${masked}.${name} is a ${view.kind} pgmask did not make`, hint: `drop or rename it, then run pgmask migrate` });
    return;
  }
  // Citus mode: every masked relation is a distributed (or reference) table
  const wanted = citusMode(policy, snapshot) ? 'table' : ptable.materialize ? 'materialized view' : 'view';
  if (view.kind !== wanted) {
    add({ kind: 'view-kind-differs', table: name, column: null, message: `${masked}.${name} is a ${view.kind}, but the policy makes a ${wanted}`, hint: 'run pgmask migrate' });
  }
  checkView(policy, registry, name, table, view, add);
}

/** A view, materialized view or (Citus mode) table carrying pgmask's comment. */
function isMaskedRelation(t: CatalogTable): boolean {
  return (t.kind === 'view' || t.kind === 'materialized view' || t.kind === 'table') && (t.comment?.startsWith(VIEW_COMMENT_MARKER) ?? false);
}

/** Masking roles exist; listed members hold them; nobody else does (offboarding: a member added by hand, or one the policy dropped). */
function checkRoles(policy: Policy, live: LiveState, add: Add): void {
  const { snapshot } = live;
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
    for (const { member } of live.members.filter((x) => x.role === r.name && !r.members.includes(x.member))) {
      add({
        kind: 'member-unlisted',
        table: null,
        column: null,
        message: `${member} is a member of masking role ${r.name} but not listed in its members in ${policy.file}`,
        hint: `add ${member} to roles.${r.name}.members if it should read the masked views, else REVOKE ${r.name} FROM ${member} (pgmask migrate revokes members the policy no longer lists)`,
      });
    }
  }
}

/** Privileges the policy does not give: a masking role on any relation but its masked views, anyone else on the masked schema. */
function checkGrants(policy: Policy, live: LiveState, add: Add, whole: Policy = policy): void {
  const masking = new Set(policy.roles.map((r) => r.name));
  for (const g of live.grants) {
    // any masked view of the whole policy (with several source schemas, the other schemas' views too)
    const expected = masking.has(g.grantee) && whole.tables.some((t) => t.maskedSchema === g.schema && t.name === g.relation) && g.privilege === 'SELECT';
    if (expected) continue;
    add({
      kind: 'grant-unlisted',
      table: g.schema === policy.maskedSchema ? g.relation : null,
      column: null,
      message: `${g.grantee} has ${g.privilege} on ${g.schema}.${g.relation}, which ${policy.file} does not grant`,
      hint: masking.has(g.grantee)
        ? `REVOKE ${g.privilege} ON ${g.schema}.${g.relation} FROM ${g.grantee}, or add the table to the policy`
        : `REVOKE ${g.privilege} ON ${g.schema}.${g.relation} FROM ${g.grantee} (a removed or renamed masking role?), or list the role in the policy`,
    });
  }
}

function checkUnlisted(policy: Policy, live: LiveState, add: Add): void {
  const source = policy.sourceSchema;
  const masked = policy.maskedSchema;
  for (const name of live.unlisted) {
    add({ kind: 'table-unlisted', table: name, column: null, message: `table ${source}.${name} has no rules in the policy`, hint: `add it to ${policy.file} (pgmask scan drafts rules), or move it out of schema ${source}` });
  }
  for (const t of live.snapshot.tables) {
    if (t.schema !== masked || !isMaskedRelation(t)) continue;
    if (!policy.tables.some((pt) => pt.name === t.name)) {
      add({ kind: 'view-stale', table: t.name, column: null, message: `masked ${t.kind} ${masked}.${t.name} is for a table the policy no longer lists`, hint: 'run pgmask migrate (it drops the view)' });
    }
  }
}

/** The policy that last made the views of `maskedSchema` (another policy's migrations, into other masked schemas, do not count). */
async function appliedPolicyHash(client: pg.ClientBase, maskedSchema: string): Promise<string | null> {
  const exists = await query<{ ok: boolean }>(client, sql`SELECT pg_catalog.to_regclass('pgmask.applied_policies') IS NOT NULL AS ok`);
  if (!exists.rows[0]!.ok) return null;
  const r = await query<{ policy_hash: string }>(client, sql`SELECT policy_hash FROM pgmask.applied_policies WHERE masked_schema = ${param(maskedSchema)} ORDER BY id DESC LIMIT 1`);
  return r.rows[0]?.policy_hash ?? null;
}

function checkColumns(policy: Policy, name: string, table: CatalogTable, add: Add): void {
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
function checkView(policy: Policy, registry: TransformRegistry, name: string, table: CatalogTable, view: CatalogTable, add: Add): void {
  const ptable = policy.tables.find((t) => t.name === name)!;
  for (const vc of view.columns) {
    const sc = table.columns.find((c) => c.name === vc.name);
    if (!sc) continue; // reported as column-missing
    const pc = ptable.columns.find((c) => c.name === vc.name);
    const transform = pc ? registry.get(pc.rule.transform) : registry.get('redact');
    const expected = pc && transform ? ruleOutputType(transform, sc, pc.rule.params) : sc.sqlType;
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
