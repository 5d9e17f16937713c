import type { Policy, PolicyTable, Rule } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable } from '../catalog/catalog-snapshot.ts';
import { findTable, isPgmaskRelation, PGMASK_COMMENT_MARKER } from '../catalog/catalog-snapshot.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import type { Runtime } from '../transforms/transform.ts';
import type { ErrorDetail } from '../errors.ts';
import { policyError, PgmaskError, ExitCode } from '../errors.ts';
import { sha256Hex } from '../sha256.ts';
import { validatePolicy, assertValid, isCheckedFor, type CheckedPolicy } from '../policy/validate.ts';
import { formatPath, policyLocation } from '../policy/policy-source-map.ts';
import { sql, trustedSqlText } from '../sql/index.ts';
import type { PlanNode, CreateMaskedView, MaskedColumn, MaskedIndex, RowOrder, SubjectRoute, ColumnReference, Expr } from './nodes.ts';
import { planSubjectRoutes, routeKey } from './subject-routes.ts';
import { cast, columnReference, constant, expr, keyReference } from './expression.ts';
import { renderExpression } from './render.ts';
import type { AccessState } from '../catalog/access-state.ts';
import { planOffboarding, type KeptMember } from './offboarding.ts';
import { citusMode, citusPolicy, planCitusNodes } from './citus.ts';
import { renderRule, ruleOutputType } from '../transforms/apply-rule.ts';

export { OWNER_ROLE } from './nodes.ts';
export const VIEW_COMMENT_MARKER = PGMASK_COMMENT_MARKER;

export interface PlanInput {
  readonly policy: Policy;
  /** catalog of the source schema and the masked schema (introspected with search_path = pg_catalog) */
  readonly snapshot: CatalogSnapshot;
  readonly registry: TransformRegistry;
  readonly runtime: Runtime;
  /** the transform functions of `runtime` (sql/ files or the PLV8 build) */
  readonly runtimeSql: string;
  readonly pgmaskVersion: string;
  /** grants and role settings of the masked schemas (for the offboarding revokes); none known when omitted */
  readonly access?: AccessState;
  /** checkPolicy's proof that `policy` fits `snapshot` (the shell checks before probing the database): not validated again */
  readonly checked?: CheckedPolicy;
}

export interface MigrationPlan {
  readonly nodes: readonly PlanNode[];
  readonly runtime: Runtime;
  readonly policyHash: string;
  /** members of a masking role the policy does not list that the plan leaves in place, with the reason */
  readonly keptMembers: readonly KeptMember[];
}

/** `auto` → plv8 when the server offers it, else sql; an explicit plv8 on a server without it is a policy error. */
export function resolveRuntime(policy: Policy, snapshot: CatalogSnapshot): Runtime {
  const hasPlv8 = snapshot.availableExtensions.includes('plv8');
  if (policy.runtime === 'auto') return hasPlv8 ? 'plv8' : 'sql';
  if (policy.runtime === 'plv8' && !hasPlv8) {
    throw new PgmaskError({
      code: 'PLV8_UNAVAILABLE',
      message: `the policy asks for runtime plv8 but the server does not offer the plv8 extension (pg_available_extensions)`,
      hint: 'use runtime: sql (or auto), or install PLV8 on the server',
      exitCode: ExitCode.invalidPolicy,
    });
  }
  return policy.runtime;
}

/** The version of a key a migration planned now uses: the newest in the database, or 1 for a key it will create. */
export function currentKeyVersion(snapshot: CatalogSnapshot, name: string): number {
  return snapshot.keyVersions?.[name] ?? 1;
}

const SOURCE_ALIAS = 'src';

function columnRef(name: string): ColumnReference {
  return columnReference(SOURCE_ALIAS, name);
}

/** The row's primary key as one text expression (composite keys as a JSON array), or null. */
export function rowKeyExpression(table: CatalogTable): Expr | null {
  const pk = table.primaryKey;
  if (!pk || pk.length === 0) return null;
  if (pk.length === 1) return cast(columnRef(pk[0]!), 'text');
  return expr`jsonb_build_array(${pk.map(columnRef)})::text`;
}

const REDACT_UNLISTED: Rule = Object.freeze({ transform: 'redact', params: Object.freeze({}), key: '', display: 'redact (unlisted column)' });

/**
 * Policy + catalog → DDL nodes. Pure: no I/O, same inputs give the same plan.
 * Validates the policy against the catalog first (validatePolicy: every problem
 * at its file:line:column), then checks what only matters for applying it: no
 * masking role or PUBLIC may already hold a grant on a source table. Throws a
 * policy error (exit 3) listing every problem found.
 */
export function planMigration(planInput: PlanInput): MigrationPlan {
  // Citus mode (src/plan/citus.ts): every table materialized, then the views become distributed tables
  const citus = citusMode(planInput.policy, planInput.snapshot);
  const input = citus ? { ...planInput, policy: citusPolicy(planInput.policy) } : planInput;
  const { policy, snapshot, registry, runtime } = input;
  // validation reads no `materialize`, so the shell's check of the policy as written holds for Citus mode's copy
  if (!isCheckedFor(planInput.checked, planInput.policy, snapshot, registry, runtime)) assertValid(validatePolicy(policy, snapshot, registry, runtime), policy);

  const problems: ErrorDetail[] = [];
  const pgcrypto = snapshot.installedExtensions['pgcrypto'];
  if (!pgcrypto && !snapshot.availableExtensions.includes('pgcrypto')) {
    problems.push({ code: 'PGCRYPTO_UNAVAILABLE', severity: 'error', message: 'the server does not offer the pgcrypto extension, which keys and the sql runtime need', hint: 'install the PostgreSQL contrib package on the server' });
  }
  const pgcryptoSchema = pgcrypto?.schema ?? 'pgmask';

  const subjectRoutes = planSubjectRoutes(policy, snapshot);
  for (const p of subjectRoutes.problems) {
    problems.push({ code: p.code, severity: 'error', message: p.message, hint: p.hint, path: p.path.join('.'), location: policyLocation(policy, p.path, p.part) });
  }

  const views: CreateMaskedView[] = [];
  const drops: PlanNode[] = [];
  for (const ptable of policy.tables) {
    const table = findTable(snapshot, ptable.sourceSchema, ptable.name)!;
    for (const p of table.privileges) {
      if (!READ_PRIVILEGES.has(p.privilege)) continue;
      if (p.grantee !== 'PUBLIC' && !policy.roles.some((r) => r.name === p.grantee)) continue;
      problems.push({
        code: 'SOURCE_GRANTED',
        severity: 'error',
        message: `${p.grantee} has ${p.privilege} on ${table.schema}.${table.name}${p.column ? ` (column ${p.column})` : ''}: a masking role would reach raw data`,
        hint: `REVOKE ${p.privilege} ON ${table.schema}.${table.name} FROM ${p.grantee}; pgmask does not change source grants by itself`,
        path: formatPath(ptable.path),
        location: policyLocation(policy, ptable.path),
      });
    }
    const view = planView(input, ptable, table, subjectRoutes.routes.get(routeKey(table.schema, ptable.name)) ?? []);
    if (view.materialized) problems.push(...materializeProblems(policy, ptable, table));
    const existing = findTable(snapshot, ptable.maskedSchema, ptable.name);
    if (existing?.kind === 'materialized view' || existing?.kind === 'table') {
      // rebuilt from scratch: this migration runs only when the policy (or pgmask) changed
      const table = existing.kind === 'table';
      drops.push({ kind: 'DropView', schema: ptable.maskedSchema, name: ptable.name, materialized: !table, table, reason: `a ${table ? 'masked table' : 'materialized masked view'} is rebuilt by every policy migration` });
    } else if (existing) {
      const replaceable = !view.materialized && existing.columns.every((c, i) => view.columns[i]?.name === c.name && view.columns[i]?.type === c.sqlType);
      if (!replaceable) drops.push({ kind: 'DropView', schema: ptable.maskedSchema, name: ptable.name, materialized: false, reason: view.materialized ? 'the table is now materialized' : 'its columns or their types changed' });
    }
    views.push(view);
  }
  // masked views pgmask made earlier for tables the policy no longer lists (only in this policy's masked schemas)
  const masked = policy.schemas.map((s) => s.masked);
  for (const t of snapshot.tables) {
    if (!masked.includes(t.schema) || !isPgmaskRelation(t)) continue;
    if (!policy.tables.some((pt) => pt.maskedSchema === t.schema && pt.name === t.name)) {
      drops.push({ kind: 'DropView', schema: t.schema, name: t.name, materialized: t.kind === 'materialized view', table: t.kind === 'table', reason: 'the policy no longer lists this table' });
    }
  }
  if (problems.length > 0) {
    throw policyError(`the policy cannot be applied to this database (${problems.length} problem${problems.length > 1 ? 's' : ''})`, problems);
  }

  // without the access state (grants, role settings) nothing is known to revoke
  const offboarding = input.access ? planOffboarding(policy, snapshot, input.access, views) : { revokes: [], kept: [] };
  const nodes: PlanNode[] = [
    {
      kind: 'Header',
      pgmaskVersion: input.pgmaskVersion,
      policyHash: policy.hash,
      policyFile: policy.file,
      runtime,
      schemas: policy.schemas.map((s) => ({ source: s.source, masked: s.masked })),
    },
    { kind: 'Preamble' },
    { kind: 'EnsureExtension', name: 'pgcrypto', schema: pgcryptoSchema },
    ...(runtime === 'plv8' ? [{ kind: 'EnsureExtension', name: 'plv8', schema: 'pg_catalog' } as const] : []),
    { kind: 'InstallRuntime', runtime, body: trustedSqlText(input.runtimeSql), pgcryptoSchema },
    ...policy.keys.map((name) => ({ kind: 'EnsureKey', name, pgcryptoSchema }) as const),
    ...masked.map((name) => ({ kind: 'EnsureSchema', name }) as const),
    // each source schema's tables, and tables in other schemas that consent routes pass through
    ...[...new Set([...policy.schemas.map((s) => s.source), ...subjectRoutes.readTables.map((t) => t.schema)])].map(
      (schema) =>
        ({
          kind: 'EnsureOwnerAccess',
          schema,
          tables: [...new Set([...views.filter((v) => v.sourceSchema === schema).map((v) => v.sourceTable), ...subjectRoutes.readTables.filter((t) => t.schema === schema).map((t) => t.name)])],
        }) as const,
    ),
    ...drops,
    ...views,
    ...policy.roles.map((r) => ({ kind: 'EnsureRole', name: r.name }) as const),
    ...policy.roles.map(
      (r) =>
        ({
          kind: 'GrantMaskingRole',
          role: r.name,
          schemas: masked.map((name) => ({ name, views: views.filter((v) => v.schema === name).map((v) => v.name) })),
          members: r.members,
          database: snapshot.database,
        }) as const,
    ),
    ...policy.brokers.map((b) => ({ kind: 'EnsureRole', name: b.name }) as const),
    { kind: 'GrantBrokers', brokers: policy.brokers.map((b) => ({ role: b.name, members: b.members })) },
    ...offboarding.revokes,
    ...(runtime === 'plv8' ? [{ kind: 'RestrictPlv8', roles: [...new Set(policy.roles.flatMap((r) => [r.name, ...r.members]))] } as const] : []),
  ];
  const planned = citus ? planCitusNodes({ policy, snapshot, nodes }) : nodes;
  return Object.freeze({ nodes: Object.freeze(planned), runtime, policyHash: policy.hash, keptMembers: offboarding.kept });
}

const READ_PRIVILEGES = new Set(['SELECT', 'UPDATE', 'INSERT', 'REFERENCES']);

/** One masked view: every source column in table order, wrapped by its rule and cast back. Assumes a validated policy. */
function planView(input: PlanInput, ptable: PolicyTable, table: CatalogTable, subjectRoutes: readonly SubjectRoute[]): CreateMaskedView {
  const { policy, registry } = input;
  const subjectName = ptable.subject ?? policy.subject;
  const subjectColumn = subjectName ? table.columns.find((c) => c.name === subjectName) : undefined;
  const subject = subjectColumn ? cast(columnRef(subjectColumn.name), 'text') : null;
  const rowKey = rowKeyExpression(table);
  const columns: MaskedColumn[] = table.columns.map((column) => {
    const rule = ptable.columns.find((c) => c.name === column.name)?.rule ?? REDACT_UNLISTED;
    const transform = registry.get(rule.transform)!;
    const keyName = rule.key || policy.keys[0]!;
    const keyVersion = currentKeyVersion(input.snapshot, keyName);
    const keyFor = (name: string) => {
      const version = currentKeyVersion(input.snapshot, name);
      return { key: keyReference(name, version), version };
    };
    const rendered = renderRule({
      registry,
      transform,
      params: rule.params,
      value: columnRef(column.name),
      column,
      table,
      // the view names the key's version, so it keeps its key until the next migrate after `pgmask keys rotate`
      key: keyReference(keyName, keyVersion),
      keyVersion,
      keyFor,
      runtime: input.runtime,
      subject,
      rowKey,
    });
    const type = ruleOutputType(transform, column, rule.params);
    const masked = cast(rendered, type, false);
    return { name: column.name, masked, expression: renderExpression(masked), type, comment: `${VIEW_COMMENT_MARKER} ${rule.display}` };
  });
  return {
    kind: 'CreateMaskedView',
    schema: ptable.maskedSchema,
    name: table.name,
    sourceSchema: table.schema,
    sourceTable: table.name,
    columns,
    filter: ptable.filter,
    subjectRoutes,
    rowOrder: rowOrder(policy, input.snapshot, ptable, table),
    comment: `${VIEW_COMMENT_MARKER} ${ptable.materialize ? 'materialized ' : ''}masked view of ${table.schema}.${table.name} (policy sha256 ${policy.hash.slice(0, 16)})`,
    materialized: ptable.materialize,
    indexes: ptable.materialize ? materializedIndexes(policy, ptable, table) : [],
    subject: subjectColumn?.name ?? null,
    subjectRepeats: subjectColumn !== undefined && !(table.primaryKey?.length === 1 && table.primaryKey[0] === subjectColumn.name),
  };
}

/**
 * Keyed order unless the policy accepts storage order for the table. A
 * materialized view is stored sorted by its masked primary key (which it always
 * has, see materializeProblems) and kept so by `pgmask refresh` (CLUSTER on that
 * key's index); a dynamic view sorts each query by a keyed hash of the row key.
 */
function rowOrder(policy: Policy, snapshot: CatalogSnapshot, ptable: PolicyTable, table: CatalogTable): RowOrder {
  if (ptable.rowOrder === 'storage') return { kind: 'storage' };
  const pk = table.primaryKey ?? [];
  if (ptable.materialize && pk.length > 0) {
    return { kind: 'masked key', positions: pk.map((c) => table.columns.findIndex((col) => col.name === c) + 1) };
  }
  return { kind: 'keyed', rowKey: rowKeyExpression(table) ?? constant(sql`${trustedSqlText(SOURCE_ALIAS)}::text`), key: keyReference(policy.keys[0]!, currentKeyVersion(snapshot, policy.keys[0]!)) };
}

/** The unique index on a materialized view's masked primary key (also the one `pgmask refresh` clusters on). */
export function maskedKeyIndexName(maskedSchema: string, table: string): string {
  return `${materializedIndexBase(maskedSchema, table)}_key`;
}

function materializedIndexBase(maskedSchema: string, table: string): string {
  return `pgmask_${sha256Hex(`${maskedSchema}.${table}`).slice(0, 12)}`;
}

/** Transforms that map distinct values to distinct values, so a key stays a key after masking. */
const INJECTIVE = new Set(['keep', 'pseudonymize']);

function ruleOf(ptable: PolicyTable, column: string): string | undefined {
  return ptable.columns.find((c) => c.name === column)?.rule.transform;
}

/**
 * A materialized view is refreshed CONCURRENTLY (analysts keep reading), which
 * needs a unique index over all rows: the masked primary key, so the key columns
 * must be masked injectively.
 */
function materializeProblems(policy: Policy, ptable: PolicyTable, table: CatalogTable): ErrorDetail[] {
  const at = { path: formatPath([...ptable.path, 'materialize']), location: policyLocation(policy, ptable.path) };
  if (!table.primaryKey || table.primaryKey.length === 0) {
    return [{ code: 'MATERIALIZE_NO_KEY', severity: 'error', message: `${table.schema}.${table.name} has no primary key, which a materialized masked view needs to be refreshed without blocking readers`, hint: 'add a primary key to the source table, or set materialize: false for it', ...at }];
  }
  const lossy = table.primaryKey.filter((c) => !INJECTIVE.has(ruleOf(ptable, c) ?? 'redact'));
  if (lossy.length === 0) return [];
  return [
    {
      code: 'MATERIALIZE_KEY_NOT_UNIQUE',
      severity: 'error',
      message: `primary key column(s) ${lossy.join(', ')} of ${table.name} are not masked one-to-one (${lossy.map((c) => ruleOf(ptable, c) ?? 'redact').join(', ')}), so the materialized view would have no unique key`,
      hint: 'mask primary key columns with pseudonymize (or keep), or set materialize: false for this table',
      ...at,
    },
  ];
}

/**
 * Unique index on the masked primary key; plain indexes on every other pseudonymized column
 * (the identifiers analysts look up and join on: MRN, encounter number, the subject, foreign
 * keys) and on join keys shown raw. A masked identifier is looked up by its pseudonym, which only the materialized view
 * can index: a dynamic view computes it per row (docs/performance.md).
 */
function materializedIndexes(policy: Policy, ptable: PolicyTable, table: CatalogTable): MaskedIndex[] {
  const base = materializedIndexBase(ptable.maskedSchema, table.name);
  const indexes: MaskedIndex[] = [];
  if (table.primaryKey?.length) indexes.push({ name: maskedKeyIndexName(ptable.maskedSchema, table.name), columns: table.primaryKey, unique: true });
  const joinKeys = new Set<string>();
  for (const fk of table.foreignKeys) if (fk.columns.length === 1) joinKeys.add(fk.columns[0]!);
  const subject = ptable.subject ?? policy.subject;
  if (subject) joinKeys.add(subject);
  for (const c of table.columns) {
    if (table.primaryKey?.length === 1 && table.primaryKey[0] === c.name) continue;
    const rule = ruleOf(ptable, c.name) ?? 'redact';
    // join keys shown raw (keep) or pseudonymized, and every pseudonymized identifier
    if (rule !== 'pseudonymize' && !(joinKeys.has(c.name) && INJECTIVE.has(rule))) continue;
    indexes.push({ name: `${base}_${indexes.length}`, columns: [c.name], unique: false });
  }
  return indexes;
}
