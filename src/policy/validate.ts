import { policyError, type ErrorDetail } from '../errors.ts';
import { isPgmaskRelation, type CatalogSnapshot, type CatalogTable } from '../catalog/catalog-snapshot.ts';
import { ident } from '../sql/index.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import type { Runtime } from '../transforms/transform.ts';
import { didYouMean } from './closest-name.ts';
import { checkRule, ruleShape } from '../transforms/apply-rule.ts';
import { policySourceMap, ProblemList, type PolicySourceMap } from './policy-source-map.ts';
import type { Policy, PolicyColumn, PolicyTable } from './policy.ts';
import type { PolicyPath } from './yaml-tree.ts';

/**
 * Checks a parsed policy against the live catalog and returns every problem as
 * data (errors block, warnings inform), each at the policy node that causes it:
 * a missing source schema, table or column (with the closest existing name), a
 * transform that does not take the column's type or is missing on the chosen
 * runtime, the transform's own checks (e.g. a needed subject column), source
 * columns without a rule when `unlisted_columns: error`, and masking roles or
 * members that are unsafe or missing.
 *
 * @example
 *   assertValid(validatePolicy(policy, snapshot, registry, 'sql'), policy);
 */
export function validatePolicy(policy: Policy, snapshot: CatalogSnapshot, registry: TransformRegistry, runtime: Runtime): ErrorDetail[] {
  const map = policySourceMap(policy);
  const problems = new ProblemList(map);

  for (const schema of policy.schemas) {
    const tables = policy.tables.filter((t) => t.sourceSchema === schema.source);
    if (!snapshot.schemas.includes(schema.source)) {
      problems.add({
        code: 'POLICY_UNKNOWN_SCHEMA',
        message: `source schema \`${schema.source}\` does not exist in database ${snapshot.database}`,
        hint: didYouMean(schema.source, snapshot.schemas.filter((s) => !s.startsWith('pg_') && s !== 'information_schema')) ?? 'set source_schema to the schema of the raw tables',
        path: schema.path,
        part: schema.path.length === 1 ? 'value' : 'key',
      });
      continue;
    }
    const sourceTables = snapshot.tables.filter((t) => t.schema === schema.source);
    for (const ptable of tables) {
      const table = sourceTables.find((t) => t.name === ptable.name);
      if (!table) {
        reportUnknownTable(problems, snapshot, ptable, sourceTables);
        continue;
      }
      checkTable(problems, map, policy, snapshot, registry, runtime, ptable, table);
    }
    checkPseudonymJoins(problems, tables, schema.source, sourceTables);
  }
  checkShiftOffsets(problems, policy);
  checkDefaultSubject(problems, policy, snapshot.tables.filter((t) => policy.tables.some((p) => p.sourceSchema === t.schema && p.name === t.name)));
  checkRoles(problems, policy, snapshot);
  checkBrokers(problems, policy, snapshot);
  return problems.details();
}

/**
 * Throws one POLICY_INVALID error (exit code 3) carrying every detail when any
 * detail is an error; warnings alone pass (and travel with the error when there is one).
 */
export function assertValid(details: readonly ErrorDetail[], policy: Policy): void {
  const errors = details.filter((d) => d.severity === 'error');
  if (errors.length === 0) return;
  const message =
    errors.length === 1 ? `policy ${policy.file} does not fit the database: ${errors[0]!.message}` : `policy ${policy.file} does not fit the database: ${errors.length} problems`;
  throw policyError(message, details);
}

/** A policy that fits a catalog: only checkPolicy makes one, so planMigration can trust it instead of validating again. */
export interface CheckedPolicy {
  readonly policy: Policy;
  readonly snapshot: CatalogSnapshot;
  readonly registry: TransformRegistry;
  readonly runtime: Runtime;
  /** the warnings validatePolicy found (it found no error) */
  readonly warnings: readonly ErrorDetail[];
}

const checkedPolicies = new WeakSet<CheckedPolicy>();

/**
 * validatePolicy + assertValid, once: throws the policy error listing every problem, or
 * returns the proof that this policy fits this catalog, with its warnings.
 *
 * @example
 *   const checked = checkPolicy(policy, snapshot, registry, 'sql');   // throws POLICY_INVALID (exit 3) on an error
 *   planMigration({ policy, snapshot, registry, runtime: 'sql', checked, … });   // does not validate again
 */
export function checkPolicy(policy: Policy, snapshot: CatalogSnapshot, registry: TransformRegistry, runtime: Runtime): CheckedPolicy {
  const details = validatePolicy(policy, snapshot, registry, runtime);
  assertValid(details, policy);
  const checked: CheckedPolicy = Object.freeze({ policy, snapshot, registry, runtime, warnings: details.filter((d) => d.severity === 'warning') });
  checkedPolicies.add(checked);
  return checked;
}

/** Whether `checked` is checkPolicy's proof for exactly these inputs. */
export function isCheckedFor(checked: CheckedPolicy | undefined, policy: Policy, snapshot: CatalogSnapshot, registry: TransformRegistry, runtime: Runtime): boolean {
  return checked !== undefined && checkedPolicies.has(checked) && checked.policy === policy && checked.snapshot === snapshot && checked.registry === registry && checked.runtime === runtime;
}

function reportUnknownTable(problems: ProblemList, snapshot: CatalogSnapshot, ptable: PolicyTable, sourceTables: readonly CatalogTable[]): void {
  const elsewhere = snapshot.tables.find((t) => t.name === ptable.name && t.schema !== ptable.sourceSchema);
  problems.add({
    code: 'POLICY_UNKNOWN_TABLE',
    message: `table \`${ptable.name}\` does not exist in schema \`${ptable.sourceSchema}\``,
    hint:
      didYouMean(
        ptable.name,
        sourceTables.map((t) => t.name),
      ) ?? (elsewhere ? `it exists in schema \`${elsewhere.schema}\`; set source_schema to it` : `remove it from the policy, or create ${ptable.sourceSchema}.${ptable.name}`),
    path: ptable.path,
    position: ptable.position,
  });
}

function checkTable(
  problems: ProblemList,
  map: PolicySourceMap,
  policy: Policy,
  snapshot: CatalogSnapshot,
  registry: TransformRegistry,
  runtime: Runtime,
  ptable: PolicyTable,
  table: CatalogTable,
): void {
  const tablePath = ptable.path;
  const existing = snapshot.tables.find((t) => t.schema === ptable.maskedSchema && t.name === ptable.name);
  if (existing && !isPgmaskRelation(existing)) {
    problems.add({
      code: 'POLICY_MASKED_NAME_TAKEN',
      message: `${ptable.maskedSchema}.${ptable.name} already exists as a ${existing.kind} that pgmask did not create, so its masked view cannot be created`,
      hint: 'rename or drop that object, or choose another masked_schema (pgmask replaces only relations whose comment starts with "pgmask:")',
      path: tablePath,
      position: ptable.position,
    });
  }

  if (ptable.subject !== null && !table.columns.some((c) => c.name === ptable.subject)) {
    problems.add({
      code: 'POLICY_UNKNOWN_COLUMN',
      message: `subject column \`${ptable.subject}\` does not exist in ${table.schema}.${table.name}`,
      hint: didYouMean(ptable.subject, table.columns.map((c) => c.name)) ?? `columns: ${listNames(table.columns.map((c) => c.name))}`,
      path: [...tablePath, 'subject'],
      part: 'value',
      position: ptable.position,
    });
  }
  for (const [listKey, names] of [['quasi_identifiers', ptable.quasiIdentifiers], ['sensitive', ptable.sensitive]] as const) {
    names.forEach((name, i) => {
      if (table.columns.some((c) => c.name === name)) return;
      problems.add({
        code: 'POLICY_UNKNOWN_COLUMN',
        message: `${listKey} column \`${name}\` does not exist in ${table.schema}.${table.name}`,
        hint: didYouMean(name, table.columns.map((c) => c.name)) ?? `columns: ${listNames(table.columns.map((c) => c.name))}`,
        path: [...tablePath, listKey, i],
        part: 'value',
        position: ptable.position,
      });
    });
  }
  const subjectName = ptable.subject ?? policy.subject;
  const subjectColumn = subjectName !== null && table.columns.some((c) => c.name === subjectName) ? subjectName : null;

  for (const pcol of ptable.columns) {
    const column = table.columns.find((c) => c.name === pcol.name);
    const columnPath = [...tablePath, 'columns', pcol.name];
    if (!column) {
      problems.add({
        code: 'POLICY_UNKNOWN_COLUMN',
        message: `column \`${pcol.name}\` does not exist in ${table.schema}.${table.name}`,
        hint: didYouMean(pcol.name, table.columns.map((c) => c.name)) ?? `its columns are: ${listNames(table.columns.map((c) => c.name))}`,
        path: columnPath,
        position: pcol.position,
      });
      continue;
    }
    const at = ruleNode(map, columnPath, pcol);
    const transform = registry.get(pcol.rule.transform);
    if (!transform) {
      problems.add({ code: 'POLICY_UNKNOWN_TRANSFORM', message: `unknown transform \`${pcol.rule.transform}\``, hint: didYouMean(pcol.rule.transform, registry.names()), ...at });
      continue;
    }
    const where = `${table.name}.${column.name}`;
    let usable = true;
    if (ruleShape(transform, column, pcol.rule.params) === null) {
      usable = false;
      const alternatives = registry
        .all()
        .filter((t) => ruleShape(t, column, {}) !== null && t.runtimes.includes(runtime))
        .map((t) => t.name);
      problems.add({
        code: 'POLICY_TRANSFORM_TYPE',
        message: `\`${transform.name}\` cannot mask ${where}: the column is ${column.sqlType} (${column.family}), and \`${transform.name}\` takes ${familyList(transform.types)} columns${column.family === 'array' && !transform.types.includes('array') ? ' (or arrays of them)' : ''}`,
        hint: alternatives.length ? `transforms for ${column.family} columns: ${alternatives.join(', ')}` : 'redact the column',
        ...at,
      });
    }
    if (!transform.runtimes.includes(runtime)) {
      usable = false;
      problems.add({
        code: 'POLICY_TRANSFORM_RUNTIME',
        message: `transform \`${transform.name}\` (${where}) is not available on the ${runtime} runtime; it runs on ${transform.runtimes.join(', ') || 'no runtime'}`,
        hint:
          runtime === 'sql'
            ? 'install PLV8 on the server (runtime plv8 runs every transform, custom ones too), or pick another transform'
            : `pick another transform, or set \`runtime: ${transform.runtimes[0] ?? 'sql'}\``,
        ...at,
      });
    }
    if (!usable) continue;
    for (const problem of checkRule(registry, transform, { column, table, params: pcol.rule.params, subjectColumn, runtime })) {
      problems.add({ code: problem.code, message: `${where}: ${problem.message}`, hint: problem.hint, ...at });
    }
  }

  if (policy.unlistedColumns === 'error') {
    const listed = new Set(ptable.columns.map((c) => c.name));
    const unlisted = table.columns.filter((c) => !listed.has(c.name)).map((c) => c.name);
    if (unlisted.length > 0) {
      problems.add({
        code: 'POLICY_UNCLASSIFIED_COLUMN',
        message:
          unlisted.length === 1
            ? `column \`${unlisted[0]}\` of ${table.schema}.${table.name} has no rule`
            : `${unlisted.length} columns of ${table.schema}.${table.name} have no rule: ${unlisted.map((n) => `\`${n}\``).join(', ')}`,
        hint: 'add a rule for each (`redact`, `keep` or a transform), or set `unlisted_columns: redact`',
        path: map.has([...tablePath, 'columns']) ? [...tablePath, 'columns'] : tablePath,
        position: ptable.position,
      });
    }
  }
}

/** Where a rule's transform is named: `{ name: … }` points at `name`, `col: name` at the value. */
function ruleNode(map: PolicySourceMap, columnPath: PolicyPath, pcol: PolicyColumn): { path: PolicyPath; part: 'key' | 'value'; position: PolicyColumn['position'] } {
  const inner = [...columnPath, pcol.rule.transform];
  if (map.has(inner)) return { path: inner, part: 'key', position: pcol.position };
  return { path: columnPath, part: map.has(columnPath) ? 'value' : 'key', position: pcol.position };
}

/**
 * Every shift_date rule with the same key moves a subject by the same offset only when max_days
 * and keep_weekday agree: a signal's start time then lines up with the admission it belongs
 * to. Rules that differ give one subject several offsets, so intervals between those columns
 * are not kept — said as a warning at the second rule.
 */
function checkShiftOffsets(problems: ProblemList, policy: Policy): void {
  const first = new Map<string, { where: string; max: unknown; weekday: boolean }>();
  for (const t of policy.tables) {
    for (const c of t.columns) {
      if (c.rule.transform !== 'shift_date') continue;
      const max = c.rule.params.max_days;
      const weekday = c.rule.params.keep_weekday === true;
      const seen = first.get(c.rule.key);
      if (!seen) {
        first.set(c.rule.key, { where: `${t.name}.${c.name}`, max, weekday });
        continue;
      }
      if (seen.max === max && seen.weekday === weekday) continue;
      problems.add({
        code: 'POLICY_SHIFT_OFFSETS_DIFFER',
        severity: 'warning',
        message: `${t.name}.${c.name} shifts dates with max_days ${String(max)}${weekday ? ', keep_weekday' : ''} but ${seen.where} with max_days ${String(seen.max)}${seen.weekday ? ', keep_weekday' : ''} (same key): one subject moves by different offsets, so intervals between these columns are not kept`,
        hint: 'give every shift_date rule of a key the same max_days and keep_weekday (a signal start time then moves exactly as its admission), or use another key on purpose',
        path: [...t.path, 'columns', c.name],
        position: c.position,
      });
    }
  }
}

/** A `subject:` that no masked table has is almost always a typo. */
function checkDefaultSubject(problems: ProblemList, policy: Policy, tables: readonly CatalogTable[]): void {
  if (policy.subject === null) return;
  if (tables.length === 0 || tables.some((t) => t.columns.some((c) => c.name === policy.subject))) return;
  problems.add({
    code: 'POLICY_UNUSED_SUBJECT',
    severity: 'warning',
    message: `subject column \`${policy.subject}\` is in none of the policy's tables, so per-subject transforms have no subject`,
    hint: didYouMean(policy.subject, [...new Set(tables.flatMap((t) => t.columns.map((c) => c.name)))]) ?? 'set `subject:` to the column that identifies the patient',
    path: ['subject'],
    part: 'value',
  });
}

/**
 * Integer pseudonyms are a permutation of one type's range, so an int4 key and an
 * int8 foreign key to it get different pseudonyms: the masked join would silently
 * match nothing. Both ends must be pseudonymized, with the same key, in the same type.
 */
function checkPseudonymJoins(problems: ProblemList, policyTables: readonly PolicyTable[], sourceSchema: string, sourceTables: readonly CatalogTable[]): void {
  const ruleOf = (table: string, column: string) => policyTables.find((t) => t.name === table)?.columns.find((c) => c.name === column);
  for (const table of sourceTables) {
    for (const fk of table.foreignKeys) {
      if (fk.refSchema !== sourceSchema || fk.columns.length !== 1) continue;
      const from = ruleOf(table.name, fk.columns[0]!);
      const to = ruleOf(fk.refTable, fk.refColumns[0]!);
      if (!from || !to) continue;
      const fromType = table.columns.find((c) => c.name === fk.columns[0])?.typeName;
      const toType = sourceTables.find((t) => t.name === fk.refTable)?.columns.find((c) => c.name === fk.refColumns[0])?.typeName;
      const pseudonymized = [from.rule.transform, to.rule.transform].filter((t) => t === 'pseudonymize').length;
      let message: string | null = null;
      if (pseudonymized === 1) message = `${table.name}.${fk.columns[0]} references ${fk.refTable}.${fk.refColumns[0]}, but only one of them is pseudonymized: the masked join matches nothing`;
      else if (pseudonymized === 2 && from.rule.key !== to.rule.key) message = `${table.name}.${fk.columns[0]} and ${fk.refTable}.${fk.refColumns[0]} are pseudonymized with different keys (${from.rule.key}, ${to.rule.key}): the masked join matches nothing`;
      else if (pseudonymized === 2 && fromType !== toType) message = `${table.name}.${fk.columns[0]} (${fromType}) references ${fk.refTable}.${fk.refColumns[0]} (${toType}): integer pseudonyms of different widths differ, so the masked join matches nothing`;
      if (!message) continue;
      problems.add({
        code: 'POLICY_BROKEN_JOIN',
        severity: 'warning',
        message,
        hint: 'pseudonymize both columns with the same key (and give them the same integer type), or accept that analysts cannot join them',
        path: [...policyTables.find((t) => t.name === table.name)!.path, 'columns', fk.columns[0]!],
        position: from.position,
      });
    }
  }
}

function checkRoles(problems: ProblemList, policy: Policy, snapshot: CatalogSnapshot): void {
  for (const role of policy.roles) {
    const rolePath = ['roles', role.name];
    const existing = snapshot.roles.find((r) => r.name === role.name);
    if (existing?.superuser || role.name === snapshot.currentUser) {
      problems.add({
        code: 'POLICY_UNSAFE_ROLE',
        message: existing?.superuser ? `masking role \`${role.name}\` is a superuser and reads every source table` : `masking role \`${role.name}\` is the role pgmask connects as`,
        hint: 'name a new role for the masking role (pgmask creates it NOLOGIN)',
        path: rolePath,
        position: role.position,
      });
    } else if (existing?.canLogin) {
      problems.add({
        code: 'POLICY_LOGIN_MASKING_ROLE',
        severity: 'warning',
        message: `masking role \`${role.name}\` already exists and can log in`,
        hint: 'a masking role is meant to be NOLOGIN and granted to login roles via `members:`',
        path: rolePath,
        position: role.position,
      });
    }
    const owned = snapshot.tables.filter((t) => t.owner === role.name && policy.tables.some((p) => p.sourceSchema === t.schema && p.name === t.name));
    if (owned.length > 0) {
      problems.add({
        code: 'POLICY_UNSAFE_ROLE',
        message: `masking role \`${role.name}\` owns source table${owned.length > 1 ? 's' : ''} ${owned.map((t) => `${t.schema}.${t.name}`).join(', ')} and reads the raw data`,
        hint: 'use a new role as the masking role',
        path: rolePath,
        position: role.position,
      });
    }
    role.members.forEach((member, i) => {
      const memberPath = [...rolePath, 'members', i];
      const found = snapshot.roles.find((r) => r.name === member);
      if (!found) {
        problems.add({
          code: 'POLICY_UNKNOWN_ROLE',
          message: `member \`${member}\` of masking role \`${role.name}\` does not exist`,
          hint: memberHint(member, snapshot),
          path: memberPath,
          part: 'value',
          position: role.position,
        });
      } else if (found.superuser) {
        problems.add({
          code: 'POLICY_SUPERUSER_MEMBER',
          severity: 'warning',
          message: `member \`${member}\` is a superuser: it reads the raw tables whatever the masking role allows`,
          hint: 'grant the masking role to an ordinary login role',
          path: memberPath,
          part: 'value',
          position: role.position,
        });
      }
    });
  }
}

/** Broker members must exist; an analyst who is also a broker is allowed but said (the honest-broker model separates them). */
function checkBrokers(problems: ProblemList, policy: Policy, snapshot: CatalogSnapshot): void {
  for (const broker of policy.brokers) {
    broker.members.forEach((member, i) => {
      const path = ['brokers', broker.name, 'members', i];
      if (!snapshot.roles.some((r) => r.name === member)) {
        problems.add({ code: 'POLICY_UNKNOWN_ROLE', message: `member \`${member}\` of broker role \`${broker.name}\` does not exist`, hint: memberHint(member, snapshot), path, part: 'value', position: broker.position });
      }
      const alsoAnalyst = policy.roles.find((r) => r.members.includes(member));
      if (alsoAnalyst) {
        problems.add({
          code: 'POLICY_BROKER_ALSO_ANALYST',
          severity: 'warning',
          message: `\`${member}\` is a member of broker role \`${broker.name}\` and of masking role \`${alsoAnalyst.name}\`: the same login both analyses and re-identifies`,
          hint: 'an honest broker is usually a separate login from the analysts',
          path,
          part: 'value',
          position: broker.position,
        });
      }
    });
  }
}

function memberHint(member: string, snapshot: CatalogSnapshot): string {
  const create = `run \`CREATE ROLE ${ident(member).text} LOGIN PASSWORD '…'\` first`;
  const suggestion = didYouMean(member, snapshot.roles.map((r) => r.name));
  return suggestion ? `${suggestion} If not, ${create}` : create;
}

function familyList(families: readonly string[]): string {
  return families.length <= 1 ? (families[0] ?? 'no') : `${families.slice(0, -1).join(', ')} or ${families[families.length - 1]}`;
}

function listNames(names: readonly string[]): string {
  return names.length > 20 ? `${names.slice(0, 20).join(', ')}, … (${names.length} in all)` : names.join(', ');
}
