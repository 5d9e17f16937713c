/** Why a row filter was refused, and where in the filter text. */
export interface RowFilterProblem {
  readonly message: string;
  /** 0-based offset into the filter text */
  readonly offset: number;
  /** length of the offending text (at least 1) */
  readonly length: number;
}

const identChar = /[A-Za-z0-9_$\u0080-\uffff]/;
const dollarTag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * Checks that a table's `filter` is one self-contained SQL expression: it is put
 * inside `WHERE (…)` of a masked view, so it must not be able to close that
 * parenthesis, end the statement or comment out the rest.
 *
 * A small lexer over PostgreSQL's token rules (quoted strings with `''`, E''
 * strings with backslash escapes, quoted identifiers, dollar quoting) finds `;`,
 * `--`, `/*` and parentheses outside literals. It does not judge the expression
 * itself: PostgreSQL does that when the view is created. Hand-written because no
 * maintained SQL lexer for JavaScript follows PostgreSQL's quoting exactly.
 *
 * @example
 *   checkRowFilter("NOT research_opt_out")            // null
 *   checkRowFilter("true) OR (1=1")                   // { message: 'closes a parenthesis it did not open', offset: 4, length: 1 }
 */
export function checkRowFilter(filter: string): RowFilterProblem | null {
  if (filter.trim() === '') return { message: 'is empty', offset: 0, length: Math.max(1, filter.length) };
  const nul = filter.indexOf('\u0000');
  if (nul >= 0) return { message: 'contains a NUL character', offset: nul, length: 1 };

  const opens: number[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    const next = filter[i + 1];
    const prev = i > 0 ? filter[i - 1]! : '';
    if (c === "'") {
      // E'…' (not part of a longer identifier such as `name'`) takes backslash escapes
      const escaped = (prev === 'E' || prev === 'e') && (i < 2 || !identChar.test(filter[i - 2]!));
      const end = skipQuoted(filter, i, "'", escaped);
      if (end < 0) return { message: 'has a string literal that is never closed', offset: i, length: filter.length - i };
      // under standard_conforming_strings = off a backslash escapes the quote; refuse the one spelling where the two readings differ
      if (!escaped) {
        const bq = filter.slice(i, end).indexOf("\\'");
        if (bq >= 0) return { message: "has \\' inside a string literal, which reads differently when standard_conforming_strings is off; write '' for a quote", offset: i + bq, length: 2 };
      }
      i = end;
      continue;
    }
    if (c === '"') {
      const end = skipQuoted(filter, i, '"', false);
      if (end < 0) return { message: 'has a quoted identifier that is never closed', offset: i, length: filter.length - i };
      i = end;
      continue;
    }
    if (c === '$' && !identChar.test(prev)) {
      const tag = dollarTag.exec(filter.slice(i))?.[0];
      if (tag !== undefined) {
        const close = filter.indexOf(tag, i + tag.length);
        if (close < 0) return { message: `has a dollar-quoted string ${tag} that is never closed`, offset: i, length: filter.length - i };
        i = close + tag.length;
        continue;
      }
    }
    if (c === ';') return { message: 'contains `;`: a filter is one expression, not statements', offset: i, length: 1 };
    if (c === '-' && next === '-') return { message: 'contains a comment (`--`)', offset: i, length: 2 };
    if (c === '/' && next === '*') return { message: 'contains a comment (`/*`)', offset: i, length: 2 };
    if (c === '*' && next === '/') return { message: 'contains `*/`', offset: i, length: 2 };
    if (c === '(') opens.push(i);
    if (c === ')') {
      if (opens.length === 0) return { message: 'closes a parenthesis it did not open', offset: i, length: 1 };
      opens.pop();
    }
    i++;
  }
  if (opens.length > 0) return { message: 'opens a parenthesis it does not close', offset: opens[opens.length - 1]!, length: 1 };
  return null;
}

/** Offset just past the closing quote of a literal starting at `start`, or -1 when unterminated. */
function skipQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}
