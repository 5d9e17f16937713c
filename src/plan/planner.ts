import type { Policy, PolicyTable, Rule } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable } from '../db/catalog-snapshot.ts';
import { findTable } from '../db/catalog-snapshot.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import type { Runtime } from '../transforms/transform.ts';
import type { ErrorDetail } from '../errors.ts';
import { policyError, PgmaskError, ExitCode } from '../errors.ts';
import { validatePolicy, assertValid } from '../policy/validate.ts';
import { policyLocation } from '../policy/policy-source-map.ts';
import { ident, literal, sql, join, trustedSqlText, type Sql } from '../sql/index.ts';
import type { PlanNode, CreateMaskedView, MaskedColumn } from './nodes.ts';

export const OWNER_ROLE = 'pgmask_owner';
export const VIEW_COMMENT_MARKER = 'pgmask:';

export interface PlanInput {
  readonly policy: Policy;
  /** catalog of the source schema and the masked schema (introspected with search_path = pg_catalog) */
  readonly snapshot: CatalogSnapshot;
  readonly registry: TransformRegistry;
  readonly runtime: Runtime;
  /** the transform functions of `runtime` (sql/ files or the PLV8 build) */
  readonly runtimeSql: string;
  readonly pgmaskVersion: string;
}

export interface MigrationPlan {
  readonly nodes: readonly PlanNode[];
  readonly runtime: Runtime;
  readonly policyHash: string;
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

/** The key reference written into views: a scalar subquery (an InitPlan, evaluated once per query). */
export function keyReference(name: string): Sql {
  return sql`(SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = ${literal(name)})`;
}

const SOURCE_ALIAS = ident('src');

function columnRef(name: string): Sql {
  return sql`${SOURCE_ALIAS}.${ident(name)}`;
}

/** The row's primary key as one text expression (composite keys as a JSON array), or null. */
export function rowKeyExpression(table: CatalogTable): Sql | null {
  const pk = table.primaryKey;
  if (!pk || pk.length === 0) return null;
  if (pk.length === 1) return sql`${columnRef(pk[0]!)}::text`;
  return sql`jsonb_build_array(${join(pk.map(columnRef))})::text`;
}

const REDACT_UNLISTED: Rule = Object.freeze({ transform: 'redact', params: Object.freeze({}), key: '', display: 'redact (unlisted column)' });

/**
 * Policy + catalog → DDL nodes. Pure: no I/O, same inputs give the same plan.
 * Validates the policy against the catalog first (validatePolicy: every problem
 * at its file:line:column), then checks what only matters for applying it: no
 * masking role or PUBLIC may already hold a grant on a source table. Throws a
 * policy error (exit 3) listing every problem found.
 */
export function planMigration(input: PlanInput): MigrationPlan {
  const { policy, snapshot, registry, runtime } = input;
  assertValid(validatePolicy(policy, snapshot, registry, runtime), policy);

  const problems: ErrorDetail[] = [];
  const pgcrypto = snapshot.installedExtensions['pgcrypto'];
  if (!pgcrypto && !snapshot.availableExtensions.includes('pgcrypto')) {
    problems.push({ code: 'PGCRYPTO_UNAVAILABLE', severity: 'error', message: 'the server does not offer the pgcrypto extension, which keys and the sql runtime need', hint: 'install the PostgreSQL contrib package on the server' });
  }
  const pgcryptoSchema = pgcrypto?.schema ?? 'pgmask';

  const views: CreateMaskedView[] = [];
  const drops: PlanNode[] = [];
  for (const ptable of policy.tables) {
    const table = findTable(snapshot, policy.sourceSchema, ptable.name)!;
    for (const p of table.privileges) {
      if (!READ_PRIVILEGES.has(p.privilege)) continue;
      if (p.grantee !== 'PUBLIC' && !policy.roles.some((r) => r.name === p.grantee)) continue;
      problems.push({
        code: 'SOURCE_GRANTED',
        severity: 'error',
        message: `${p.grantee} has ${p.privilege} on ${policy.sourceSchema}.${table.name}${p.column ? ` (column ${p.column})` : ''}: a masking role would reach raw data`,
        hint: `REVOKE ${p.privilege} ON ${policy.sourceSchema}.${table.name} FROM ${p.grantee}; pgmask does not change source grants by itself`,
        path: `tables.${ptable.name}`,
        location: policyLocation(policy, ['tables', ptable.name]),
      });
    }
    const view = planView(input, ptable, table);
    const existing = findTable(snapshot, policy.maskedSchema, ptable.name);
    if (existing) {
      const replaceable = existing.columns.every((c, i) => view.columns[i]?.name === c.name && view.columns[i]?.type === c.sqlType);
      if (!replaceable) drops.push({ kind: 'DropView', schema: policy.maskedSchema, name: ptable.name, reason: 'its columns or their types changed' });
    }
    views.push(view);
  }
  // views pgmask made earlier for tables the policy no longer lists
  for (const t of snapshot.tables) {
    if (t.schema !== policy.maskedSchema || t.kind !== 'view' || !t.comment?.startsWith(VIEW_COMMENT_MARKER)) continue;
    if (!policy.tables.some((pt) => pt.name === t.name)) drops.push({ kind: 'DropView', schema: t.schema, name: t.name, reason: 'the policy no longer lists this table' });
  }
  if (problems.length > 0) {
    throw policyError(`the policy cannot be applied to this database (${problems.length} problem${problems.length > 1 ? 's' : ''})`, problems);
  }

  const nodes: PlanNode[] = [
    {
      kind: 'Header',
      pgmaskVersion: input.pgmaskVersion,
      policyHash: policy.hash,
      policyFile: policy.file,
      runtime,
      sourceSchema: policy.sourceSchema,
      maskedSchema: policy.maskedSchema,
    },
    { kind: 'Preamble' },
    { kind: 'EnsureExtension', name: 'pgcrypto', schema: pgcryptoSchema },
    ...(runtime === 'plv8' ? [{ kind: 'EnsureExtension', name: 'plv8', schema: 'pg_catalog' } as const] : []),
    { kind: 'InstallRuntime', runtime, body: trustedSqlText(input.runtimeSql), pgcryptoSchema },
    ...policy.keys.map((name) => ({ kind: 'EnsureKey', name, pgcryptoSchema }) as const),
    { kind: 'EnsureSchema', name: policy.maskedSchema },
    { kind: 'EnsureOwnerAccess', schema: policy.sourceSchema, tables: views.map((v) => v.sourceTable) },
    ...drops,
    ...views,
    ...policy.roles.map((r) => ({ kind: 'EnsureRole', name: r.name }) as const),
    ...policy.roles.map(
      (r) =>
        ({
          kind: 'GrantMaskingRole',
          role: r.name,
          maskedSchema: policy.maskedSchema,
          views: views.map((v) => v.name),
          members: r.members,
          database: snapshot.database,
        }) as const,
    ),
  ];
  return Object.freeze({ nodes: Object.freeze(nodes), runtime, policyHash: policy.hash });
}

const READ_PRIVILEGES = new Set(['SELECT', 'UPDATE', 'INSERT', 'REFERENCES']);

/** One masked view: every source column in table order, wrapped by its rule and cast back. Assumes a validated policy. */
function planView(input: PlanInput, ptable: PolicyTable, table: CatalogTable): CreateMaskedView {
  const { policy, registry } = input;
  const subjectName = ptable.subject ?? policy.subject;
  const subjectColumn = subjectName ? table.columns.find((c) => c.name === subjectName) : undefined;
  const subject = subjectColumn ? sql`${columnRef(subjectColumn.name)}::text` : null;
  const rowKey = rowKeyExpression(table);
  const columns: MaskedColumn[] = table.columns.map((column) => {
    const rule = ptable.columns.find((c) => c.name === column.name)?.rule ?? REDACT_UNLISTED;
    const transform = registry.get(rule.transform)!;
    const expr = transform.render({
      value: columnRef(column.name),
      column,
      table,
      params: rule.params,
      key: keyReference(rule.key || policy.keys[0]!),
      subject,
      rowKey,
    });
    const type = transform.outputType?.(column, rule.params) ?? column.sqlType;
    return { name: column.name, expression: sql`CAST(${expr} AS ${trustedSqlText(type)})`, type, comment: `${VIEW_COMMENT_MARKER} ${rule.display}` };
  });
  return {
    kind: 'CreateMaskedView',
    schema: policy.maskedSchema,
    name: table.name,
    sourceSchema: table.schema,
    sourceTable: table.name,
    columns,
    filter: ptable.filter,
    comment: `${VIEW_COMMENT_MARKER} masked view of ${table.schema}.${table.name} (policy sha256 ${policy.hash.slice(0, 16)})`,
  };
}

