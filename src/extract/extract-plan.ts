import type { Policy, PolicyTable, Rule } from '../policy/policy.ts';
import type { CatalogSnapshot, CatalogTable, ForeignKey } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import { ident, join, literal, sql, sqlExpression, type Sql } from '../sql/index.ts';
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
  readonly refTable: string;
  readonly refColumns: readonly string[];
}

export interface ExtractTable {
  readonly name: string;
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
  /** start from the rows of one table matching an SQL condition over its masked columns */
  readonly where: { readonly table: string; readonly condition: string } | null;
}

export interface ExtractPlan {
  /** parents before children */
  readonly tables: readonly ExtractTable[];
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
  readonly child: string;
  readonly parent: string;
  readonly fk: ForeignKey;
}

/** The pure model the predicates are built from: policy tables, their masked views and the foreign keys that survive masking. */
class ExtractGraph {
  readonly tables = new Map<string, { ptable: PolicyTable; source: CatalogTable; view: CatalogTable }>();
  readonly edges: Edge[] = [];
  readonly warnings: string[] = [];
  private aliasCounter = 0;

  constructor(
    readonly policy: Policy,
    snapshot: CatalogSnapshot,
  ) {
    for (const ptable of policy.tables) {
      const source = findTable(snapshot, policy.sourceSchema, ptable.name);
      const view = findTable(snapshot, policy.maskedSchema, ptable.name);
      if (!source || !view) {
        throw new PgmaskError({
          code: 'EXTRACT_NOT_MIGRATED',
          message: `${policy.maskedSchema}.${ptable.name} does not exist: the policy has not been applied to this database`,
          hint: 'run pgmask migrate with this policy first (pgmask check tells what differs)',
          exitCode: ExitCode.drift,
        });
      }
      this.tables.set(ptable.name, { ptable, source, view });
    }
    for (const [name, { ptable, source }] of this.tables) {
      for (const fk of source.foreignKeys) {
        const parent = fk.refSchema === policy.sourceSchema ? this.tables.get(fk.refTable) : undefined;
        if (!parent) continue;
        const why = this.unmatchedReason(ptable, parent.ptable, fk);
        if (why) this.warnings.push(`${name}: foreign key ${fk.name} is not re-created (${why})`);
        else this.edges.push({ child: name, parent: fk.refTable, fk });
      }
    }
    this.dropCycles();
  }

  private unmatchedReason(child: PolicyTable, parent: PolicyTable, fk: ForeignKey): string | null {
    for (let i = 0; i < fk.columns.length; i++) {
      const c = ruleOf(child, fk.columns[i]!);
      const p = ruleOf(parent, fk.refColumns[i]!);
      if (!c || !ONE_TO_ONE.has(c.transform)) return `${fk.columns[i]} is masked by ${c?.display ?? 'redact'}, which is not one-to-one`;
      if (!sameRule(c, p)) return `${fk.columns[i]} and ${parent.name}.${fk.refColumns[i]} are masked by different rules, so their masked values do not match`;
      const ct = this.tables.get(child.name)!.view.columns.find((x) => x.name === fk.columns[i]);
      const pt = this.tables.get(parent.name)!.view.columns.find((x) => x.name === fk.refColumns[i]);
      if (ct?.typeName !== pt?.typeName) return `${fk.columns[i]} (${ct?.sqlType}) and ${parent.name}.${fk.refColumns[i]} (${pt?.sqlType}) have different types, so their pseudonyms differ`;
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
        this.warnings.push(`${e.child}: foreign key ${e.fk.name} is not re-created (it is part of a reference cycle)`);
      }
    }
  }

  alias(): Sql {
    return ident(`x${this.aliasCounter++}`);
  }

  view(name: string): Sql {
    return ident(this.policy.maskedSchema, name);
  }

  parentsOf(name: string): Edge[] {
    return this.edges.filter((e) => e.child === name);
  }

  childrenOf(name: string): Edge[] {
    return this.edges.filter((e) => e.parent === name);
  }

  /** parents before children (a topological order of the surviving foreign keys), then policy order */
  ordered(): string[] {
    const done: string[] = [];
    const visit = (name: string) => {
      if (done.includes(name)) return;
      for (const e of this.parentsOf(name)) visit(e.parent);
      done.push(name);
    };
    for (const name of this.tables.keys()) visit(name);
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

  /**
   * Whether every row of a view has its parents in the extract without checking:
   * no row filter on the table or any ancestor (the source's own foreign keys then
   * guarantee the parent rows, and the views show them all).
   */
  complete(name: string): boolean {
    const t = this.tables.get(name)!;
    return t.ptable.filter === null && this.parentsOf(name).every((e) => this.complete(e.parent));
  }

  /**
   * Rows whose re-created foreign keys all point at rows the extract holds; null =
   * every row. Written as `fk IN (uncorrelated subquery)` so PostgreSQL hashes the
   * parent keys once (a correlated EXISTS under OR would rescan the parent view per row).
   */
  valid(name: string, row: Sql): Sql | null {
    const parts: Sql[] = [];
    for (const e of this.parentsOf(name)) {
      if (this.complete(e.parent)) continue;
      const p = this.alias();
      const inner = this.valid(e.parent, p);
      const nullable = join(e.fk.columns.map((c) => sql`${row}.${ident(c)} IS NULL`), ' OR ');
      parts.push(sql`(${nullable} OR ${this.refs(e, row)} IN (SELECT ${this.keys(e, p)} FROM ${this.view(e.parent)} AS ${p}${inner ? sql` WHERE ${inner}` : sql``}))`);
    }
    return parts.length === 0 ? null : join(parts, ' AND ');
  }

  /** the route from a table to the subject column: the column itself, or the first foreign key leading to it (shortest first) */
  subjectRoute(name: string, seen: ReadonlySet<string> = new Set()): { readonly direct: string } | { readonly via: Edge } | null {
    const subject = this.subjectColumn(name);
    if (subject) return { direct: subject };
    const candidates = this.parentsOf(name)
      .filter((e) => !seen.has(e.parent))
      .map((e) => ({ e, depth: this.routeDepth(e.parent, new Set([...seen, name])) }))
      .filter((c) => c.depth !== null)
      .sort((a, b) => a.depth! - b.depth! || a.e.fk.name.localeCompare(b.e.fk.name));
    return candidates[0] ? { via: candidates[0].e } : null;
  }

  private routeDepth(name: string, seen: ReadonlySet<string>): number | null {
    const r = this.subjectRoute(name, seen);
    if (!r) return null;
    if ('direct' in r) return 0;
    const d = this.routeDepth(r.via.parent, new Set([...seen, name]));
    return d === null ? null : d + 1;
  }

  /** the subject column of a table when it is in the table and masked one-to-one, so masked values identify the subject */
  subjectColumn(name: string): string | null {
    const { ptable, view } = this.tables.get(name)!;
    const subject = ptable.subject ?? this.policy.subject;
    if (!subject || !view.columns.some((c) => c.name === subject)) return null;
    const rule = ruleOf(ptable, subject);
    return rule && ONE_TO_ONE.has(rule.transform) ? subject : null;
  }

  /**
   * The masked subjects of the rows of a table that satisfy `condition` (over
   * alias `row`), as an uncorrelated SELECT: up the subject route, one IN per hop.
   */
  subjectsOf(name: string, row: Sql, condition: Sql): Sql | null {
    const route = this.subjectRoute(name);
    if (!route) return null;
    if ('direct' in route) return sql`SELECT ${row}.${ident(route.direct)}::text FROM ${this.view(name)} AS ${row} WHERE ${condition}`;
    const p = this.alias();
    const parentKey = tuple(route.via.fk.refColumns.map((c) => sql`${p}.${ident(c)}`));
    return this.subjectsOf(route.via.parent, p, sql`${parentKey} IN (SELECT ${join(route.via.fk.columns.map((c) => sql`${row}.${ident(c)}`))} FROM ${this.view(name)} AS ${row} WHERE ${condition})`);
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
 */
function seedCondition(graph: ExtractGraph, name: string, row: Sql, subset: ExtractSubset): Sql {
  const route = graph.subjectRoute(name);
  const where = subset.where;
  const condition = where ? sql`(${sqlExpression(where.condition)})` : null;
  if (!route) {
    if (where?.table === name) return condition!;
    return where && !graph.subjectRoute(where.table) ? sql`false` : sql`true`;
  }
  if ('via' in route) {
    const p = graph.alias();
    return sql`${graph.refs(route.via, row)} IN (SELECT ${graph.keys(route.via, p)} FROM ${graph.view(route.via.parent)} AS ${p} WHERE ${seedCondition(graph, route.via.parent, p, subset)})`;
  }
  const subject = sql`${row}.${ident(route.direct)}::text`;
  const parts: Sql[] = [];
  if (subset.fraction !== null && subset.fraction < 1) parts.push(sampled(subject, subset));
  if (where) {
    const w = graph.alias();
    const chosen = graph.subjectsOf(where.table, w, condition!);
    parts.push(chosen === null ? (where.table === name ? condition! : sql`false`) : sql`${subject} IN (${chosen})`);
  }
  return parts.length === 0 ? sql`true` : join(parts, ' AND ');
}

/**
 * Rows of a table the subset holds: its own seed, or a row a kept child row
 * points at (so no kept row is ever an orphan).
 */
function needed(graph: ExtractGraph, name: string, row: Sql, subset: ExtractSubset, depth = 0): Sql {
  if (depth > 16) throw new Error(`extract subset: reference chain deeper than 16 at ${name}`);
  const alternatives: Sql[] = [seedCondition(graph, name, row, subset)];
  for (const e of graph.childrenOf(name)) {
    const c = graph.alias();
    const childValid = graph.valid(e.child, c);
    const keptChild = childValid ? sql`${needed(graph, e.child, c, subset, depth + 1)} AND ${childValid}` : needed(graph, e.child, c, subset, depth + 1);
    alternatives.push(sql`${tuple(e.fk.refColumns.map((k) => sql`${row}.${ident(k)}`))} IN (SELECT ${join(e.fk.columns.map((k) => sql`${c}.${ident(k)}`))} FROM ${graph.view(e.child)} AS ${c} WHERE ${keptChild})`);
  }
  return alternatives.length === 1 ? alternatives[0]! : sql`(${join(alternatives, ' OR ')})`;
}

/** Column types of the source database's own schemas (enums, domains) do not exist in an empty target: they travel as text. */
function portableType(column: CatalogTable['columns'][number]): string {
  return column.typeSchema === 'pg_catalog' ? column.sqlType : 'text';
}

export function planExtract(policy: Policy, snapshot: CatalogSnapshot, subset: ExtractSubset | null): ExtractPlan {
  const graph = new ExtractGraph(policy, snapshot);
  if (subset?.where && !graph.tables.has(subset.where.table)) {
    throw new PgmaskError({
      code: 'EXTRACT_WHERE_TABLE',
      message: `--where names table ${subset.where.table}, which the policy does not list`,
      hint: `use one of: ${[...graph.tables.keys()].join(', ')}`,
      exitCode: ExitCode.usage,
    });
  }
  const tables = graph.ordered().map((name): ExtractTable => {
    const { ptable, source, view } = graph.tables.get(name)!;
    const row = ident('t');
    const conditions: Sql[] = [];
    const valid = graph.valid(name, row);
    if (valid) conditions.push(valid);
    if (subset) conditions.push(needed(graph, name, row, subset));
    const columns = view.columns.map((c) => ({ name: c.name, type: portableType(c), comment: c.comment }));
    const pk = source.primaryKey && source.primaryKey.every((c) => ONE_TO_ONE.has(ruleOf(ptable, c)?.transform ?? 'redact')) ? source.primaryKey : null;
    if (source.primaryKey && !pk) graph.warnings.push(`${name}: the primary key is not re-created (a key column is not masked one-to-one)`);
    const select = sql`SELECT ${join(view.columns.map((c) => sql`${row}.${ident(c.name)}`))} FROM ${graph.view(name)} AS ${row}${conditions.length ? sql` WHERE ${join(conditions, ' AND ')}` : sql``}`;
    return {
      name,
      columns,
      primaryKey: pk,
      foreignKeys: graph.parentsOf(name).map((e) => ({ name: e.fk.name, columns: e.fk.columns, refTable: e.parent, refColumns: e.fk.refColumns })),
      select,
      comment: view.comment,
    };
  });
  return { tables, warnings: graph.warnings };
}
