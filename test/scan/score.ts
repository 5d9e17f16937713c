import { categories, isDirectIdentifier, isIdentifying, type Category } from '../../src/scan/category.ts';

/** One scanned column with its label. */
export interface Labelled {
  readonly fixture: string;
  readonly column: string;
  readonly truth: Category;
  readonly predicted: Category;
  readonly confidence: number;
  readonly reasons: readonly string[];
}

export interface Figures {
  /** direct identifiers (18 kinds + subject_key) found as some direct identifier */
  readonly recall: number;
  /** of the columns predicted a direct identifier, the share with exactly that category */
  readonly precision: number;
  readonly lines: readonly string[];
}

function ratio(n: number, d: number): number {
  return d === 0 ? NaN : n / d;
}

function fmt(x: number): string {
  return Number.isNaN(x) ? '  -  ' : x.toFixed(3);
}

/** Per-category and direct-identifier figures for a set of labelled columns, printed and returned. */
export function score(labelled: readonly Labelled[], fixtures: readonly string[]): Figures {
  const lines: string[] = [];
  lines.push(`category           truth  pred  correct  precision  recall`);
  for (const category of categories) {
    const truthN = labelled.filter((l) => l.truth === category).length;
    const predN = labelled.filter((l) => l.predicted === category).length;
    const correct = labelled.filter((l) => l.truth === category && l.predicted === category).length;
    if (truthN === 0 && predN === 0) continue;
    lines.push(`${category.padEnd(18)} ${String(truthN).padStart(5)} ${String(predN).padStart(5)} ${String(correct).padStart(8)}  ${fmt(ratio(correct, predN)).padStart(9)}  ${fmt(ratio(correct, truthN)).padStart(6)}`);
  }
  const direct = labelled.filter((l) => isDirectIdentifier(l.truth));
  const predictedDirect = labelled.filter((l) => isDirectIdentifier(l.predicted));
  // recall: a direct identifier the scan calls some direct identifier gets masked (never kept)
  const recall = ratio(direct.filter((l) => isDirectIdentifier(l.predicted)).length, direct.length);
  const exactRecall = ratio(direct.filter((l) => l.predicted === l.truth).length, direct.length);
  // precision: of the columns the scan calls a direct identifier, the share with exactly that category
  const precision = ratio(predictedDirect.filter((l) => l.predicted === l.truth).length, predictedDirect.length);
  const groupPrecision = ratio(predictedDirect.filter((l) => isDirectIdentifier(l.truth)).length, predictedDirect.length);
  const accuracy = ratio(labelled.filter((l) => l.predicted === l.truth).length, labelled.length);
  const leaked = labelled.filter((l) => isIdentifying(l.truth) && !isIdentifying(l.predicted));
  lines.push('');
  lines.push(`columns: ${labelled.length} (${fixtures.map((f) => `${f} ${labelled.filter((l) => l.fixture === f).length}`).join(', ')})`);
  lines.push(`direct identifiers (18 kinds + subject_key): ${direct.length} labelled, ${predictedDirect.length} predicted`);
  lines.push(`  recall (found as a direct identifier):   ${fmt(recall)}   exact-category recall: ${fmt(exactRecall)}`);
  lines.push(`  precision (exact category):              ${fmt(precision)}   as any direct identifier: ${fmt(groupPrecision)}`);
  lines.push(`overall accuracy (all ${categories.length} categories):      ${fmt(accuracy)}`);
  lines.push(`identifying columns classified as not identifying: ${leaked.length}`);
  const wrong = labelled.filter((l) => l.predicted !== l.truth);
  lines.push('', 'misclassified:');
  for (const l of wrong) lines.push(`  ${l.fixture}:${l.column}  truth ${l.truth}, predicted ${l.predicted} (${l.confidence}): ${l.reasons.join('; ')}`);
  process.stdout.write(`\n[scan precision/recall: ${fixtures.join(', ')}]\n${lines.join('\n')}\n\n`);
  return { recall, precision, lines };
}
