import { isSql, trustedSqlText, type Sql } from '../sql/index.ts';
import type { Cast, ColumnReference, Constant, Expr, KeyReference, SqlTemplate, TransformCall } from './nodes.ts';

/**
 * Builders of expression nodes (src/plan/nodes.ts). Transforms write their view
 * expression with the `expr` tag exactly as they would with `sql`, but every column,
 * key and call they interpolate stays a node of the tree.
 *
 * @example
 *   expr`pgmask.zip3(${cast(columnReference('src', 'zip'), 'text')}, ${constant(sql`'{036}'::text[]`)})`
 *   // renders: pgmask.zip3(src."zip"::text, '{036}'::text[])
 */
export type ExprValue = Expr | Sql | readonly (Expr | Sql)[];

export function isExpr(value: unknown): value is Expr {
  return typeof value === 'object' && value !== null && !isSql(value) && typeof (value as { kind?: unknown }).kind === 'string';
}

export function expr(strings: TemplateStringsArray, ...values: readonly ExprValue[]): Expr {
  const fragments: Sql[] = [];
  const args: Expr[] = [];
  // the text between interpolations was written in source code, as with sql`…`
  let text = strings[0] ?? '';
  const add = (v: Expr | Sql) => {
    if (isSql(v)) {
      text += v.text;
    } else if (isExpr(v)) {
      fragments.push(trustedSqlText(text));
      args.push(v);
      text = '';
    } else {
      throw new TypeError(`expr\`…\`: interpolated a ${typeof v} (${JSON.stringify(v)}); interpolate Sql (ident(), literal()) or expression nodes`);
    }
  };
  values.forEach((value, i) => {
    if (Array.isArray(value)) {
      (value as readonly (Expr | Sql)[]).forEach((v, j) => {
        if (j > 0) text += ', ';
        add(v);
      });
    } else {
      add(value as Expr | Sql);
    }
    text += strings[i + 1] ?? '';
  });
  fragments.push(trustedSqlText(text));
  if (args.length === 0) return constant(fragments[0]!);
  return Object.freeze({ kind: 'SqlTemplate', fragments: Object.freeze(fragments), args: Object.freeze(args) }) satisfies SqlTemplate;
}

export function columnReference(table: string, column: string): ColumnReference {
  return Object.freeze({ kind: 'ColumnReference', table, column });
}

export function keyReference(name: string, version: number): KeyReference {
  return Object.freeze({ kind: 'KeyReference', name, version });
}

/** `x::type` (short) or `CAST(x AS type)` */
export function cast(expression: Expr, type: string, short = true): Cast {
  return Object.freeze({ kind: 'Cast', expression, type, short });
}

export function constant(value: Sql): Constant {
  return Object.freeze({ kind: 'Constant', sql: value });
}

/** pgmask.<fn>(args…) */
export function transformCall(fn: string, ...args: readonly Expr[]): TransformCall {
  return Object.freeze({ kind: 'TransformCall', fn, args: Object.freeze([...args]) });
}

/** The same tree with every node `replace` maps to something else replaced (children first). */
export function mapExpression(node: Expr, replace: (node: Expr) => Expr): Expr {
  switch (node.kind) {
    case 'ColumnReference':
    case 'KeyReference':
    case 'Constant':
      return replace(node);
    case 'Cast':
      return replace(cast(mapExpression(node.expression, replace), node.type, node.short));
    case 'TransformCall':
      return replace(transformCall(node.fn, ...node.args.map((a) => mapExpression(a, replace))));
    case 'SqlTemplate':
      return replace(Object.freeze({ kind: 'SqlTemplate', fragments: node.fragments, args: Object.freeze(node.args.map((a) => mapExpression(a, replace))) }));
    default: {
      const unreachable: never = node;
      throw new Error(`mapExpression: unknown node ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The nodes of a tree, parents before children. */
export function expressionNodes(node: Expr): Expr[] {
  const out: Expr[] = [node];
  if (node.kind === 'Cast') out.push(...expressionNodes(node.expression));
  if (node.kind === 'TransformCall' || node.kind === 'SqlTemplate') for (const a of node.args) out.push(...expressionNodes(a));
  return out;
}

/** The tree with every key reference replaced by `key` (a bytea expression): verify's oracle computes a column with a guessed key. */
export function withKey(node: Expr, key: Expr): Expr {
  return mapExpression(node, (n) => (n.kind === 'KeyReference' ? key : n));
}
