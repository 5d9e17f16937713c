import { trustedSqlText, type Sql } from './sql.ts';
import { checkRowFilter } from './row-filter.ts';

/**
 * A row filter written by the policy author, as Sql: parenthesized, after
 * checkRowFilter() has made sure it cannot leave the parentheses (no `;`, no
 * comment, balanced parentheses, closed quotes). The policy parser reports the
 * same problems earlier, with positions; this is the last line of defence where
 * the SQL is built.
 *
 * @example sqlExpression('NOT research_opt_out').text // '(NOT research_opt_out)'
 */
export function sqlExpression(text: string): Sql {
  const problem = checkRowFilter(text);
  if (problem) throw new TypeError(`invalid SQL expression: the expression ${problem.message} (at character ${problem.offset + 1})`);
  return trustedSqlText(`(${text})`);
}
