import type { z } from 'zod';
import type { Expr } from '../plan/nodes.ts';
import type { CatalogColumn, CatalogTable, TypeFamily } from '../catalog/catalog-snapshot.ts';

export type Runtime = 'plv8' | 'sql';

/**
 * What the planner hands a transform to build the expression of one masked column. The
 * pieces are expression nodes (src/plan/nodes.ts); a transform combines them with the
 * `expr` tag (src/plan/expression.ts) and returns a node, never rendered SQL text, so
 * verify can recompute a column under another key by replacing the KeyReference node.
 */
export interface RenderContext<P> {
  /** the source column reference, e.g. `src."mrn"` (of the source column's type) */
  readonly value: Expr;
  readonly column: CatalogColumn;
  readonly table: CatalogTable;
  readonly params: P;
  /** the rule's key (bytea): a KeyReference node, rendered as a scalar subquery PostgreSQL runs once per query */
  readonly key: Expr;
  /** the version of that key the view uses (the newest at plan time; 1, the default, for a key not created yet) */
  readonly keyVersion?: number;
  /** the subject column as a text expression, or null when the table has none */
  readonly subject: Expr | null;
  /** the row's primary key as one text expression, or null when the table has none */
  readonly rowKey: Expr | null;
  /**
   * the runtime the view calls. On `sql` a transform specializes its call at plan time
   * (parameters as SQL constants, constant sub-expressions precomputed) into the inlinable
   * helpers of sql/<sqlFile>; on `plv8` it calls the runtime-independent signature
   * (`pgmask.<fn>(value, [key,] opts jsonb)`) that both runtimes implement.
   */
  readonly runtime: Runtime;
  /**
   * renders a rule nested inside this one (the per-path rules of `json`) on a value of its own,
   * with the rule's own key; given by renderRule (src/transforms/apply-rule.ts)
   */
  readonly nested?: (rule: NestedRule, value: Expr, column: CatalogColumn) => Expr;
}

/** A rule inside a rule's parameters (a `json` path rule): what a policy Rule holds, without its display text. */
export interface NestedRule {
  readonly transform: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly key: string;
}

/** A plan-time problem a transform reports about one column (becomes a policy error with position). */
export interface TransformProblem {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

export interface CheckContext<P> {
  readonly column: CatalogColumn;
  readonly table: CatalogTable;
  readonly params: P;
  /** the subject column name in effect for this table, or null */
  readonly subjectColumn: string | null;
  readonly runtime: Runtime;
  /** the checks of a rule nested inside this one (a `json` path rule) on a value of its own; given by checkRule */
  readonly checkNested?: (rule: NestedRule, column: CatalogColumn) => readonly TransformProblem[];
}

/** What parseNested gets to parse the rules inside a rule's parameters, reporting at their place in the policy file. */
export interface NestedParser {
  /** parses a rule written at `at` (a path inside this rule's parameters); null when it has errors (already reported) */
  rule(raw: unknown, at: readonly (string | number)[]): NestedRule | null;
  problem(p: { readonly code: string; readonly message: string; readonly hint?: string; readonly at: readonly (string | number)[]; readonly part: 'key' | 'value' }): void;
  transform(name: string): TransformDefinition<any> | undefined;
}

/**
 * A masking transform: metadata + how a masked view calls it. The SQL functions it
 * calls live in schema `pgmask` with one signature per runtime-independent contract;
 * `sql/<sqlFile>` implements them for the sql runtime and the TypeScript `plv8`
 * implementation (see plv8/) for the plv8 runtime.
 */
export interface TransformDefinition<P = Record<string, unknown>> {
  /** policy name, snake_case */
  readonly name: string;
  /** one line, shown in docs, CLI help and the JSON Schema */
  readonly description: string;
  /** zod schema of the parameters (a strict object; `key` is handled by the policy parser, not here) */
  readonly params: z.ZodType<P>;
  /** column type families this transform accepts */
  readonly types: readonly TypeFamily[];
  /** runtimes that implement it */
  readonly runtimes: readonly Runtime[];
  /** true when the transform's functions are deterministic (IMMUTABLE); false only for a VOLATILE transform */
  readonly immutable: boolean;
  /** whether the rule takes a key (`key:` accepted and the key subquery passed) */
  readonly usesKey: boolean;
  /**
   * SQL type of the masked value when it is not the column's own type (e.g. `text`
   * for a labelled bucket). Undefined or null: the column's own type.
   */
  outputType?(column: CatalogColumn, params: P): string | null;
  /** extra checks for one column (type-specific parameter rules, a needed primary key or subject column) */
  check?(ctx: CheckContext<P>): readonly TransformProblem[];
  /**
   * a transform whose parameters hold rules (`json` paths): called after the zod schema passed,
   * returns the parameters with those rules parsed, or null when any has errors
   */
  parseNested?(params: P, parser: NestedParser): Record<string, unknown> | null;
  /** the rules parseNested left in the parameters (so verify knows a json rule is keyed when a path rule is) */
  nestedRules?(params: Readonly<Record<string, unknown>>): readonly NestedRule[];
  /** the expression of the masked column; the planner casts it back to the output type */
  render(ctx: RenderContext<P>): Expr;
  /** the file under sql/ that implements this transform's functions for the sql runtime, or null when it needs none */
  readonly sqlFile: string | null;
  /**
   * plv8 runtime: the SQL functions of this transform implemented in JavaScript.
   * Each entry names a function of the JS implementation table (src/transforms/js/index.ts)
   * and the exact SQL signature it serves (the same signature sql/<sqlFile> defines).
   * Arguments and results of type date, timestamp, timestamptz, int8 and numeric cross
   * into JavaScript as text: plv8/ generates a SQL wrapper that casts them (ARCHITECTURE.md).
   */
  readonly plv8?: readonly Plv8Signature[];
  /** a policy snippet and what it does, for generated docs */
  readonly example?: { readonly rule: string; readonly input: string; readonly output: string };
  /** semantics a policy author must know (edge cases, time zones, what becomes NULL), one paragraph each, for generated docs */
  readonly notes?: readonly string[];
}

export interface Plv8Signature {
  /** function name inside schema pgmask, e.g. `pseudonymize` */
  readonly sqlName: string;
  /** SQL arguments, exactly as in the sql runtime's signature, e.g. [['value','text'],['key','bytea'],['opts','jsonb']] */
  readonly args: readonly (readonly [name: string, sqlType: string])[];
  readonly returns: string;
  /** key of the implementation in the JS implementation table */
  readonly js: string;
}

/** Identity helper that keeps P inferred from the zod schema. */
export function defineTransform<S extends z.ZodType>(def: TransformDefinition<z.infer<S>> & { params: S }): TransformDefinition<z.infer<S>> {
  return Object.freeze(def);
}
