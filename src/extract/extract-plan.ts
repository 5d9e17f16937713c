import type { Policy, PolicyTable, Rule } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable, ForeignKey } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { ident, join, literal, sql, sqlExpression, type Sql } from '../sql/index.ts';
import type { SubjectRoute } from '../plan/nodes.ts';
import { planSubjectRoutes, routeKey } from '../plan/subject-routes.ts';
import { PgmaskError, ExitCode } from '../errors.ts';

/**
 * What an extract writes, decided from the policy and the catalog alone (pure).
 * Every table is read through its masked view as the masking role, so an extract
 * can never hold more than that role sees. Keys are re-created only where the
 * masking keeps them keys: a primary key masked one-to-one, a foreign key whose
 * two ends are masked by the same rule (so the masked values still match).
 */
export interface ExtractColumn {
  readonly name: string;
  /** type of the column in the output (the masked view's type; a type of the source database's own schemas becomes text) */
  readonly type: string;
  /** the view column's comment (the rule that masks it) */
  readonly comment: string | null;
}

export interface ExtractForeignKey {
  readonly name: string;
  readonly columns: readonly string[];
  /** the referenced table in the output (its schema there: a foreign key may cross source schemas) */
  readonly refSchema: string;
  readonly refTable: string;
  readonly refColumns: readonly string[];
}

export interface ExtractTable {
  /** the table's schema in a target database or SQL file */
  readonly schema: string;
  readonly name: string;
  /** how messages, progress and CSV files name it: the table name, or `schema.name` when the policy has several source schemas */
  readonly label: string;
  /** the policy table: its source schema (with `name`, unique in the policy) */
  readonly sourceSchema: string;
  /** the masked view the rows are read from (with `name`) */
  readonly maskedSchema: string;
  readonly columns: readonly ExtractColumn[];
  readonly primaryKey: readonly string[] | null;
  readonly foreignKeys: readonly ExtractForeignKey[];
  /** the query that reads this table's rows as the masking role (masked view + subset and integrity predicates) */
  readonly select: Sql;
  /** the masked view's comment, carried to the output table */
  readonly comment: string | null;
}

export interface ExtractSubset {
  /** keep this fraction of subjects (0 < f ≤ 1), chosen by a keyed hash of the masked subject */
  readonly fraction: number | null;
  /** seed of the subject sample: the same seed, policy and data give the same subset */
  readonly seed: string;
  /** start from the rows of one table matching an SQL condition over its masked columns (`table`, `source_schema.table` or `masked_schema.table`) */
  readonly where: { readonly table: string; readonly condition: string } | null;
}

export interface ExtractPlan {
  /** parents before children */
  readonly tables: readonly ExtractTable[];
  /** the output's schemas, policy order; the manifest table goes into the first */
  readonly schemas: readonly string[];
  /** keys not re-created, and why (for the CLI to print) */
  readonly warnings: readonly string[];
}

/** Rules that map distinct values to distinct values: a key stays a key. */
const ONE_TO_ONE = new Set(['keep', 'pseudonymize', 'encrypt']);

function ruleOf(ptable: PolicyTable, column: string): Rule | null {
  return ptable.columns.find((c) => c.name === column)?.rule ?? null;
}

function sameRule(a: Rule | null, b: Rule | null): boolean {
  return a !== null && b !== null && a.transform === b.transform && a.key === b.key && JSON.stringify(a.params) === JSON.stringify(b.params);
}

/** one column, or a row constructor of several (for `(a, b) IN (SELECT …)`) */
function tuple(columns: readonly Sql[]): Sql {
  return columns.length === 1 ? columns[0]! : sql`(${join(columns)})`;
}

interface Edge {
  /** table keys (see tableKey) */
  readonly child: string;
  readonly parent: string;
  readonly fk: ForeignKey;
}

/** How a table's rows reach their subject: its own subject column, or foreign keys to tables that reach it. */
type RouteToSubject = { readonly direct: string } | { readonly via: readonly Edge[] };

interface GraphTable {
  readonly ptable: PolicyTable;
  readonly source: CatalogTable;
  readonly view: CatalogTable;
  /** the table's schema in the output */
  readonly target: string;
  readonly label: string;
}

/** Tables are keyed by source schema and name: two source schemas of one policy may hold the same name. */
function tableKey(schema: string, name: string): string {
  // the consent routes' own key, so their map is read with it
  return routeKey(schema, name);
}

/** The pure model the predicates are built from: policy tables, their masked views and the foreign keys that survive masking. */
class ExtractGraph {
  readonly tables = new Map<string, GraphTable>();
  readonly edges: Edge[] = [];
  readonly warnings: string[] = [];
  /** foreign keys of policy tables that are not re-created, and why */
  readonly dropped: { readonly child: string; readonly fk: ForeignKey; readonly why: string }[] = [];
  private aliasCounter = 0;

  /** the consent routes each view applies, by table key; null when the views may not be this policy's */
  private readonly routes: ReadonlyMap<string, readonly SubjectRoute[]> | null;

  constructor(
    readonly policy: Policy,
    snapshot: CatalogSnapshot,
    targetSchema: string | null,
    viewsFromThisPolicy: boolean,
  ) {
    this.routes = viewsFromThisPolicy ? planSubjectRoutes(policy, snapshot).routes : null;
    const several = policy.schemas.length > 1;
    for (const ptable of policy.tables) {
      const source = findTable(snapshot, ptable.sourceSchema, ptable.name);
      const view = findTable(snapshot, ptable.maskedSchema, ptable.name);
      if (!source || !view) {
        throw new PgmaskError({
          code: 'EXTRACT_NOT_MIGRATED',
          message: `${ptable.maskedSchema}.${ptable.name} does not exist: the policy has not been applied to this database`,
          hint: 'run pgmask migrate with this policy first (pgmask check tells what differs)',
          exitCode: ExitCode.drift,
        });
      }
      // several source schemas: each table lands in a schema named like its masked schema, as the analyst
      // queries it (hosp_masked.results and lab_masked.results), so same-named tables stay apart
      const target = several ? ptable.maskedSchema : (targetSchema ?? ptable.sourceSchema);
      this.tables.set(tableKey(ptable.sourceSchema, ptable.name), { ptable, source, view, target, label: several ? `${target}.${ptable.name}` : ptable.name });
    }
    for (const [key, { source }] of this.tables) {
      for (const fk of source.foreignKeys) {
        const parentKey = tableKey(fk.refSchema, fk.refTable);
        const parent = this.tables.get(parentKey);
        if (!parent) {
          this.dropped.push({ child: key, fk, why: `it references ${fk.refSchema}.${fk.refTable}, which the policy does not mask` });
          continue;
        }
        const why = this.unmatchedReason(this.tables.get(key)!, parent, fk);
        if (why) this.drop(key, fk, why);
        else this.edges.push({ child: key, parent: parentKey, fk });
      }
    }
    this.dropCycles();
  }

  private unmatchedReason(child: GraphTable, parent: GraphTable, fk: ForeignKey): string | null {
    for (let i = 0; i < fk.columns.length; i++) {
      const c = ruleOf(child.ptable, fk.columns[i]!);
      const p = ruleOf(parent.ptable, fk.refColumns[i]!);
      if (!c || !ONE_TO_ONE.has(c.transform)) return `${fk.columns[i]} is masked by ${c?.display ?? 'redact'}, which is not one-to-one`;
      if (!sameRule(c, p)) return `${fk.columns[i]} and ${parent.label}.${fk.refColumns[i]} are masked by different rules, so their masked values do not match`;
      const ct = child.view.columns.find((x) => x.name === fk.columns[i]);
      const pt = parent.view.columns.find((x) => x.name === fk.refColumns[i]);
      if (ct?.typeName !== pt?.typeName) return `${fk.columns[i]} (${ct?.sqlType}) and ${parent.label}.${fk.refColumns[i]} (${pt?.sqlType}) have different types, so their pseudonyms differ`;
    }
    return null;
  }

  /** Foreign keys inside a cycle (self-references included) are not re-created: no load order satisfies them, and the predicates would not end. */
  private dropCycles(): void {
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
      if (from === to) return true;
      if (seen.has(from)) return false;
      seen.add(from);
      return this.edges.some((e) => e.child === from && reaches(e.parent, to, seen));
    };
    for (const e of [...this.edges]) {
      if (reaches(e.parent, e.child)) {
        this.edges.splice(this.edges.indexOf(e), 1);
        this.drop(e.child, e.fk, 'it is part of a reference cycle');
      }
    }
  }

  private drop(child: string, fk: ForeignKey, why: string): void {
    this.dropped.push({ child, fk, why });
    this.warnings.push(`${this.table(child).label}: foreign key ${fk.name} is not re-created (${why})`);
  }

  table(key: string): GraphTable {
    return this.tables.get(key)!;
  }

  alias(): Sql {
    return ident(`x${this.aliasCounter++}`);
  }

  view(key: string): Sql {
    const { ptable } = this.table(key);
    return ident(ptable.maskedSchema, ptable.name);
  }

  parentsOf(key: string): Edge[] {
    return this.edges.filter((e) => e.child === key);
  }

  childrenOf(key: string): Edge[] {
    return this.edges.filter((e) => e.parent === key);
  }

  /** parents before children (a topological order of the surviving foreign keys), then policy order */
  ordered(): string[] {
    const done: string[] = [];
    const visit = (key: string) => {
      if (done.includes(key)) return;
      for (const e of this.parentsOf(key)) visit(e.parent);
      done.push(key);
    };
    for (const key of this.tables.keys()) visit(key);
    return done;
  }

  /** `(child.fk…)`: the referencing columns of a row, as one value or a row constructor */
  refs(edge: Edge, row: Sql): Sql {
    return tuple(edge.fk.columns.map((c) => sql`${row}.${ident(c)}`));
  }

  /** the referenced key columns of the parent, for a SELECT list */
  keys(edge: Edge, row: Sql): Sql {
    return join(edge.fk.refColumns.map((c) => sql`${row}.${ident(c)}`));
  }

  /** Whether the extract holds every row of a table's view (none is left out as an orphan). */
  whole(key: string): boolean {
    return this.parentsOf(key).every((e) => this.guaranteed(e));
  }

  /**
   * Whether every row of the child's view finds its parent row in the extract
   * without a check: the source's foreign key holds (one snapshot; validated, not
   * added NOT VALID over older rows), the parent's
   * extract is its whole view, and the parent's view hides no row the child's
   * view shows — it hides none (no filter, no consent route), or the child's view
   * hides its own row through a consent route over this very foreign key that
   * repeats the parent's filter and routes. That reading of the views holds only
   * when they were made from this policy file (`routes` is null otherwise: every
   * key is checked). A materialized view is refreshed at its own time, so a key
   * with a materialized end is always checked.
   */
  private guaranteed(e: Edge): boolean {
    // a NOT VALID key may have orphans from before it was added: the source does not vouch for it
    if (this.routes === null || e.fk.validated === false) return false;
    const child = this.table(e.child);
    const parent = this.table(e.parent);
    if (child.ptable.materialize || parent.ptable.materialize || !this.whole(e.parent)) return false;
    const parentRoutes = this.routes.get(e.parent) ?? [];
    const filter = parent.ptable.filter;
    if (filter === null && parentRoutes.length === 0) return true;
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const route = (this.routes.get(e.child) ?? []).find(
      (r) => r.refSchema === e.fk.refSchema && r.refTable === e.fk.refTable && same(r.columns, e.fk.columns) && same(r.refColumns, e.fk.refColumns),
    );
    if (!route) return false;
    const filterCascades = filter === null || (parent.ptable.filterAppliesTo === 'subject' && route.filter === filter);
    return filterCascades && JSON.stringify(route.routes) === JSON.stringify(parentRoutes);
  }

  /**
   * Rows whose re-created foreign keys all point at rows the extract holds; null =
   * every row. Written as `fk IN (uncorrelated subquery)` so PostgreSQL hashes the
   * parent keys once (a correlated EXISTS under OR would rescan the parent view per row).
   */
  valid(key: string, row: Sql): Sql | null {
    const parts: Sql[] = [];
    for (const e of this.parentsOf(key)) {
      if (this.guaranteed(e)) continue;
      const p = this.alias();
      const inner = this.valid(e.parent, p);
      const nullable = join(e.fk.columns.map((c) => sql`${row}.${ident(c)} IS NULL`), ' OR ');
      parts.push(sql`(${nullable} OR ${this.refs(e, row)} IN (SELECT ${this.keys(e, p)} FROM ${this.view(e.parent)} AS ${p}${inner ? sql` WHERE ${inner}` : sql``}))`);
    }
    return parts.length === 0 ? null : join(parts, ' AND ');
  }

  /**
   * The route from a table to its subject: the subject column itself; else the
   * foreign keys the policy's `subject_via` names (every one of them: a row belongs
   * to either subject, as the consent cascade reads it; `none`: no subject); else
   * the shortest foreign-key route, ties broken by constraint name.
   */
  subjectRoute(key: string, seen: ReadonlySet<string> = new Set()): RouteToSubject | null {
    const subject = this.subjectColumn(key);
    if (subject) return { direct: subject };
    const decision = this.table(key).ptable.subjectVia;
    if (decision === 'none') return null;
    const candidates = this.parentsOf(key)
      .filter((e) => !seen.has(e.parent) && (decision === null || e.fk.columns.some((c) => decision.includes(c))))
      .map((e) => ({ e, depth: this.routeDepth(e.parent, new Set([...seen, key])) }))
      .filter((c) => c.depth !== null)
      .sort((a, b) => a.depth! - b.depth! || a.e.fk.name.localeCompare(b.e.fk.name));
    if (candidates.length === 0) return null;
    return { via: decision === null ? [candidates[0]!.e] : candidates.map((c) => c.e) };
  }

  private routeDepth(key: string, seen: ReadonlySet<string>): number | null {
    const r = this.subjectRoute(key, seen);
    if (!r) return null;
    if ('direct' in r) return 0;
    const depths = r.via.map((e) => this.routeDepth(e.parent, new Set([...seen, key]))).filter((d): d is number => d !== null);
    return depths.length === 0 ? null : Math.min(...depths) + 1;
  }

  /** the subject column of a table when it is in the table and masked one-to-one, so masked values identify the subject */
  subjectColumn(key: string): string | null {
    const { ptable, view } = this.table(key);
    const subject = ptable.subject ?? this.policy.subject;
    if (!subject || !view.columns.some((c) => c.name === subject)) return null;
    const rule = ruleOf(ptable, subject);
    return rule && ONE_TO_ONE.has(rule.transform) ? subject : null;
  }

  /**
   * The masked subjects of the rows of a table that satisfy `condition` (over
   * alias `row`), as an uncorrelated SELECT: up the subject route, one IN per hop.
   */
  subjectsOf(key: string, row: Sql, condition: Sql): Sql | null {
    const route = this.subjectRoute(key);
    if (!route) return null;
    if ('direct' in route) return sql`SELECT ${row}.${ident(route.direct)}::text FROM ${this.view(key)} AS ${row} WHERE ${condition}`;
    const branches = route.via.map((e) => {
      const p = this.alias();
      const parentKey = tuple(e.fk.refColumns.map((c) => sql`${p}.${ident(c)}`));
      return this.subjectsOf(e.parent, p, sql`${parentKey} IN (SELECT ${join(e.fk.columns.map((c) => sql`${row}.${ident(c)}`))} FROM ${this.view(key)} AS ${row} WHERE ${condition})`)!;
    });
    return join(branches, ' UNION ALL ');
  }
}

/**
 * A keyed, reproducible sample of subjects: the first 32 bits of md5(seed, masked
 * subject) below fraction·2³². The masked subject is itself a keyed pseudonym, so
 * the sample says nothing about raw identifiers; the seed makes it repeatable.
 */
function sampled(subject: Sql, subset: ExtractSubset): Sql {
  const threshold = Math.floor(subset.fraction! * 2 ** 32);
  return sql`(('x' || substr(md5(${literal(`${subset.seed}\u001f`)} || ${subject}), 1, 8))::bit(32)::bigint < ${literal(threshold)})`;
}

/**
 * The rows of a table the subset starts from: rows of the chosen subjects (by
 * the subject column, or up the table's foreign-key route to it). A table with no
 * route to a subject is not a subject's data (a vocabulary): it is kept whole,
 * unless --where starts from it. Every condition is an uncorrelated IN, hashed once.
 * `whereKey` is the table --where names.
 */
function seedCondition(graph: ExtractGraph, key: string, row: Sql, subset: ExtractSubset, whereKey: string | null): Sql {
  const route = graph.subjectRoute(key);
  const where = subset.where;
  const condition = where ? sql`(${sqlExpression(where.condition)})` : null;
  if (!route) {
    if (whereKey === key) return condition!;
    return whereKey !== null && !graph.subjectRoute(whereKey) ? sql`false` : sql`true`;
  }
  if ('via' in route) {
    const parts = route.via.map((e) => {
      const p = graph.alias();
      return sql`${graph.refs(e, row)} IN (SELECT ${graph.keys(e, p)} FROM ${graph.view(e.parent)} AS ${p} WHERE ${seedCondition(graph, e.parent, p, subset, whereKey)})`;
    });
    return parts.length === 1 ? parts[0]! : sql`(${join(parts, ' OR ')})`;
  }
  const subject = sql`${row}.${ident(route.direct)}::text`;
  const parts: Sql[] = [];
  if (subset.fraction !== null && subset.fraction < 1) parts.push(sampled(subject, subset));
  if (whereKey !== null) {
    const w = graph.alias();
    const chosen = graph.subjectsOf(whereKey, w, condition!);
    parts.push(chosen === null ? (whereKey === key ? condition! : sql`false`) : sql`${subject} IN (${chosen})`);
  }
  return parts.length === 0 ? sql`true` : join(parts, ' AND ');
}

/**
 * Rows of a table the subset holds: its own seed, or a row a kept child row
 * points at (so no kept row is ever an orphan).
 */
function needed(graph: ExtractGraph, key: string, row: Sql, subset: ExtractSubset, whereKey: string | null, depth = 0): Sql {
  if (depth > 16) throw new Error(`extract subset: reference chain deeper than 16 at ${graph.table(key).label}`);
  const alternatives: Sql[] = [seedCondition(graph, key, row, subset, whereKey)];
  for (const e of graph.childrenOf(key)) {
    const c = graph.alias();
    const childValid = graph.valid(e.child, c);
    const kept = needed(graph, e.child, c, subset, whereKey, depth + 1);
    const keptChild = childValid ? sql`${kept} AND ${childValid}` : kept;
    alternatives.push(sql`${tuple(e.fk.refColumns.map((k) => sql`${row}.${ident(k)}`))} IN (SELECT ${join(e.fk.columns.map((k) => sql`${c}.${ident(k)}`))} FROM ${graph.view(e.child)} AS ${c} WHERE ${keptChild})`);
  }
  return alternatives.length === 1 ? alternatives[0]! : sql`(${join(alternatives, ' OR ')})`;
}

/** Column types of the source database's own schemas (enums, domains) do not exist in an empty target: they travel as text. */
function portableType(column: CatalogTable['columns'][number]): string {
  return column.typeSchema === 'pg_catalog' ? column.sqlType : 'text';
}

/** The table --where names: its name, or `schema.name` with its source or masked schema (needed when two schemas hold the name). */
function whereTable(graph: ExtractGraph, text: string): string {
  const matches = [...graph.tables].filter(([, t]) => t.ptable.name === text || [t.ptable.sourceSchema, t.ptable.maskedSchema, t.target].some((s) => `${s}.${t.ptable.name}` === text));
  if (matches.length === 1) return matches[0]![0];
  const names = [...graph.tables.values()].map((t) => t.label);
  throw new PgmaskError({
    code: 'EXTRACT_WHERE_TABLE',
    message: matches.length === 0 ? `--where names table ${text}, which the policy does not list` : `--where names table ${text}, which ${matches.length} schemas of the policy hold`,
    hint: matches.length === 0 ? `use one of: ${names.join(', ')}` : `qualify it with its schema: ${matches.map(([, t]) => `${t.ptable.sourceSchema}.${t.ptable.name}`).join(', ')}`,
    exitCode: ExitCode.usage,
  });
}

export interface ExtractOptions {
  /** --schema: the output schema of a one-schema policy (default: its source schema); refused with several source schemas, whose tables go to schemas named like their masked schemas */
  readonly targetSchema?: string | null;
  /**
   * whether the masked views were made from this very policy (its hash is the one
   * last applied to every masked schema): then a foreign key whose parent rows the
   * child's own consent routes already guarantee is not checked again
   */
  readonly viewsFromThisPolicy?: boolean;
}

export function planExtract(policy: Policy, snapshot: CatalogSnapshot, subset: ExtractSubset | null, options: ExtractOptions = {}): ExtractPlan {
  const targetSchema = options.targetSchema ?? null;
  if (targetSchema !== null && policy.schemas.length > 1) {
    throw new PgmaskError({
      code: 'EXTRACT_SCHEMA_SEVERAL',
      message: `--schema ${targetSchema} cannot hold the tables of ${policy.schemas.length} source schemas (${policy.schemas.map((s) => s.source).join(', ')}), which may share table names`,
      hint: `leave --schema out: each table is written to a schema named like its masked schema (${policy.schemas.map((s) => s.masked).join(', ')})`,
      exitCode: ExitCode.usage,
    });
  }
  const graph = new ExtractGraph(policy, snapshot, targetSchema, options.viewsFromThisPolicy ?? false);
  if (!options.viewsFromThisPolicy) graph.warnings.push('the policy file is not the one last applied to the masked schemas (pgmask check tells what differs): every foreign key is checked row by row');
  const whereKey = subset?.where ? whereTable(graph, subset.where.table) : null;
  if (subset) {
    for (const [key, t] of graph.tables) {
      const via = t.ptable.subjectVia;
      if (Array.isArray(via) && graph.subjectRoute(key) === null) {
        const why = graph.dropped.filter((d) => d.child === key && d.fk.columns.some((c) => via.includes(c))).map((d) => `foreign key ${d.fk.name} is not re-created: ${d.why}`);
        throw new PgmaskError({
          code: 'EXTRACT_SUBJECT_VIA',
          message: `${t.label} reaches its subject through subject_via (${via.join(', ')}), which the extract cannot follow${why.length ? ` (${why.join('; ')})` : ''}, so a subset would take the whole table`,
          hint: 'mask both ends of that foreign key by the same one-to-one rule, or extract without --subjects and --where',
          exitCode: ExitCode.usage,
        });
      }
    }
  }
  const tables = graph.ordered().map((key): ExtractTable => {
    const { ptable, source, view, target, label } = graph.table(key);
    const row = ident('t');
    const conditions: Sql[] = [];
    const valid = graph.valid(key, row);
    if (valid) conditions.push(valid);
    if (subset) conditions.push(needed(graph, key, row, subset, whereKey));
    const columns = view.columns.map((c) => ({ name: c.name, type: portableType(c), comment: c.comment }));
    const pk = source.primaryKey && source.primaryKey.every((c) => ONE_TO_ONE.has(ruleOf(ptable, c)?.transform ?? 'redact')) ? source.primaryKey : null;
    if (source.primaryKey && !pk) graph.warnings.push(`${label}: the primary key is not re-created (a key column is not masked one-to-one)`);
    const select = sql`SELECT ${join(view.columns.map((c) => sql`${row}.${ident(c.name)}`))} FROM ${graph.view(key)} AS ${row}${conditions.length ? sql` WHERE ${join(conditions, ' AND ')}` : sql``}`;
    return {
      schema: target,
      name: ptable.name,
      label,
      sourceSchema: ptable.sourceSchema,
      maskedSchema: ptable.maskedSchema,
      columns,
      primaryKey: pk,
      foreignKeys: graph.parentsOf(key).map((e) => ({ name: e.fk.name, columns: e.fk.columns, refSchema: graph.table(e.parent).target, refTable: e.fk.refTable, refColumns: e.fk.refColumns })),
      select,
      comment: view.comment,
    };
  });
  const schemas = [...new Set([...graph.tables.values()].map((t) => t.target))];
  return { tables, schemas, warnings: graph.warnings };
}
