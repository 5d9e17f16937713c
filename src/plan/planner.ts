import type { Policy, PolicyTable, Rule } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable, CatalogColumn } from '../db/catalog-snapshot.ts';
import { findTable } from '../db/catalog-snapshot.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import type { Runtime } from '../transforms/transform.ts';
import type { ErrorDetail } from '../errors.ts';
import { policyError, PgmaskError, ExitCode } from '../errors.ts';
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
 * Throws a policy error (exit 3) listing every problem found.
 */
export function planMigration(input: PlanInput): MigrationPlan {
  const { policy, snapshot, registry, runtime } = input;
  const problems: ErrorDetail[] = [];
  const problem = (code: string, message: string, hint?: string, path?: string) =>
    problems.push({ code, severity: 'error', message, ...(hint ? { hint } : {}), ...(path ? { path } : {}) });

  const pgcrypto = snapshot.installedExtensions['pgcrypto'];
  if (!pgcrypto && !snapshot.availableExtensions.includes('pgcrypto')) {
    problem('PGCRYPTO_UNAVAILABLE', 'the server does not offer the pgcrypto extension, which keys and the sql runtime need', 'install the PostgreSQL contrib package on the server');
  }
  const pgcryptoSchema = pgcrypto?.schema ?? 'pgmask';

  for (const role of policy.roles) {
    const existing = snapshot.roles.find((r) => r.name === role.name);
    if (existing?.canLogin) {
      problem('MASKING_ROLE_CAN_LOGIN', `masking role ${role.name} exists and can log in`, `masking roles are NOLOGIN groups; pick another name or ALTER ROLE ${role.name} NOLOGIN`, `roles.${role.name}`);
    }
    if (existing?.superuser) {
      problem('MASKING_ROLE_SUPERUSER', `masking role ${role.name} is a superuser and would bypass every privilege`, 'use a new, unprivileged role name', `roles.${role.name}`);
    }
  }

  const views: CreateMaskedView[] = [];
  const drops: PlanNode[] = [];
  for (const ptable of policy.tables) {
    const table = findTable(snapshot, policy.sourceSchema, ptable.name);
    if (!table) {
      problem('UNKNOWN_TABLE', `table ${policy.sourceSchema}.${ptable.name} does not exist`, undefined, `tables.${ptable.name}`);
      continue;
    }
    for (const p of [...table.privileges]) {
      const sensitive = p.privilege === 'SELECT' || p.privilege === 'UPDATE' || p.privilege === 'INSERT' || p.privilege === 'REFERENCES';
      if (!sensitive) continue;
      if (p.grantee === 'PUBLIC' || policy.roles.some((r) => r.name === p.grantee)) {
        problem(
          'SOURCE_GRANTED',
          `${p.grantee} has ${p.privilege} on ${policy.sourceSchema}.${table.name}${p.column ? ` (column ${p.column})` : ''}: a masking role would reach raw data`,
          `REVOKE ${p.privilege} ON ${policy.sourceSchema}.${table.name} FROM ${p.grantee}; pgmask does not change source grants by itself`,
          `tables.${ptable.name}`,
        );
      }
    }
    const view = planView(input, ptable, table, problem);
    if (!view) continue;
    const existing = findTable(snapshot, policy.maskedSchema, ptable.name);
    if (existing) {
      if (existing.kind !== 'view') {
        problem('MASKED_NAME_TAKEN', `${policy.maskedSchema}.${ptable.name} exists and is a ${existing.kind}, not a pgmask view`, `drop or rename it, or choose another masked_schema`, `tables.${ptable.name}`);
        continue;
      }
      const replaceable = existing.columns.every((c, i) => view.columns[i]?.name === c.name && view.columns[i]?.type === c.sqlType);
      if (!replaceable) drops.push({ kind: 'DropView', schema: policy.maskedSchema, name: ptable.name, reason: 'its columns or their types changed' });
    }
    views.push(view);
  }
  // views pgmask made earlier for tables the policy no longer lists
  for (const t of snapshot.tables) {
    if (t.schema !== policy.maskedSchema || t.kind !== 'view') continue;
    if (!t.comment?.startsWith(VIEW_COMMENT_MARKER)) continue;
    if (!policy.tables.some((pt) => pt.name === t.name)) drops.push({ kind: 'DropView', schema: t.schema, name: t.name, reason: 'the policy no longer lists this table' });
  }

  if (problems.length > 0) {
    throw policyError(`the policy cannot be applied to this database (${problems.length} problem${problems.length > 1 ? 's' : ''})`, problems);
  }

  const usedTables = views.map((v) => v.sourceTable);
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
    { kind: 'EnsureOwnerAccess', schema: policy.sourceSchema, tables: usedTables },
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

function planView(
  input: PlanInput,
  ptable: PolicyTable,
  table: CatalogTable,
  problem: (code: string, message: string, hint?: string, path?: string) => void,
): CreateMaskedView | null {
  const { policy, registry, runtime } = input;
  const subjectName = ptable.subject ?? policy.subject;
  const subjectColumn = subjectName ? table.columns.find((c) => c.name === subjectName) : undefined;
  const subject = subjectColumn ? sql`${columnRef(subjectColumn.name)}::text` : null;
  const rowKey = rowKeyExpression(table);
  const columns: MaskedColumn[] = [];
  let ok = true;
  for (const column of table.columns) {
    const pcol = ptable.columns.find((c) => c.name === column.name);
    let rule: Rule;
    if (pcol) rule = pcol.rule;
    else if (policy.unlistedColumns === 'redact') rule = REDACT_UNLISTED;
    else {
      problem('UNCLASSIFIED_COLUMN', `column ${table.name}.${column.name} has no rule`, 'add a rule for it (redact or keep if unsure), or set unlisted_columns: redact', `tables.${ptable.name}.columns`);
      ok = false;
      continue;
    }
    const transform = registry.get(rule.transform);
    if (!transform) {
      problem('UNKNOWN_TRANSFORM', `unknown transform ${rule.transform} for ${table.name}.${column.name}`, undefined, `tables.${ptable.name}.columns.${column.name}`);
      ok = false;
      continue;
    }
    const path = `tables.${ptable.name}.columns.${column.name}`;
    if (!transform.runtimes.includes(runtime)) {
      problem('TRANSFORM_RUNTIME', `transform ${transform.name} (column ${table.name}.${column.name}) is not available on the ${runtime} runtime`, runtime === 'sql' ? 'custom transforms need PLV8 on the server; use a built-in transform' : 'use another transform', path);
      ok = false;
      continue;
    }
    if (!transform.types.includes(column.family)) {
      problem('TRANSFORM_TYPE', `transform ${transform.name} does not accept ${column.sqlType} (column ${table.name}.${column.name}); it takes ${transform.types.join(', ')}`, 'choose a transform for this type, or redact the column', path);
      ok = false;
      continue;
    }
    const checks = transform.check?.({ column, table, params: rule.params, subjectColumn: subjectColumn?.name ?? null, runtime }) ?? [];
    for (const c of checks) problem(c.code, `${table.name}.${column.name}: ${c.message}`, c.hint, path);
    if (checks.length > 0) {
      ok = false;
      continue;
    }
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
    columns.push({
      name: column.name,
      expression: sql`CAST(${expr} AS ${trustedSqlText(type)})`,
      type,
      comment: `${VIEW_COMMENT_MARKER} ${rule.display}`,
    });
  }
  if (!ok) return null;
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

export type { CatalogColumn };
