import { entriesInOrder } from './yaml-tree.ts';

/**
 * A rule rendered on one line the way it is written in the policy, stable for
 * the same rule: `pseudonymize`, or `{ pseudonymize: { prefix: "MRN-" } }`.
 * Strings are always double-quoted, map entries keep their written order, and a
 * rule with no parameters is just its name. Shown in COMMENT ON COLUMN, so a BI
 * data dictionary says how each column was masked.
 *
 * @example
 *   displayRule('shift_date', { max_days: 30 }) // '{ shift_date: { max_days: 30 } }'
 */
export function displayRule(transform: string, writtenParams: Readonly<Record<string, unknown>>): string {
  if (Object.keys(writtenParams).length === 0) return transform;
  return `{ ${flowKey(transform)}: ${flow(writtenParams)} }`;
}

function flow(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? '[]' : `[${value.map(flow).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = entriesInOrder(value as Record<string, unknown>);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${flowKey(k)}: ${flow(v)}`).join(', ')} }`;
  }
  return JSON.stringify(String(value));
}

function flowKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
}
