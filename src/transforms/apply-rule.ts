import type { CatalogColumn } from '../catalog/catalog-snapshot.ts';
import { cast, columnReference, expr } from '../plan/expression.ts';
import type { Expr } from '../plan/nodes.ts';
import { elementColumn } from './element-column.ts';
import type { TransformRegistry } from './registry.ts';
import type { CheckContext, NestedRule, RenderContext, TransformDefinition, TransformProblem } from './transform.ts';

/**
 * How a rule meets a column: on the value itself (`scalar`), or on each element of an array
 * (`elements`) when the transform takes the element's type but not arrays — `noise` on
 * `real[]`, `pseudonymize` on `text[]`. Null when it fits neither.
 */
export type RuleShape = { readonly kind: 'scalar' } | { readonly kind: 'elements'; readonly element: CatalogColumn };

export function ruleShape(transform: TransformDefinition<any>, column: CatalogColumn, params: Readonly<Record<string, unknown>>): RuleShape | null {
  const element = elementColumn(column);
  // redact with a constant on an array shows the constant in every element (a constant array is of no use); without one the array is NULL
  if (element && transform.name === 'redact' && params.value !== undefined) return { kind: 'elements', element };
  if (transform.types.includes(column.family)) return { kind: 'scalar' };
  if (element && transform.types.includes(element.family)) return { kind: 'elements', element };
  return null;
}

/** The SQL type of the masked column: the transform's output type, per element for an array rule. */
export function ruleOutputType(transform: TransformDefinition<any>, column: CatalogColumn, params: Readonly<Record<string, unknown>>): string {
  const shape = ruleShape(transform, column, params);
  if (shape?.kind === 'elements') return `${transform.outputType?.(shape.element, params) ?? shape.element.sqlType}[]`;
  return transform.outputType?.(column, params) ?? column.sqlType;
}

/** The transform's own checks, on the element column for an array rule; nested rules are checked on their own value type. */
export function checkRule(registry: TransformRegistry, transform: TransformDefinition<any>, ctx: CheckContext<any>): readonly TransformProblem[] {
  const shape = ruleShape(transform, ctx.column, ctx.params);
  if (!shape || !transform.check) return [];
  const checkNested = (rule: NestedRule, column: CatalogColumn): readonly TransformProblem[] => {
    const t = registry.get(rule.transform);
    return t ? checkRule(registry, t, { ...ctx, column, params: rule.params, checkNested: undefined }) : [];
  };
  return transform.check({ ...(shape.kind === 'elements' ? { ...ctx, column: shape.element } : ctx), checkNested });
}

export interface RuleRenderInput extends Omit<RenderContext<any>, 'nested' | 'params'> {
  readonly registry: TransformRegistry;
  readonly transform: TransformDefinition<any>;
  readonly params: Readonly<Record<string, unknown>>;
  /** the key expression and version of a key name (nested rules name their own key) */
  readonly keyFor: (name: string) => { readonly key: Expr; readonly version: number };
}

/** alias of the unnested elements inside an array rule's subquery */
const ELEMENT_ALIAS = 'pgmask_el';

/**
 * The masked expression of one rule on one value. An array rule runs the scalar expression on
 * every element inside `ARRAY(SELECT … FROM unnest(v) WITH ORDINALITY … ORDER BY ordinality)`:
 * NULL elements stay NULL (whatever the transform makes of a NULL scalar), each element is
 * keyed exactly as a scalar of that column would be, and pgmask._array_shape (sql/structure.sql)
 * puts the result back into the source array's dimensions and lower bounds. The subquery is
 * SQL in the view, so both runtimes share it; only the element transform differs by runtime.
 */
export function renderRule(input: RuleRenderInput): Expr {
  const { registry, transform, params, keyFor } = input;
  const nested = (rule: NestedRule, value: Expr, column: CatalogColumn): Expr => {
    const t = registry.get(rule.transform);
    if (!t) throw new Error(`nested rule names unknown transform ${rule.transform}`);
    const k = keyFor(rule.key);
    return renderRule({ ...input, transform: t, params: rule.params, value, column, key: k.key, keyVersion: k.version });
  };
  const ctx: RenderContext<any> = {
    value: input.value,
    column: input.column,
    table: input.table,
    params,
    key: input.key,
    keyVersion: input.keyVersion,
    subject: input.subject,
    rowKey: input.rowKey,
    runtime: input.runtime,
    nested,
  };
  const shape = ruleShape(transform, input.column, params);
  if (shape?.kind !== 'elements') return transform.render(ctx);
  const element = columnReference(ELEMENT_ALIAS, 'e');
  // a NULL element stays NULL whatever the transform does with NULL (redact's constant included)
  const each = cast(expr`CASE WHEN ${element} IS NULL THEN NULL ELSE ${transform.render({ ...ctx, value: element, column: shape.element })} END`, transform.outputType?.(shape.element, params) ?? shape.element.sqlType, false);
  const v = input.value;
  return expr`CASE WHEN ${v} IS NULL THEN NULL ELSE pgmask._array_shape(ARRAY(SELECT ${each} FROM unnest(${v}) WITH ORDINALITY AS pgmask_el(e, i) ORDER BY pgmask_el.i), ${v}) END`;
}


/** Whether a rule reads a key: its transform does, or a rule nested in it (a keyed `json` path rule). */
export function ruleUsesKey(registry: TransformRegistry, transform: TransformDefinition<any>, params: Readonly<Record<string, unknown>>): boolean {
  if (transform.usesKey) return true;
  return (transform.nestedRules?.(params) ?? []).some((r) => {
    const t = registry.get(r.transform);
    return t !== undefined && ruleUsesKey(registry, t, r.params);
  });
}
