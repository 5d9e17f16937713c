import type { CatalogSnapshot, CatalogTable } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import type { Policy, PolicyTable } from '../policy/policy.ts';
import { didYouMean } from '../policy/closest-name.ts';
import type { PolicyPath } from '../policy/yaml-tree.ts';
import type { SubjectRoute } from './nodes.ts';

/**
 * Consent filters cascade. A row filter that removes a subject (`filter_applies_to:
 * subject`, the default) must remove every masked row that reaches a hidden row
 * through foreign keys — observations → encounters → patients — or an anti-join
 * of a child view against the subject's view tells the analyst who opted out.
 *
 * A route is a foreign key whose referenced row can be hidden: the referenced
 * table has a subject-level filter, or a route onward from it (followed through
 * every source table the catalog knows, masked or not; a foreign key back to a
 * table already on the path is not followed). Every route of a table applies,
 * which is the conservative reading (a row reaching two subjects is hidden when
 * either is), except where it is a guess: two foreign keys of one table into the
 * same table (`patient_id` and `donor_patient_id`) may mean two roles of the
 * person, so the plan refuses until the policy decides with `subject_via`.
 *
 * Tables are keyed by (schema, name) throughout, so routes cross schemas.
 */

export interface RouteProblem {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  readonly path: PolicyPath;
  readonly part: 'key' | 'value';
}

export interface SubjectRoutePlan {
  /** the routes each policy table's view applies, by `routeKey(source schema, table name)` (two source schemas may hold the same name) */
  readonly routes: ReadonlyMap<string, readonly SubjectRoute[]>;
  /** source tables the routes read (besides the policy's own), which pgmask_owner must be able to SELECT */
  readonly readTables: readonly { readonly schema: string; readonly name: string }[];
  readonly problems: readonly RouteProblem[];
}

/** The most foreign keys followed from one masked table (a longer chain is cut, and the plan says so). */
const MAX_DEPTH = 8;

/** The schema a policy table's source lives in. */
export function sourceSchemaOf(_policy: Policy, table: PolicyTable): string {
  // a table's own source schema: a policy with `schemas:` has several
  return table.sourceSchema;
}

function policyTableAt(policy: Policy, schema: string, name: string): PolicyTable | undefined {
  return policy.tables.find((t) => t.name === name && sourceSchemaOf(policy, t) === schema);
}

/** A qualified `src.` reference would bind to another table once the filter is nested in a child's view. */
const QUALIFIED_SRC = /(^|[^A-Za-z0-9_$".])src\s*\./i;

export function planSubjectRoutes(policy: Policy, snapshot: CatalogSnapshot): SubjectRoutePlan {
  const problems: RouteProblem[] = [];
  const read = new Map<string, { schema: string; name: string }>();

  const cascadingFilter = (schema: string, name: string): string | null => {
    const t = policyTableAt(policy, schema, name);
    return t && t.filter !== null && t.filterAppliesTo === 'subject' ? t.filter : null;
  };

  /** The routes out of `table`, following each foreign key to a table not yet on `path`. */
  const routesFrom = (table: CatalogTable, path: readonly string[]): SubjectRoute[] => {
    if (path.length > MAX_DEPTH) return [];
    const out: SubjectRoute[] = [];
    for (const fk of table.foreignKeys) {
      const target = findTable(snapshot, fk.refSchema, fk.refTable);
      if (!target || path.includes(key(target.schema, target.name))) continue;
      const decided = onwardDecision(target);
      const onward = decided === 'none' ? [] : select(routesFrom(target, [...path, key(target.schema, target.name)]), decided);
      const filter = cascadingFilter(target.schema, target.name);
      if (filter === null && onward.length === 0) continue;
      read.set(key(target.schema, target.name), { schema: target.schema, name: target.name });
      out.push({ columns: fk.columns, refSchema: fk.refSchema, refTable: fk.refTable, refColumns: fk.refColumns, filter, routes: onward });
    }
    return out;
  };

  /** An intermediate table's own decision (when the policy masks it), else every route. */
  const onwardDecision = (table: CatalogTable): readonly string[] | 'none' | null => policyTableAt(policy, table.schema, table.name)?.subjectVia ?? null;

  const routes = new Map<string, readonly SubjectRoute[]>();
  for (const ptable of policy.tables) {
    const schema = sourceSchemaOf(policy, ptable);
    const table = findTable(snapshot, schema, ptable.name);
    if (!table) continue;
    const tablePath = ptable.path;
    if (ptable.filter !== null && ptable.filterAppliesTo === 'subject' && QUALIFIED_SRC.test(ptable.filter)) {
      problems.push({
        code: 'POLICY_FILTER_QUALIFIED',
        message: `the filter of \`${ptable.name}\` qualifies a column with \`src.\`: it also hides the rows of other tables that reach ${ptable.name}, where \`src\` names another table`,
        hint: 'write column names unqualified (e.g. "NOT research_opt_out"), or set `filter_applies_to: rows` if it must not cascade',
        path: [...tablePath, 'filter'],
        part: 'value',
      });
      continue;
    }
    const all = routesFrom(table, [key(schema, table.name)]);
    const decision = ptable.subjectVia;
    if (decision === 'none') {
      routes.set(key(schema, ptable.name), []);
      continue;
    }
    if (decision !== null) {
      problems.push(...unknownVia(ptable, table, all, decision));
      routes.set(key(schema, ptable.name), select(all, decision));
      continue;
    }
    const ambiguous = ambiguousTargets(all);
    if (ambiguous.length > 0) {
      for (const group of ambiguous) {
        const cols = group.map((r) => r.columns.join(', '));
        problems.push({
          code: 'POLICY_SUBJECT_ROUTE_AMBIGUOUS',
          message: `${schema}.${table.name} reaches ${group[0]!.refSchema}.${group[0]!.refTable}, whose row filter hides a subject, through ${cols.length} foreign keys (${cols.map((c) => `\`${c}\``).join(', ')}): which one's subject decides whether a row is hidden?`,
          hint: `decide in the policy: \`subject_via: ${group[0]!.columns[0]}\` (one route), \`subject_via: [${group.map((r) => r.columns[0]).join(', ')}]\` (hidden when either subject is), or \`subject_via: none  # reviewed: …\``,
          path: tablePath,
          part: 'key',
        });
      }
    }
    routes.set(key(schema, ptable.name), all);
  }
  const own = new Set(policy.tables.map((t) => key(sourceSchemaOf(policy, t), t.name)));
  const readTables = [...read.entries()].filter(([k]) => !own.has(k)).map(([, v]) => v);
  return { routes, readTables, problems };
}

/** The key of a table in SubjectRoutePlan.routes (and in the planner's own bookkeeping). */
export function routeKey(schema: string, name: string): string {
  return key(schema, name);
}

function key(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

/** The routes a `subject_via` list keeps: foreign keys with a listed column. */
function select(routes: readonly SubjectRoute[], decision: readonly string[] | null): SubjectRoute[] {
  if (decision === null) return [...routes];
  return routes.filter((r) => r.columns.some((c) => decision.includes(c)));
}

/** Foreign keys of one table into the same referenced table (two roles of one kind of subject). */
function ambiguousTargets(routes: readonly SubjectRoute[]): SubjectRoute[][] {
  const groups = new Map<string, SubjectRoute[]>();
  for (const r of routes) {
    const k = key(r.refSchema, r.refTable);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

function unknownVia(ptable: PolicyTable, table: CatalogTable, routes: readonly SubjectRoute[], decision: readonly string[]): RouteProblem[] {
  const problems: RouteProblem[] = [];
  const routeColumns = routes.flatMap((r) => r.columns);
  decision.forEach((column, i) => {
    const path = decision.length > 1 ? [...ptable.path, 'subject_via', i] : [...ptable.path, 'subject_via'];
    if (!table.columns.some((c) => c.name === column)) {
      problems.push({
        code: 'POLICY_UNKNOWN_COLUMN',
        message: `subject_via column \`${column}\` does not exist in ${table.schema}.${table.name}`,
        hint: didYouMean(column, table.columns.map((c) => c.name)) ?? (routeColumns.length ? `foreign key columns that lead to a filtered subject: ${routeColumns.join(', ')}` : 'this table reaches no filtered subject: remove `subject_via`'),
        path,
        part: 'value',
      });
    } else if (!routeColumns.includes(column)) {
      problems.push({
        code: 'POLICY_NOT_A_SUBJECT_ROUTE',
        message: `subject_via column \`${column}\` of ${table.name} is not a foreign key that leads to a table whose row filter hides a subject`,
        hint: routeColumns.length ? `columns that do: ${routeColumns.join(', ')}` : 'this table reaches no filtered subject: remove `subject_via`, or write `subject_via: none`',
        path,
        part: 'value',
      });
    }
  });
  return problems;
}
