/**
 * Where SQL leaves the `Sql` type, read from the syntax tree (TypeScript's parser, so a
 * comment or a column called `text` inside SQL is not mistaken for code):
 * - a `.query(…)` method call in src/ or plv8/: only src/db talks to a pg client; everything
 *   else runs an `Sql` through `query()` / `queryRows()` of src/db/query.ts (or verify's
 *   AttackSession). The benchmarks (bench/) may time a client directly;
 * - a `.text` read inside the arguments of a query call (`query`, `queryRows`, `attempt`,
 *   `rows`, a COPY stream): the text of an `Sql` handed to a query, which drops its bound
 *   values and skips the helper;
 * - a `$<digit>` in a string or template literal, or a template part ending in `$` before a
 *   substitution (`$${i + 1}`): a placeholder written by hand (only `compile()` in src/sql
 *   numbers them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './import-graph.ts';

export interface SqlEdgeProblem {
  readonly file: string;
  readonly line: number;
  readonly rule: 'client-query' | 'text-to-query' | 'hand-written-placeholder';
  readonly code: string;
}

const QUERY_CALLS = new Set(['query', 'queryRows', 'attempt', 'rows', 'copyStatementOut', 'copyOut', 'copyIn']);

function calleeName(call: ts.CallExpression): string | null {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return null;
}

/** The problems in one file's source text; `file` decides which rules apply (src/db may talk to pg, src/sql numbers placeholders). */
export function scanSqlEdges(file: string, text: string): SqlEdgeProblem[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const inDb = file.startsWith('src/db/');
  const helperOnly = !inDb && (file.startsWith('src/') || file.startsWith('plv8/'));
  const inSql = file.startsWith('src/sql/');
  const problems: SqlEdgeProblem[] = [];
  const report = (node: ts.Node, rule: SqlEdgeProblem['rule']) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    problems.push({ file, line: line + 1, rule, code: node.getText(source).split('\n')[0]!.slice(0, 120) });
  };
  const visit = (node: ts.Node, inQueryArguments: boolean): void => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      if (helperOnly && name === 'query' && ts.isPropertyAccessExpression(node.expression)) report(node, 'client-query');
      ts.forEachChild(node.expression, (child) => visit(child, inQueryArguments));
      const isQuery = name !== null && QUERY_CALLS.has(name);
      for (const arg of node.arguments) visit(arg, inQueryArguments || isQuery);
      return;
    }
    if (!inDb && inQueryArguments && ts.isPropertyAccessExpression(node) && node.name.text === 'text') report(node, 'text-to-query');
    if (!inSql && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node))) {
      // `$1`, or `$${i + 1}`: a literal part that ends in `$` before a substitution numbers one at run time
      const computed = (ts.isTemplateHead(node) || ts.isTemplateMiddle(node)) && node.text.endsWith('$');
      if (/\$\d/.test(node.text) || computed) report(node, 'hand-written-placeholder');
    }
    ts.forEachChild(node, (child) => visit(child, inQueryArguments));
  };
  visit(source, false);
  return problems;
}

export function scanSqlEdgesIn(files: readonly string[]): SqlEdgeProblem[] {
  return files.flatMap((f) => scanSqlEdges(f, readFileSync(join(ROOT, f), 'utf8')));
}
