import { trustedSqlText, type Sql } from './sql.ts';

/**
 * A SQL boolean expression written by the policy author (a row filter). It is put
 * inside `WHERE (…)`, so it must not be able to leave the parentheses: no `;`, no
 * comment, balanced parentheses, closed quotes. Returns the problem, or null.
 *
 * @example expressionProblem("NOT research_opt_out") // null
 * @example expressionProblem("true) OR (1=1") // "unbalanced parentheses …"
 */
export function expressionProblem(text: string): string | null {
  if (text.trim() === '') return 'the expression is empty';
  if (text.includes('\u0000')) return 'the expression contains a NUL character';
  let depth = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === ';') return `a ";" at offset ${i}: a filter is one expression, not a statement`;
    if (c === '-' && next === '-') return `a "--" comment at offset ${i}`;
    if (c === '/' && next === '*') return `a "/*" comment at offset ${i}`;
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth < 0) return `unbalanced parentheses: ")" at offset ${i} closes nothing`;
    } else if (c === "'") {
      const escapes = i > 0 && /[eE]/.test(text[i - 1]!) && (i < 2 || !/[A-Za-z0-9_$]/.test(text[i - 2]!));
      const end = closeQuote(text, i + 1, "'", escapes);
      if (end < 0) return `unterminated string literal starting at offset ${i}`;
      i = end;
    } else if (c === '"') {
      const end = closeQuote(text, i + 1, '"', false);
      if (end < 0) return `unterminated quoted identifier starting at offset ${i}`;
      i = end;
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (m && (i === 0 || !/[A-Za-z0-9_]/.test(text[i - 1]!))) {
        const tag = m[0];
        const end = text.indexOf(tag, i + tag.length);
        if (end < 0) return `unterminated dollar-quoted string starting at offset ${i}`;
        i = end + tag.length - 1;
      }
    }
    i++;
  }
  if (depth !== 0) return `unbalanced parentheses: ${depth} "(" not closed`;
  return null;
}

/** index of the closing quote (doubled quotes and, for E'' strings, backslash escapes skipped), or -1 */
function closeQuote(text: string, from: number, quote: string, backslashEscapes: boolean): number {
  for (let j = from; j < text.length; j++) {
    const ch = text[j];
    if (backslashEscapes && ch === '\\') {
      j++;
      continue;
    }
    if (ch === quote) {
      if (text[j + 1] === quote) {
        j++;
        continue;
      }
      return j;
    }
  }
  return -1;
}

/** The expression as Sql, parenthesized; throws when expressionProblem() finds one. */
export function sqlExpression(text: string): Sql {
  const problem = expressionProblem(text);
  if (problem) throw new TypeError(`invalid SQL expression: ${problem}`);
  return trustedSqlText(`(${text})`);
}
