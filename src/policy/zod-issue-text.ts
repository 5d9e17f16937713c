import type { z } from 'zod';

type Issue = z.core.$ZodRawIssue;

/**
 * A zod error map that words an issue as the end of a sentence about a policy
 * node, e.g. "must be a number, not the string \"30\"". Passed per parse, so a
 * message a schema sets itself (`{ error: … }`) still wins.
 */
export function issueText(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${typeName(String(issue.expected))}${notClause(issue.input)}`;
    case 'too_small':
      return bound(issue.origin, 'at least', 'more than', issue.inclusive !== false, issue.minimum);
    case 'too_big':
      return bound(issue.origin, 'at most', 'less than', issue.inclusive !== false, issue.maximum);
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${showValue(issue.values[0])}${notClause(issue.input)}`
        : `must be one of ${issue.values.map(showValue).join(', ')}${notClause(issue.input)}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `must match ${String(issue.pattern)}` : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_union': {
      const expected = issue.errors.flatMap((branch) =>
        branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0 ? [typeName(String(branch[0]!.expected))] : [],
      );
      if (expected.length === issue.errors.length) return `must be ${[...new Set(expected)].join(' or ')}${notClause(issue.input)}`;
      return `does not match any allowed form (${issue.errors.map((b) => b.map((i) => i.message).join('; ')).join(' | ')})`;
    }
    default:
      return undefined;
  }
}

function bound(origin: string, inclusiveWord: string, exclusiveWord: string, inclusive: boolean, limit: unknown): string {
  const word = inclusive ? inclusiveWord : exclusiveWord;
  switch (origin) {
    case 'string':
      return `must be ${word} ${String(limit)} characters long`;
    case 'array':
    case 'set':
      return `must list ${word} ${String(limit)} items`;
    default:
      return `must be ${word} ${String(limit)}`;
  }
}

function typeName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
    case 'map':
      return 'a map';
    case 'array':
    case 'tuple':
      return 'a list';
    case 'null':
      return 'null';
    default:
      return expected;
  }
}

/** `, not the string "x"` — or `, but is empty` for a key written without a value. */
function notClause(value: unknown): string {
  return value === undefined || value === null ? ', but is empty' : `, not ${describeValue(value)}`;
}

/** How a YAML value reads in a message: `the string "30"`, `the number 1.5`, `a list`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'empty';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return typeof value;
}

function showValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}
