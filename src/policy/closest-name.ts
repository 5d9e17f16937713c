/**
 * The candidate closest to a misspelt name, or undefined when none is close
 * enough to be a plausible typo. Distance is Damerau–Levenshtein (optimal string
 * alignment) ignoring case, so `pseudonymise`, `Pseudonymize` and `unlisted_colums`
 * all find their intended name; a name that merely starts the candidate
 * (`pseudo` → `pseudonymize`) counts too.
 *
 * @example
 *   closestName('unlisted_colums', ['version', 'unlisted_columns']) // 'unlisted_columns'
 */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const hay = candidate.toLowerCase();
    let d = editDistance(needle, hay);
    if (d > allowedDistance(Math.max(needle.length, hay.length)) && !(needle.length >= 3 && hay.startsWith(needle))) continue;
    // a prefix match ranks behind every real typo
    if (d > allowedDistance(Math.max(needle.length, hay.length))) d = 100 + d;
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `did you mean \`x\`?`, or undefined when nothing is close. */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const name = closestName(input, candidates);
  return name === undefined ? undefined : `did you mean \`${name}\`?`;
}

function allowedDistance(length: number): number {
  return Math.max(1, Math.min(3, Math.floor(length / 3)));
}

function editDistance(a: string, b: string): number {
  // names in a policy are short; the quadratic table is fine and long inputs are cut to keep it bounded
  const s = [...a.slice(0, 128)];
  const t = [...b.slice(0, 128)];
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) => {
    const row = new Array<number>(t.length + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= t.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[s.length]![t.length]!;
}
