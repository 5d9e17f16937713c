/**
 * Splits a column (or table) name into lowercase, accent-free word tokens the
 * way clinical schemas write them: snake_case, camelCase, PascalCase, kebab and
 * dotted names, digits apart from letters. Connecting words (`de`, `of`, `du`,
 * `von`…) are dropped so `fecha_de_nacimiento` and `date_of_birth` reach the
 * same rules as `fecha_nacimiento` and `birth_date`.
 *
 * @example
 *   tokenizeName('PtFName')            // ['pt', 'f', 'name']  (camel splits every capital)
 *   tokenizeName('pt_fname')           // ['pt', 'fname']
 *   tokenizeName('fecha_de_nacimiento') // ['fecha', 'nacimiento']
 *   tokenizeName('Prénom')             // ['prenom']
 */
export function tokenizeName(name: string): string[] {
  const plain = normalizeText(
    name
      // camelCase and PascalCase boundaries: aB → a B, ABc → A Bc
      .replace(/([a-z0-9])([A-Z])/g, (_, a: string, b: string) => `${a} ${b}`)
      .replace(/([A-Z]+)([A-Z][a-z])/g, (_, a: string, b: string) => `${a} ${b}`),
  );
  return plain
    .split(/[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])/)
    .filter((t) => t.length > 0 && !connectingWords.has(t));
}

/** Lowercase, accents removed, ß → ss, so `Straße`, `strasse` and `STRASSE` compare equal. */
export function normalizeText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').replaceAll('ß', 'ss').toLowerCase();
}

const connectingWords: ReadonlySet<string> = new Set(['of', 'the', 'de', 'del', 'la', 'le', 'les', 'du', 'des', 'd', 'von', 'der', 'die', 'das', 'y', 'et', 'und', 'en', 'a', 'al', 'for', 'para', 'pour', 'fuer', 'fur', 'per', 'par', 'por']);
