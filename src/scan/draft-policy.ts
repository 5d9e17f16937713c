import { Document, isMap, isPair, isScalar, isSeq, parseDocument, YAMLMap, type Node, type Pair } from 'yaml';
import type { CatalogColumn, CatalogTable } from '../catalog/catalog-snapshot.ts';
import { usageError } from '../errors.ts';
import { registry as builtinRegistry, type TransformRegistry } from '../transforms/registry.ts';
import { categories, isIdentifying, isQuasiIdentifier, type Category } from './category.ts';
import type { ColumnScan, ScanResult, TableScan } from './scan-database.ts';
import { tokenizeName } from './tokenize-name.ts';

export type Preset = 'hipaa-safe-harbor';
export const presets: readonly Preset[] = ['hipaa-safe-harbor'];

/** A policy rule as YAML data: a transform name, or `{ transform: { params } }`. */
export type RuleValue = string | Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export interface DraftOptions {
  readonly preset: Preset | null;
  /** the text of an existing policy: its reviewed rules are kept and only new columns are added */
  readonly existing?: string | null;
  readonly registry?: TransformRegistry;
}

export interface DraftedRule {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly rule: RuleValue;
  /** true when an existing reviewed rule was kept instead of the draft */
  readonly reviewed: boolean;
}

export interface DraftPolicy {
  /** the policy YAML (one document per scanned schema, separated by `---`) */
  readonly yaml: string;
  readonly rules: readonly DraftedRule[];
}

/**
 * How the scan recognises its own, unreviewed rules: the comment on the rule's
 * line starts with `<category>, confidence <n>`. Any other comment, no comment,
 * or a comment that contains the word `reviewed` marks a rule as reviewed: a
 * re-scan keeps it exactly as written.
 */
export const draftMarker = new RegExp(`^\\s*(${categories.join('|')}), confidence [0-9.]+`);

export function isReviewedComment(comment: string | null | undefined): boolean {
  if (!comment) return true;
  return !draftMarker.test(comment) || /\breviewed\b/i.test(comment);
}

const header = [
  ' Draft policy written by `pgmask scan`. Review every rule before use.',
  ' A rule whose comment starts with "<category>, confidence <n>" is a draft: the next scan rewrites it.',
  ' To keep a rule as it is, add the word "reviewed" to its comment (or delete the comment).',
].join('\n');

/**
 * Turns a scan into a version 1 policy: one rule per column, each with a
 * comment giving the category, the confidence and the reasons. With
 * `hipaa-safe-harbor` the rules follow Safe Harbor; without a preset
 * identifying columns are pseudonymized or redacted and the rest kept. Every
 * rule names a transform the registry has for the column's type family (else
 * `redact`), and a column believed identifying is never given `keep`.
 *
 * @example
 *   draftPolicy(scan, { preset: 'hipaa-safe-harbor' }).yaml
 *   // tables:
 *   //   patients:
 *   //     columns:
 *   //       first_name: { fake: { kind: first_name } } # name, confidence 0.97: name "first_name" says person name; …
 */
export function draftPolicy(scan: ScanResult, options: DraftOptions): DraftPolicy {
  const registry = options.registry ?? builtinRegistry;
  const plv8 = scan.snapshot.availableExtensions.includes('plv8');
  const existing = options.existing ? parseExisting(options.existing) : null;
  const existingSchema = existing ? String((existing.get('source_schema') as unknown) ?? 'public') : null;
  const rules: DraftedRule[] = [];
  const docs: string[] = [];
  for (const schema of scan.schemas) {
    const tables = scan.tables.filter((t) => t.schema === schema);
    const reuse = existing && (existingSchema === schema || (!scan.schemas.includes(existingSchema!) && schema === scan.schemas[0])) ? existing : null;
    const doc = reuse ?? freshDocument(schema, scan);
    for (const table of tables) addTable(doc, table, scan, options.preset, registry, plv8, rules);
    if (reuse) dropStaleDrafts(doc, tables);
    docs.push(doc.toString({ lineWidth: 0 }));
  }
  return { yaml: docs.join('---\n'), rules };
}

/** Parses an existing policy to merge into; throws a usage error when it is not a YAML mapping (call it before a long scan). */
export function parseExisting(text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) {
    throw usageError('EXISTING_POLICY_INVALID', `the existing policy is not a YAML mapping: ${doc.errors[0]?.message ?? 'unexpected content'}`, 'fix or move the existing policy file, or write the draft with --out to a new file');
  }
  return doc;
}

function freshDocument(schema: string, scan: ScanResult): Document {
  const doc = new Document({
    version: 1,
    source_schema: schema,
    masked_schema: 'masked',
    runtime: 'auto',
    unlisted_columns: 'error',
    ...(scan.subject.defaultColumn && scan.subject.subjectTable?.schema === schema ? { subject: scan.subject.defaultColumn } : {}),
    keys: ['default'],
    roles: { analyst: { members: [] } },
    tables: {},
  });
  doc.commentBefore = header;
  const root = doc.contents as YAMLMap;
  for (const path of [['keys'], ['roles', 'analyst', 'members']]) {
    const node = root.getIn(path, true);
    if (isSeq(node)) node.flow = true;
  }
  return doc;
}

function addTable(doc: Document, table: TableScan, scan: ScanResult, preset: Preset | null, registry: TransformRegistry, plv8: boolean, out: DraftedRule[]): void {
  const foundTables = doc.get('tables', true) as unknown;
  const tablesMap: YAMLMap = isMap(foundTables) ? foundTables : new YAMLMap();
  if (!isMap(foundTables)) doc.set('tables', tablesMap);
  let tablePair = findPair(tablesMap, table.name);
  const isNew = !tablePair;
  if (!tablePair) {
    const body = new YAMLMap();
    tablesMap.items.push(doc.createPair(table.name, body) as Pair);
    tablePair = findPair(tablesMap, table.name)!;
  }
  // `patients:` written with nothing under it parses as null: give it a body
  if (!isMap(tablePair.value)) tablePair.value = new YAMLMap();
  const body = tablePair.value as YAMLMap;
  const defaultSubject = (doc.get('subject') as string | undefined) ?? null;
  if (table.subjectColumn && table.subjectColumn !== defaultSubject && !body.has('subject')) body.set('subject', table.subjectColumn);
  const subjectColumn = (body.get('subject') as string | undefined) ?? (table.columns.some((c) => c.name === defaultSubject) ? defaultSubject : null);

  const found = body.get('columns', true) as unknown;
  const columnsMap: YAMLMap = isMap(found) ? found : new YAMLMap();
  if (!isMap(found)) body.set('columns', columnsMap);
  const catalogTable = scan.snapshot.tables.find((t) => t.schema === table.schema && t.name === table.name)!;

  for (const column of table.columns) {
    const existing = findPair(columnsMap, column.name);
    if (existing && isReviewedComment(commentOf(existing))) {
      out.push({ schema: table.schema, table: table.name, column: column.name, rule: existing.value ? (existing.value as Node).toJSON() : 'redact', reviewed: true });
      continue;
    }
    const catalogColumn = catalogTable.columns.find((c) => c.name === column.name)!;
    const { rule, note } = chooseRule(column, catalogColumn, catalogTable, subjectColumn, preset, registry, plv8);
    const node = doc.createNode(rule, { flow: true }) as Node;
    const c = column.classification;
    node.comment = oneLine(` ${c.category}, confidence ${c.confidence.toFixed(2)}: ${[...c.reasons, ...(note ? [note] : [])].join('; ')}`);
    if (existing) existing.value = node;
    else columnsMap.items.push(doc.createPair(column.name, node) as Pair);
    out.push({ schema: table.schema, table: table.name, column: column.name, rule, reviewed: false });
  }

  // the policy format has no place for these yet: they travel as comments for the reviewer
  const keyNode = tablePair.key as Node;
  const previous = keyNode.commentBefore ?? '';
  if (isNew || previous.startsWith(' quasi_identifiers:') || previous.startsWith(' sensitive:')) {
    const quasi = table.columns.filter((c) => isQuasiIdentifier(c.classification.category)).map((c) => c.name);
    const sensitive = table.columns.filter((c) => ['clinical', 'free_text'].includes(c.classification.category)).map((c) => c.name);
    const lines = [
      ...(quasi.length > 0 ? [oneLine(` quasi_identifiers: [${quasi.join(', ')}]`)] : []),
      ...(sensitive.length > 0 ? [oneLine(` sensitive: [${sensitive.join(', ')}]`)] : []),
    ];
    keyNode.commentBefore = lines.length > 0 ? lines.join('\n') : undefined;
  }
}

/** Removes draft rules (never reviewed ones) for columns and tables the scan no longer sees. */
function dropStaleDrafts(doc: Document, tables: readonly TableScan[]): void {
  const tablesMap = doc.get('tables', true);
  if (!isMap(tablesMap)) return;
  for (const tablePair of [...tablesMap.items]) {
    const name = String(isScalar(tablePair.key) ? tablePair.key.value : tablePair.key);
    const scanned = tables.find((t) => t.name === name);
    const columns = isMap(tablePair.value) ? tablePair.value.get('columns', true) : null;
    if (!isMap(columns)) continue;
    columns.items = columns.items.filter((p) => {
      const col = String(isScalar(p.key) ? p.key.value : p.key);
      return isReviewedComment(commentOf(p)) || (scanned?.columns.some((c) => c.name === col) ?? false);
    });
    // a dropped table whose rules were all drafts leaves nothing a human wrote: remove it
    if (!scanned && columns.items.length === 0) tablesMap.items.splice(tablesMap.items.indexOf(tablePair), 1);
  }
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isPair(p) && String(isScalar(p.key) ? p.key.value : p.key) === key) as Pair | undefined;
}

/** The comment on a rule's line (the yaml package keeps it on the value node, or on the key when the value is empty). */
function commentOf(pair: Pair): string | null {
  const value = pair.value as Node | null;
  return value?.comment ?? (pair.key as Node | null)?.comment ?? null;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

interface Candidate {
  readonly transform: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** what the reviewer should know when this candidate is chosen */
  readonly note?: string;
}

const birthDateNote = 'review: age moves only the birth dates of people over 89; Safe Harbor also removes the month and day of the others';

/** The person-name part a name column holds, for `fake`. */
const namePartWords: readonly (readonly [kind: string, words: readonly string[]])[] = [
  ['first_name', ['first', 'fname', 'given', 'forename', 'vorname', 'rufname', 'prenom', 'prenoms', 'nombre', 'firstname', 'middle', 'mname']],
  ['last_name', ['last', 'lname', 'family', 'surname', 'nachname', 'familienname', 'geburtsname', 'nom', 'apellido', 'apellidos', 'lastname', 'maiden', 'cognome']],
];

function nameKind(column: string): string {
  const tokens = tokenizeName(column);
  for (const [kind, words] of namePartWords) if (tokens.some((t) => words.includes(t))) return kind;
  return 'full_name';
}

const cityWords: ReadonlySet<string> = new Set(['city', 'town', 'ort', 'wohnort', 'stadt', 'ville', 'ciudad', 'localidad', 'poblacion', 'municipio', 'commune', 'gemeinde']);
const dateFamilies: ReadonlySet<string> = new Set(['date', 'timestamp', 'timestamptz']);

/** Whether a name or value rule with this `what` (see name-rules.ts, value-validators.ts) supports the column's category. */
function has(column: ColumnScan, what: string): boolean {
  return column.classification.kinds.includes(what);
}

/** Safe Harbor: what each category becomes, most useful transform first. */
function safeHarborCandidates(column: ColumnScan): readonly Candidate[] {
  const category = column.classification.category;
  switch (category) {
    case 'name':
      return [{ transform: 'fake', params: { kind: nameKind(column.name) } }, { transform: 'redact' }];
    case 'geography':
      if (has(column, 'postal code') || has(column, 'ZIP/postcodes')) return [{ transform: 'zip3' }, { transform: 'redact' }];
      if (has(column, 'street address')) return [{ transform: 'fake', params: { kind: 'street_address' } }, { transform: 'redact' }];
      if (tokenizeName(column.name).some((t) => cityWords.has(t))) return [{ transform: 'fake', params: { kind: 'city' } }, { transform: 'redact' }];
      return [{ transform: 'redact' }];
    case 'date':
      // a date kept as text or as separate day/month numbers cannot be shifted: it is removed
      if (!dateFamilies.has(column.family)) return [{ transform: 'redact' }];
      if (has(column, 'birth date')) return [{ transform: 'age', params: { year_only: true } }, { transform: 'age', note: birthDateNote }, { transform: 'shift_date', params: { max_days: 30 } }, { transform: 'generalize_date', params: { to: 'year' } }, { transform: 'redact' }];
      return [{ transform: 'shift_date', params: { max_days: 30 } }, { transform: 'generalize_date', params: { to: 'year' } }, { transform: 'redact' }];
    case 'age_over_89':
      // a birth year is not an age: capping it at 90 would be wrong, so it is removed for review
      if (has(column, 'birth year (reveals ages over 89)')) return [{ transform: 'redact' }];
      return [{ transform: 'age' }, { transform: 'redact' }];
    case 'photo':
    case 'biometric':
    case 'free_text':
      return [{ transform: 'redact' }];
    default:
      if (isIdentifying(category)) return [{ transform: 'pseudonymize' }, { transform: 'redact' }];
      return [{ transform: 'keep' }];
  }
}

function plainCandidates(column: ColumnScan): readonly Candidate[] {
  const category = column.classification.category;
  if (category === 'free_text' || category === 'photo' || category === 'biometric') return [{ transform: 'redact' }];
  if (isIdentifying(category)) return [{ transform: 'pseudonymize' }, { transform: 'redact' }];
  return [{ transform: 'keep' }];
}

function chooseRule(
  column: ColumnScan,
  catalogColumn: CatalogColumn,
  table: CatalogTable,
  subjectColumn: string | null,
  preset: Preset | null,
  registry: TransformRegistry,
  plv8: boolean,
): { rule: RuleValue; note: string | null } {
  const candidates = preset === 'hipaa-safe-harbor' ? safeHarborCandidates(column) : plainCandidates(column);
  const refused: string[] = [];
  for (const candidate of candidates) {
    if (candidate.transform === 'keep' && isIdentifying(column.classification.category)) continue;
    const why = unusable(candidate, catalogColumn, table, subjectColumn, registry, plv8);
    if (why === null) {
      const params = candidate.params ?? {};
      const rule: RuleValue = Object.keys(params).length === 0 ? candidate.transform : { [candidate.transform]: params };
      const notes = [...(refused.length > 0 ? [`not ${refused.join(', not ')}`] : []), ...(candidate.note ? [candidate.note] : [])];
      return { rule, note: notes.length > 0 ? notes.join('; ') : null };
    }
    refused.push(`${candidate.transform} (${why})`);
  }
  return { rule: 'redact', note: refused.length > 0 ? `not ${refused.join(', not ')}` : null };
}

/** Why a transform cannot mask this column, or null when it can. */
function unusable(candidate: Candidate, column: CatalogColumn, table: CatalogTable, subjectColumn: string | null, registry: TransformRegistry, plv8: boolean): string | null {
  const def = registry.get(candidate.transform);
  if (!def) return 'not available in this pgmask';
  if (!def.types.includes(column.family)) return `does not take ${column.family} columns`;
  if (!def.runtimes.includes('sql') && !plv8) return 'needs PLV8, which this server lacks';
  const parsed = def.params.safeParse(candidate.params ?? {});
  if (!parsed.success) return 'parameters not accepted';
  const problems = def.check?.({ column, table, params: parsed.data, subjectColumn, runtime: 'sql' }) ?? [];
  return problems.length > 0 ? problems[0]!.message : null;
}
