import { ageYears } from '../transforms/js/age.ts';
import { birthYear } from '../transforms/js/birth-year.ts';
import type { ColumnScan } from './scan-database.ts';
import type { RuleValue } from './rule-value.ts';

/** Below this many distinct sampled values a column is too small to judge. */
const minDistinct = 10;

/** The transforms whose output on integer values can be computed here, by their JavaScript twins. */
const integerPreviews: Readonly<Record<string, (value: string, today: string) => string>> = {
  age: (v) => ageYears(v),
  birth_year: (v, today) => birthYear(v, today),
};

/**
 * A rule that would show one value (or nearly one) for a column whose sampled values are many: `age` on a
 * birth-year column turns 96 years into a single 90. Computed with the transform's JavaScript twin on the
 * distinct sampled values; null when the rule is fine or cannot be previewed.
 *
 * @example
 *   constantOutputWarning('age', yearOfBirth)
 *   // 'age gives 1 distinct value for 96 distinct sampled values (every value becomes 90): use birth_year for birth years'
 */
export function constantOutputWarning(rule: RuleValue, column: ColumnScan, today = new Date().toISOString().slice(0, 10)): string | null {
  const transform = typeof rule === 'string' ? rule : Object.keys(rule)[0];
  const preview = transform ? integerPreviews[transform] : undefined;
  if (!preview || column.family !== 'integer') return null;
  const values = column.distinctValues.filter((v) => /^-?\d+$/.test(v));
  if (values.length < minDistinct) return null;
  const outputs = new Map<string, number>();
  for (const v of values) {
    const out = preview(v, today);
    outputs.set(out, (outputs.get(out) ?? 0) + 1);
  }
  const [top, topCount] = [...outputs.entries()].sort((a, b) => b[1] - a[1])[0]!;
  // nearly constant: at most two outputs, or one output for 95% of the values
  if (outputs.size > 2 && topCount < 0.95 * values.length) return null;
  const hint = transform === 'age' && column.classification.kinds.includes('birth year (reveals ages over 89)') ? ': use birth_year for birth years' : ': review the rule';
  return `${transform} gives ${outputs.size} distinct value(s) for ${values.length} distinct sampled values (${topCount} become ${top})${hint}`;
}
