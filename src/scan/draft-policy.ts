import { Document, isMap, isPair, isScalar, isSeq, parseDocument, YAMLMap, type Node, type Pair } from 'yaml';
import type { CatalogColumn, CatalogTable } from '../catalog/catalog-snapshot.ts';
import { usageError } from '../errors.ts';
import { registry as builtinRegistry, type TransformRegistry } from '../transforms/registry.ts';
import { categories, isIdentifying, isQuasiIdentifier } from './category.ts';
import type { ColumnScan, ScanResult, TableScan } from './scan-database.ts';
import { hasNoEvidence, presetCandidates, presetSummary, type Candidate, type Preset } from './presets.ts';
import { constantOutputWarning } from './constant-output.ts';

export { presets, type Preset } from './presets.ts';

import type { RuleValue } from './rule-value.ts';
export type { RuleValue } from './rule-value.ts';

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
  /** set when the rule's output would be constant or nearly so on the sampled values */
  readonly warning?: string;
}

export interface DraftPolicy {
  /** the policy YAML: one document; several scanned schemas are written as `schemas:` entries */
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
  const rules: DraftedRule[] = [];
  if (scan.schemas.length > 1) return draftSchemas(scan, options, existing, rules, registry, plv8);
  const schema = scan.schemas[0]!;
  const doc = existing ?? freshDocument(schema, scan);
  const tables = scan.tables.filter((t) => t.schema === schema);
  for (const table of tables) addTable(doc, doc.contents as YAMLMap, table, scan, options.preset, registry, plv8, rules);
  if (existing) dropStaleDrafts(doc.contents as YAMLMap, tables);
  else doc.commentBefore = headerFor(options.preset, tables, rules);
  return { yaml: doc.toString({ lineWidth: 0 }), rules };
}

/**
 * Several scanned schemas: one policy with a `schemas:` entry per source schema,
 * each masked into `<schema>_masked`. An existing policy in this form is merged
 * entry by entry; an existing one-schema policy becomes the entry of its source schema.
 */
function draftSchemas(scan: ScanResult, options: DraftOptions, existing: Document | null, rules: DraftedRule[], registry: TransformRegistry, plv8: boolean): DraftPolicy {
  const reuse = existing && isMap(existing.get('schemas', true)) ? existing : null;
  const doc = reuse ?? freshDocument(null, scan);
  const schemasMap = doc.get('schemas', true) as YAMLMap;
  if (existing && !reuse) {
    // a one-schema policy: its tables (and reviewed rules) move under its source schema
    const source = String((existing.get('source_schema') as unknown) ?? 'public');
    const masked = String((existing.get('masked_schema') as unknown) ?? 'masked');
    schemasMap.items.push(doc.createPair(source, doc.createNode({ masked_schema: masked })) as Pair);
    (findPair(schemasMap, source)!.value as YAMLMap).set('tables', existing.get('tables', true) ?? new YAMLMap());
  }
  for (const schema of scan.schemas) {
    let pair = findPair(schemasMap, schema);
    const isNew = !pair;
    if (!pair) {
      schemasMap.items.push(doc.createPair(schema, doc.createNode({ masked_schema: `${schema}_masked`, tables: {} })) as Pair);
      pair = findPair(schemasMap, schema)!;
    }
    const section = pair.value as YAMLMap;
    const tables = scan.tables.filter((t) => t.schema === schema);
    for (const table of tables) addTable(doc, section, table, scan, options.preset, registry, plv8, rules);
    if (!isNew) dropStaleDrafts(section, tables);
  }
  if (!reuse) doc.commentBefore = headerFor(options.preset, scan.tables, rules);
  return { yaml: doc.toString({ lineWidth: 0 }), rules };
}

/**
 * The draft's header: what the preset claims, the columns the scan found no evidence for at all (kept or
 * masked, a person must look at them), and rules whose output would be (nearly) constant on the sample.
 */
function headerFor(preset: Preset | null, tables: readonly TableScan[], drafted: readonly DraftedRule[]): string {
  const lines = [header, preset ? ` Preset ${preset}: ${presetSummary[preset]}` : ' No preset: identifiers pseudonymized or removed, dates shifted per subject; no standard is claimed.'];
  const unknown = tables.flatMap((t) => t.columns.filter(hasNoEvidence).map((c) => `${t.name}.${c.name}`));
  if (unknown.length > 0) lines.push(oneLine(` Review: no name, type, key or value evidence for ${unknown.length} column(s): ${unknown.join(', ')}`));
  for (const rule of drafted) if (rule.warning) lines.push(oneLine(` Warning: ${rule.table}.${rule.column}: ${rule.warning}`));
  return lines.join('\n');
}

/** Parses an existing policy to merge into; throws a usage error when it is not a YAML mapping (call it before a long scan). */
export function parseExisting(text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) {
    throw usageError('EXISTING_POLICY_INVALID', `the existing policy is not a YAML mapping: ${doc.errors[0]?.message ?? 'unexpected content'}`, 'fix or move the existing policy file, or write the draft with --out to a new file');
  }
  return doc;
}

/** A new draft: for one source schema (`schema`), or with an empty `schemas:` map (null). */
function freshDocument(schema: string | null, scan: ScanResult): Document {
  const doc = new Document({
    version: 1,
    ...(schema === null ? {} : { source_schema: schema, masked_schema: 'masked' }),
    runtime: 'auto',
    unlisted_columns: 'error',
    ...(scan.subject.defaultColumn && (schema === null || scan.subject.subjectTable?.schema === schema) ? { subject: scan.subject.defaultColumn } : {}),
    keys: ['default'],
    roles: { analyst: { members: [] } },
    ...(schema === null ? { schemas: {} } : { tables: {} }),
  });
  const root = doc.contents as YAMLMap;
  for (const path of [['keys'], ['roles', 'analyst', 'members']]) {
    const node = root.getIn(path, true);
    if (isSeq(node)) node.flow = true;
  }
  return doc;
}

/** Drafts one table's rules into `container` (the document root, or a `schemas:` entry: the map that holds `tables`). */
function addTable(doc: Document, container: YAMLMap, table: TableScan, scan: ScanResult, preset: Preset | null, registry: TransformRegistry, plv8: boolean, out: DraftedRule[]): void {
  const foundTables = container.get('tables', true) as unknown;
  const tablesMap: YAMLMap = isMap(foundTables) ? foundTables : new YAMLMap();
  if (!isMap(foundTables)) container.set('tables', tablesMap);
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
  const via = subjectViaDraft(scan.snapshot.tables.find((t) => t.schema === table.schema && t.name === table.name), subjectColumn);
  if (via && !body.has('subject_via')) {
    const value = doc.createNode(via);
    value.comment = ' drafted: a consent filter on the subject reaches this table through its subject column only; review';
    body.set('subject_via', value);
  }

  const found = body.get('columns', true) as unknown;
  const columnsMap: YAMLMap = isMap(found) ? found : new YAMLMap();
  if (!isMap(found)) body.set('columns', columnsMap);
  const catalogTable = scan.snapshot.tables.find((t) => t.schema === table.schema && t.name === table.name)!;

  for (const column of table.columns) {
    const existing = findPair(columnsMap, column.name);
    if (existing && isReviewedComment(commentOf(existing))) {
      const kept: RuleValue = existing.value ? (existing.value as Node).toJSON() : 'redact';
      const warning = constantOutputWarning(kept, column);
      out.push({ schema: table.schema, table: table.name, column: column.name, rule: kept, reviewed: true, ...(warning ? { warning } : {}) });
      continue;
    }
    const catalogColumn = catalogTable.columns.find((c) => c.name === column.name)!;
    const { rule, note } = chooseRule(column, catalogColumn, catalogTable, subjectColumn, preset, registry, plv8);
    const node = doc.createNode(rule, { flow: true }) as Node;
    const c = column.classification;
    node.comment = oneLine(` ${c.category}, confidence ${c.confidence.toFixed(2)}: ${[...c.reasons, ...(note ? [note] : [])].join('; ')}`);
    if (existing) existing.value = node;
    else columnsMap.items.push(doc.createPair(column.name, node) as Pair);
    const warning = constantOutputWarning(rule, column);
    if (warning) node.comment = oneLine(`${node.comment}; WARNING: ${warning}`);
    out.push({ schema: table.schema, table: table.name, column: column.name, rule, reviewed: false, ...(warning ? { warning } : {}) });
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

/**
 * Two foreign keys into one table (`patient_id`, `donor_patient_id`) make the
 * consent route ambiguous, and the plan refuses until the policy decides; when one
 * of them is the subject column, that is the likely decision, drafted for review.
 */
function subjectViaDraft(table: CatalogTable | undefined, subjectColumn: string | null): string | null {
  if (!table || subjectColumn === null) return null;
  const byTarget = new Map<string, string[][]>();
  for (const fk of table.foreignKeys) {
    const k = JSON.stringify([fk.refSchema, fk.refTable]);
    byTarget.set(k, [...(byTarget.get(k) ?? []), [...fk.columns]]);
  }
  for (const fks of byTarget.values()) {
    if (fks.length > 1 && fks.some((cols) => cols.length === 1 && cols[0] === subjectColumn)) return subjectColumn;
  }
  return null;
}

/** Removes draft rules (never reviewed ones) for columns and tables the scan no longer sees. */
function dropStaleDrafts(container: YAMLMap, tables: readonly TableScan[]): void {
  const tablesMap = container.get('tables', true);
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

function chooseRule(
  column: ColumnScan,
  catalogColumn: CatalogColumn,
  table: CatalogTable,
  subjectColumn: string | null,
  preset: Preset | null,
  registry: TransformRegistry,
  plv8: boolean,
): { rule: RuleValue; note: string | null } {
  const candidates = presetCandidates(preset, column);
  const refused: string[] = [];
  for (const candidate of candidates) {
    if (candidate.transform === 'keep' && isIdentifying(column.classification.category) && !candidate.keepsIdentifier) continue;
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
