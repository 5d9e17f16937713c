import type { CatalogTable, TypeFamily } from '../catalog/catalog-snapshot.ts';
import { categories, isIdentifying, type Category } from './category.ts';
import { nameRules, type NameRule } from './name-rules.ts';
import { tokenizeName } from './tokenize-name.ts';
import { categoryValidators, containsDate, isDateText, isPersonName, mentionsPersonName, valueRules } from './value-validators.ts';

/** Everything the scan knows about one column when it decides what the column is. */
export interface ColumnEvidence {
  readonly table: string;
  readonly column: string;
  readonly family: TypeFamily;
  /** pg_type.typname, e.g. `varchar`, `int4`, `inet` */
  readonly typeName: string;
  readonly comment: string | null;
  /** the column alone is its table's primary key */
  readonly primaryKey: boolean;
  /** the table and column a single-column foreign key on this column points at */
  readonly references: { readonly table: string; readonly column: string } | null;
  /** set when the scan found this column holds the patient key (see detectSubject) */
  readonly subjectKey: { readonly confidence: number; readonly reason: string } | null;
  /** sampled non-NULL values as text (bytea as hex), or null when the table was not sampled */
  readonly samples: readonly string[] | null;
  /** the scanned tables that hold terms, not records (see vocabularyTablesOf); default: judged by each table's name */
  readonly vocabulary?: VocabularyTables;
}

/** Which tables of a scan are vocabularies, and the names of their one-column keys (`concept_id`, `itemid`). */
export interface VocabularyTables {
  readonly tables: ReadonlySet<string>;
  readonly keys: ReadonlySet<string>;
}

export interface Classification {
  readonly category: Category;
  /** 0..1 */
  readonly confidence: number;
  readonly reasons: readonly string[];
  /** what the name and value rules behind the category matched, e.g. `postal code`, `birth date` (rule choice reads these) */
  readonly kinds: readonly string[];
}

interface Evidence {
  readonly category: Category;
  readonly weight: number;
  readonly reason: string;
  /** the matching rule's `what`, for name, comment and value rules */
  readonly kind?: string;
}

const textual: readonly TypeFamily[] = ['text', 'other', 'json', 'array'];
const identifierFamilies: readonly TypeFamily[] = ['text', 'integer', 'numeric', 'uuid', 'other', 'array'];

/**
 * The type families each category can occur in. A boolean is never an
 * identifier; an age is never a timestamp. Evidence for a category on another
 * family is ignored, so `email_verified boolean` is not an email.
 */
const categoryFamilies: Readonly<Record<Category, readonly TypeFamily[]>> = {
  name: textual,
  geography: ['text', 'integer', 'numeric', 'float', 'other', 'json', 'array'],
  date: ['date', 'timestamp', 'timestamptz', 'text', 'integer', 'other'],
  age_over_89: ['integer', 'numeric', 'float', 'text'],
  phone: [...textual, 'integer', 'numeric'],
  fax: [...textual, 'integer', 'numeric'],
  email: textual,
  ssn: identifierFamilies,
  mrn: identifierFamilies,
  health_plan_id: identifierFamilies,
  account_number: identifierFamilies,
  license_number: identifierFamilies,
  vehicle_id: identifierFamilies,
  device_id: identifierFamilies,
  url: textual,
  ip_address: textual,
  biometric: ['bytea', 'text', 'other', 'json'],
  photo: ['bytea', 'text', 'other'],
  other_unique_id: identifierFamilies,
  sex: ['text', 'integer', 'other', 'boolean'],
  gender: ['text', 'integer', 'other'],
  race: ['text', 'integer', 'other', 'array'],
  ethnicity: ['text', 'integer', 'other', 'array'],
  language: ['text', 'integer', 'other', 'array'],
  marital_status: ['text', 'integer', 'other'],
  occupation: ['text', 'integer', 'other'],
  subject_key: identifierFamilies,
  clinical: ['text', 'integer', 'numeric', 'float', 'date', 'timestamp', 'timestamptz', 'time', 'uuid', 'boolean', 'json', 'bytea', 'array', 'other'],
  free_text: ['text', 'json', 'other'],
  other: ['text', 'integer', 'numeric', 'float', 'date', 'timestamp', 'timestamptz', 'time', 'uuid', 'boolean', 'json', 'bytea', 'array', 'other'],
};

/** Evidence the column's type alone gives. */
const typeEvidence: Readonly<Partial<Record<TypeFamily, Evidence>>> = {
  date: { category: 'date', weight: 0.72, reason: 'type is date' },
  timestamp: { category: 'date', weight: 0.72, reason: 'type is timestamp' },
  timestamptz: { category: 'date', weight: 0.72, reason: 'type is timestamptz' },
  boolean: { category: 'other', weight: 0.4, reason: 'a boolean cannot identify anyone' },
  numeric: { category: 'clinical', weight: 0.3, reason: 'a number (measurement or amount)' },
  float: { category: 'clinical', weight: 0.3, reason: 'a number (measurement or amount)' },
};

/** PostgreSQL types that say what a column holds on their own. */
const typeNameEvidence: Readonly<Record<string, Evidence>> = {
  inet: { category: 'ip_address', weight: 0.9, reason: 'type is inet' },
  cidr: { category: 'ip_address', weight: 0.85, reason: 'type is cidr' },
  macaddr: { category: 'device_id', weight: 0.85, reason: 'type is macaddr' },
  macaddr8: { category: 'device_id', weight: 0.85, reason: 'type is macaddr8' },
};

/** Tables whose rows are terms, not records: a foreign key to one holds a code, not an identifier. */
const vocabularyTableWords: ReadonlySet<string> = new Set(['metadata', 'definition', 'definitions', 'concept', 'concepts', 'vocabulary', 'code', 'codes', 'lookup', 'type', 'types', 'dictionary', 'catalog', 'katalog', 'catalogue', 'catalogo', 'nomenclature', 'terminology', 'unit', 'units', 'domain', 'enum', 'ref', 'einheit', 'unite', 'unidad', 'analyte', 'analytes', 'test', 'tests']);

/** Order used to break a tie: the more protective category wins. */
const tiePreference: readonly Category[] = ['subject_key', ...categories.filter((c) => c !== 'subject_key')];

// a comment is written for people and is specific; it outweighs a generic word in the name (`ref`, `id`) but not a specific one
const commentWeight = 0.8;
const minSamples = 5;

/**
 * Decides what one column is from its evidence. Pure: the same evidence gives
 * the same answer.
 *
 * Each piece of evidence (a name rule, a comment, the type, a key, a validator
 * over the sampled values) adds weight to a category; weights of one category
 * combine as independent signals (1 − Π(1 − w)), and the strongest category
 * wins. The confidence is that combined weight.
 *
 * @example
 *   classifyColumn({ table: 'patienten', column: 'geb_datum', family: 'date', … })
 *   // { category: 'date', confidence: 0.98, reasons: ['name "geb_datum" says birth date', 'type is date'] }
 */
export function classifyColumn(evidence: ColumnEvidence): Classification {
  const found: Evidence[] = [];
  const notes: string[] = [];
  const allowed = (category: Category, families?: readonly string[]) =>
    (families ?? categoryFamilies[category]).includes(evidence.family) && categoryFamilies[category].includes(evidence.family);

  const isVocabulary = (table: string) => evidence.vocabulary?.tables.has(table) ?? isVocabularyTable(table);
  const tokens = tokenizeName(evidence.column);
  // `spec_itemid`, `reverse_relationship_id`: named after a vocabulary's key, the column holds a term code
  const vocabularyKey = evidence.subjectKey ? undefined : [...(evidence.vocabulary?.keys ?? [])].find((k) => holdsKey(evidence.column, k));
  for (const { rule } of matchNameRules(tokens)) {
    if (vocabularyKey && rule.category === 'other_unique_id') continue;
    if (allowed(rule.category, rule.families)) found.push({ category: rule.category, weight: rule.weight, reason: `name "${evidence.column}" says ${rule.what}`, kind: rule.what });
  }
  if (vocabularyKey && !evidence.primaryKey) found.push({ category: 'clinical', weight: 0.6, reason: `named after ${vocabularyKey}, the key of a vocabulary table: a term code` });
  if (evidence.comment) {
    for (const { rule, length, token } of matchNameRules(tokenizeName(evidence.comment))) {
      // prose is full of short and generic words (`at`, `no`, `number`): in a comment only a specific term counts
      if (rule.category === 'other' || rule.weight < 0.7 || (length === 1 && token.length <= 3)) continue;
      if (allowed(rule.category, rule.families)) found.push({ category: rule.category, weight: rule.weight * commentWeight, reason: `comment says ${rule.what}`, kind: rule.what });
    }
  }

  const byType = typeEvidence[evidence.family];
  if (byType) found.push(byType);
  const byTypeName = typeNameEvidence[evidence.typeName];
  if (byTypeName) found.push(byTypeName);

  if (evidence.subjectKey) {
    found.push({ category: 'subject_key', weight: evidence.subjectKey.confidence, reason: evidence.subjectKey.reason });
  } else if (evidence.references) {
    if (isVocabulary(evidence.references.table)) {
      found.push({ category: 'clinical', weight: 0.5, reason: `foreign key to vocabulary table ${evidence.references.table}` });
    } else if (allowed('other_unique_id')) {
      found.push({ category: 'other_unique_id', weight: 0.75, reason: `foreign key to ${evidence.references.table}.${evidence.references.column}` });
    }
  } else if (evidence.primaryKey && allowed('other_unique_id')) {
    found.push({ category: 'other_unique_id', weight: 0.75, reason: 'primary key of its table' });
  }

  const samples = (evidence.samples ?? []).filter((v) => v.trim().length > 0);
  if (samples.length >= minSamples) {
    const distinct = countDistinct(samples);
    for (const rule of valueRules) {
      if (!allowed(rule.category, rule.families)) continue;
      const share = shareAtLeast(distinct, samples.length, rule.test, rule.minShare);
      if (share < rule.minShare) continue;
      if (share >= rule.minShare) {
        found.push({ category: rule.category, weight: rule.weight * (0.85 + 0.15 * share), reason: `${percent(share)} of ${samples.length} sampled values are ${rule.what}`, kind: rule.what });
      }
    }
    const unique = uniqueCodeEvidence(samples);
    if (unique && allowed('other_unique_id') && !vocabularyKey) found.push(unique);
    contradictions(found, samples, notes);
    valueContradictions(found, samples, tokens, evidence.family, notes);
    identifyingMentions(found, samples, evidence.family);
    if (found.some((e) => e.category === 'free_text')) {
      // for the reviewer, not the decision: 200 notes are plenty
      const notesSample = samples.slice(0, 200);
      const withDates = shareOf(notesSample, containsDate);
      const withNames = shareOf(notesSample, (v) => v.split(/[\s,.;:]+/).some((w) => w.length > 2 && /^[A-ZÀ-Þ]/.test(w) && isPersonName(w)));
      if (withDates > 0) notes.push(`${percent(withDates)} of sampled notes contain dates`);
      if (withNames > 0) notes.push(`${percent(withNames)} of sampled notes contain person names`);
    }
    if (found.some((e) => e.category === 'age_over_89')) {
      const over = shareOf(samples, (v) => Number(v) > 89 && Number(v) <= 130);
      if (over > 0) notes.push(`${percent(over)} of sampled ages are over 89`);
    }
  } else if (evidence.samples === null) {
    notes.push('table not sampled (no SELECT privilege): names, types and keys only');
  } else if (evidence.samples.length === 0) {
    notes.push('no values sampled (empty table or all NULL)');
  }

  // a vocabulary table (OMOP `concept`, a code list) describes terms, never a person
  if (isVocabulary(evidence.table)) {
    const kept = found.filter((e) => !isIdentifying(e.category)).map((e) => (e.reason === 'primary key of its table' ? { ...e, category: 'clinical' as const } : e));
    const byKey = found.find((e) => e.reason === 'primary key of its table');
    if (byKey) kept.push({ category: 'clinical', weight: byKey.weight, reason: 'primary key of a vocabulary table (a term code)' });
    return decide(kept, [...notes, `${evidence.table} is a vocabulary table: not about a person`], evidence);
  }
  return decide(found, notes, evidence);
}

/**
 * A table of terms (`concept`, `concept_relationship`, `lab_test_codes`, `units`, MIMIC's `d_items`) or of data
 * about the data set (`metadata`, `cohort_definition`): its rows are not people.
 */
export function isVocabularyTable(table: string): boolean {
  const words = tokenizeName(table);
  if (words.length === 0) return false;
  if (vocabularyTableWords.has(words[words.length - 1]!)) return true;
  // a term table named after its vocabulary (`concept_ancestor`, `source_to_concept_map`), or a `d_` dictionary
  // (`d` is a connecting word for the tokenizer: the prefix is read from the raw name)
  return words.some((w) => w === 'concept' || w === 'vocabulary') || /^d_[a-z]/i.test(table);
}

/**
 * The vocabulary tables of a scan: those named as such (isVocabularyTable), and the tables they reference
 * (OMOP `concept_relationship` → `relationship`, `concept` → `domain`), which hold terms too; with the names
 * of their one-column keys.
 */
export function vocabularyTablesOf(tables: readonly CatalogTable[]): VocabularyTables {
  const names = new Set(tables.filter((t) => isVocabularyTable(t.name)).map((t) => t.name));
  for (const t of tables) {
    if (!names.has(t.name)) continue;
    for (const fk of t.foreignKeys) if (tables.some((r) => r.name === fk.refTable)) names.add(fk.refTable);
  }
  const keys = new Set<string>();
  for (const t of tables) if (names.has(t.name) && t.primaryKey?.length === 1) keys.add(t.primaryKey[0]!);
  return { tables: names, keys };
}

function holdsKey(column: string, key: string): boolean {
  if (column === key || column.endsWith(`_${key}`)) return true;
  // glued (`spec_itemid`): only for a key long enough not to occur inside other words by chance
  return key.length >= 6 && column.endsWith(key);
}

function decide(found: readonly Evidence[], notes: readonly string[], evidence: ColumnEvidence): Classification {
  const scores = new Map<Category, number>();
  for (const e of found) scores.set(e.category, 1 - (1 - (scores.get(e.category) ?? 0)) * (1 - e.weight));
  let best: Category | null = null;
  let bestScore = 0;
  for (const category of tiePreference) {
    const score = scores.get(category) ?? 0;
    if (score > bestScore + 1e-9) {
      best = category;
      bestScore = score;
    }
  }
  if (best === null) {
    const fallback: Category = ['integer', 'numeric', 'float'].includes(evidence.family) ? 'clinical' : 'other';
    return { category: fallback, confidence: 0.3, reasons: ['no name, type, key or value evidence', ...notes], kinds: [] };
  }
  const winner = best;
  const reasons = found
    .filter((e) => e.category === winner)
    .sort((a, b) => b.weight - a.weight)
    .map((e) => e.reason);
  const runnerUp = [...scores.entries()].filter(([c]) => c !== winner).sort((a, b) => b[1] - a[1])[0];
  const alsoIdentifying = runnerUp && isIdentifying(runnerUp[0]) && runnerUp[1] >= 0.5 ? [`also looks like ${runnerUp[0]} (${runnerUp[1].toFixed(2)})`] : [];
  const kinds = [...new Set(found.filter((e) => e.category === winner && e.kind !== undefined).map((e) => e.kind!))];
  return { category: winner, confidence: Math.round(bestScore * 100) / 100, reasons: [...new Set([...reasons, ...notes, ...alsoIdentifying])], kinds };
}

interface NameMatch {
  readonly rule: NameRule;
  readonly start: number;
  readonly length: number;
  /** the first token matched, to tell short words apart */
  readonly token: string;
}

/**
 * Every rule whose word sequence occurs in the tokens, minus the matches that
 * lie inside a longer match of another category (`email address` beats
 * `address`), minus rules vetoed by their `unless` words. One match per rule.
 */
export function matchNameRules(tokens: readonly string[]): NameMatch[] {
  const matches: NameMatch[] = [];
  for (const { rule, sequences } of compiledRules) {
    if (rule.unless && tokens.some((t) => rule.unless!.some((u) => wordMatches(u, t)))) continue;
    let best: NameMatch | null = null;
    for (const words of sequences) {
      const m = findSequence(tokens, words);
      if (m && (!best || m.length > best.length)) best = { rule, start: m.start, length: m.length, token: tokens[m.start]! };
    }
    if (best) matches.push(best);
  }
  return matches.filter(
    (m) =>
      !matches.some(
        (o) => o.rule.category !== m.rule.category && o.length > m.length && o.start <= m.start && o.start + o.length >= m.start + m.length,
      ),
  );
}

/** The rules with their word sequences split once (a scan matches every column name against all of them). */
const compiledRules = nameRules.map((rule) => ({ rule, sequences: rule.words.map((w) => w.split(' ')) }));

/** Finds `words` as consecutive tokens, or all of them glued into one token (`first name` in `firstname`). */
function findSequence(tokens: readonly string[], words: readonly string[]): { start: number; length: number } | null {
  for (let i = 0; i + words.length <= tokens.length; i++) {
    if (words.every((w, j) => wordMatches(w, tokens[i + j]!))) return { start: i, length: words.length };
  }
  if (words.length > 1) {
    const glued = words.join('');
    const i = tokens.indexOf(glued);
    if (i >= 0) return { start: i, length: 1 };
  }
  return null;
}

function wordMatches(word: string, token: string): boolean {
  if (word.startsWith('*')) return token.length > word.length && token.endsWith(word.slice(1));
  if (word.endsWith('*')) return token.length > word.length && token.startsWith(word.slice(0, -1));
  return word === token;
}

function countDistinct(samples: readonly string[]): ReadonlyMap<string, number> {
  const counts = new Map<string, number>();
  for (const s of samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  return counts;
}

/**
 * The share of samples passing `test`. Each distinct value is checked once, at
 * most `maxChecked` rows' worth are looked at (a share is known well enough from
 * a few hundred), and the check stops early once `min` is out of reach: most
 * validators fail most columns, and a scan runs them on every column.
 */
function shareAtLeast(distinct: ReadonlyMap<string, number>, total: number, test: (v: string) => boolean, min: number): number {
  let passed = 0;
  let checked = 0;
  for (const [value, count] of distinct) {
    if (test(value)) passed += count;
    checked += count;
    if (checked >= 50 && passed / checked < min / 2) return 0;
    if (checked >= maxChecked) break;
  }
  return checked === 0 ? 0 : passed / checked;
}

const maxChecked = 300;

function shareOf(samples: readonly string[], test: (v: string) => boolean): number {
  let n = 0;
  for (const s of samples) if (test(s)) n++;
  return n / samples.length;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** Nearly every value distinct and shaped like a code (letters and digits, no spaces): an identifier nobody named. */
function uniqueCodeEvidence(samples: readonly string[]): Evidence | null {
  if (samples.length < 30) return null;
  const distinct = new Set(samples).size / samples.length;
  const codeLike = shareOf(samples, (v) => /^[A-Za-z0-9][A-Za-z0-9._/:-]{4,40}$/.test(v) && /\d/.test(v) && /[A-Za-z]/.test(v));
  if (distinct < 0.95 || codeLike < 0.9) return null;
  return { category: 'other_unique_id', weight: 0.62, reason: `${percent(distinct)} of ${samples.length} sampled values are distinct code-like strings` };
}

/**
 * A name can lie: `phone_type` is not a phone, `ssn_last_changed` is not an SSN.
 * When a category with a validator is claimed only by the name and most sampled
 * values fail the validator, its name evidence is weakened.
 */
function contradictions(found: Evidence[], samples: readonly string[], notes: string[]): void {
  for (const [category, test] of Object.entries(categoryValidators) as [Category, (v: string) => boolean][]) {
    const claims = found.filter((e) => e.category === category);
    if (claims.length === 0 || claims.some((e) => e.reason.includes('sampled values'))) continue;
    const share = shareOf(samples, test);
    if (share >= 0.2) continue;
    for (const claim of claims) found.splice(found.indexOf(claim), 1, { ...claim, weight: claim.weight * 0.6 });
    notes.push(`only ${percent(share)} of sampled values look like ${category}`);
  }
}

const numberWords: ReadonlySet<string> = new Set(['number', 'num', 'no', 'nr', 'nummer', 'numero']);

/**
 * Name evidence the sampled values disprove, for names that are often wrong on their own:
 * - `ab_name`, `cohort_definition_name`: "a name", but the values are not people's names;
 * - `reason_for_no_barcode`, `isolate_num`: "a number", but the values are words, or a handful of small counts;
 * - telephone numbers that are all digits of one length (`00002123401`…): a fixed-length code such as an NDC.
 */
function valueContradictions(found: Evidence[], samples: readonly string[], tokens: readonly string[], family: TypeFamily, notes: string[]): void {
  const drop = (test: (e: Evidence) => boolean, note: string) => {
    const before = found.length;
    for (let i = found.length - 1; i >= 0; i--) if (test(found[i]!)) found.splice(i, 1);
    if (found.length < before) notes.push(note);
  };
  const named = (e: Evidence) => e.reason.startsWith('name ');
  if (found.some((e) => e.kind === 'a name' && named(e))) {
    const people = shareOf(samples, isPersonName);
    if (people < 0.2) drop((e) => e.kind === 'a name' && named(e), `only ${percent(people)} of sampled values are person names`);
  }
  if (found.some((e) => e.category === 'other_unique_id' && named(e))) {
    const words = shareOf(samples, (v) => /^\p{L}+([\s,'’-]+\p{L}+)+[.!?]?$/u.test(v.trim()));
    if (words >= 0.6) drop((e) => e.category === 'other_unique_id' && named(e), `${percent(words)} of sampled values are words, not numbers`);
    else if (tokens.some((t) => numberWords.has(t)) && !tokens.includes('id') && family === 'integer') {
      const distinct = new Set(samples);
      if (distinct.size <= 20 && [...distinct].every((v) => Number(v) >= 0 && Number(v) <= 100)) {
        drop((e) => e.category === 'other_unique_id' && named(e), `only ${distinct.size} distinct small numbers in the sample: an ordinal or count, not an identifier`);
      }
    }
  }
  if (found.some((e) => e.category === 'free_text' && named(e))) {
    const labels = shareOf(samples, (v) => v.length <= 30 && v.trim().split(/\s+/).length <= 3);
    if (labels >= 0.8) drop((e) => e.category === 'free_text' && named(e), `${percent(labels)} of sampled values are short labels, not notes`);
  }
  if (found.some((e) => e.category === 'phone' && !named(e))) {
    const lengths = new Set(samples.map((v) => v.trim().length));
    if (lengths.size === 1 && samples.every((v) => /^\d+$/.test(v.trim()))) drop((e) => e.category === 'phone' && !named(e), 'every sampled value is digits of one length: a fixed-length code, not a telephone number');
  }
}

/**
 * Text that mentions people or dates (`Lives with daughter Maria Smith`, `quit 03/14/2019`, a note fragment) is
 * not safe to keep whatever the column is called: when at least 10% of the sampled values of a text column that
 * nothing else calls identifying do, the column is free text.
 */
function identifyingMentions(found: Evidence[], samples: readonly string[], family: TypeFamily): void {
  if (family !== 'text' || found.some((e) => isIdentifying(e.category))) return;
  const names = shareOf(samples, mentionsPersonName);
  const dates = shareOf(samples, (v) => containsDate(v) && !isDateText(v));
  const share = Math.max(names, dates);
  if (share < 0.1) return;
  const what = names >= dates ? 'mention person names' : 'contain dates';
  found.push({ category: 'free_text', weight: 0.7 + 0.25 * Math.min(1, share), reason: `${percent(share)} of ${samples.length} sampled values ${what}`, kind: 'identifying mentions' });
}
