import type { CatalogSnapshot, CatalogTable } from '../catalog/catalog-snapshot.ts';
import { matchNameRules } from './classify.ts';
import { tokenizeName } from './tokenize-name.ts';

/** Table-name words for "the people this database is about", strongest first. */
const subjectTableWords: readonly (readonly [word: string, strength: number])[] = [
  ['patient', 1],
  ['patients', 1],
  ['patienten', 1],
  ['paciente', 1],
  ['pacientes', 1],
  ['pat', 0.8],
  ['person', 0.9],
  ['persons', 0.9],
  ['people', 0.85],
  ['personen', 0.85],
  ['personne', 0.85],
  ['personnes', 0.85],
  ['persona', 0.85],
  ['personas', 0.85],
  ['subject', 0.8],
  ['subjects', 0.8],
  ['proband', 0.8],
  ['probanden', 0.8],
  ['member', 0.7],
  ['members', 0.7],
  ['beneficiary', 0.7],
  ['beneficiaries', 0.7],
  ['enrollee', 0.7],
  ['client', 0.5],
  ['clients', 0.5],
];

/** Words that make a patient-ish table something else (`patient_notes`, `person_contact`). */
const notSubjectTableWords: ReadonlySet<string> = new Set(['note', 'notes', 'contact', 'contacts', 'address', 'addresses', 'insurance', 'history', 'log', 'audit', 'merge', 'link', 'map', 'mapping', 'consent', 'alias', 'aliases', 'document', 'documents', 'photo', 'photos']);

export interface SubjectTable {
  readonly schema: string;
  readonly table: string;
  /** its single-column primary key: the subject key */
  readonly column: string;
}

export interface SubjectColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly confidence: number;
  readonly reason: string;
}

export interface SubjectDetection {
  readonly subjectTable: SubjectTable | null;
  /** every column holding the subject key: the key itself, foreign keys to it, and same-named columns */
  readonly columns: readonly SubjectColumn[];
  /** the most common subject column name: the policy's top-level `subject:` */
  readonly defaultColumn: string | null;
}

/**
 * Finds the table of patients (the one whose name says patient/person/…,
 * with a single-column primary key and the most foreign keys pointing at it)
 * and every column that holds its key. Pure: reads only the snapshot.
 *
 * @example
 *   detectSubject(snapshot).subjectTable // { schema: 'public', table: 'person', column: 'person_id' }
 */
export function detectSubject(snapshot: CatalogSnapshot): SubjectDetection {
  const tables = snapshot.tables.filter((t) => t.kind === 'table' || t.kind === 'partitioned table');
  const inbound = (t: CatalogTable) =>
    tables.reduce((n, o) => n + o.foreignKeys.filter((fk) => fk.refSchema === t.schema && fk.refTable === t.name).length, 0);

  let best: { table: CatalogTable; score: number } | null = null;
  for (const table of tables) {
    if (table.primaryKey?.length !== 1) continue;
    const words = tokenizeName(table.name);
    if (words.some((w) => notSubjectTableWords.has(w))) continue;
    const strength = Math.max(0, ...words.map((w) => subjectTableWords.find(([s]) => s === w)?.[1] ?? 0));
    if (strength === 0) continue;
    // a shorter name (`patients` vs `patient_visits`) is more likely the subject table itself
    const score = strength * 10 + Math.min(inbound(table), 20) * 0.5 - (words.length - 1) * 3;
    if (!best || score > best.score) best = { table, score };
  }
  if (!best) return { subjectTable: null, columns: [], defaultColumn: null };

  const subject = best.table;
  const key = chooseKey(subject, tables);
  const surrogate = surrogateKeyNames(tables);
  const columns: SubjectColumn[] = [
    {
      schema: subject.schema,
      table: subject.name,
      column: key,
      confidence: 0.97,
      reason: key === subject.primaryKey![0] ? `primary key of the patient table ${subject.name}` : `the patient key of ${subject.name}, repeated in other tables`,
    },
  ];
  for (const table of tables) {
    const claimed = new Set<string>(table === subject ? [key] : []);
    for (const fk of table.foreignKeys) {
      if (fk.columns.length !== 1 || fk.refSchema !== subject.schema || fk.refTable !== subject.name || fk.refColumns[0] !== key) continue;
      const column = fk.columns[0]!;
      if (claimed.has(column)) continue;
      claimed.add(column);
      columns.push({ schema: table.schema, table: table.name, column, confidence: 0.96, reason: `foreign key to ${subject.name}.${key}` });
    }
    // schemas without declared foreign keys (OMOP CDM often ships without them) still repeat the key's name
    if (!surrogate.has(key) && table !== subject) {
      const same = table.columns.find((c) => c.name === key && !claimed.has(c.name));
      if (same) columns.push({ schema: table.schema, table: table.name, column: same.name, confidence: 0.85, reason: `same name as the patient key ${subject.name}.${key}` });
    }
  }
  return { subjectTable: { schema: subject.schema, table: subject.name, column: key }, columns, defaultColumn: mostCommon(columns.map((c) => c.column)) };
}

/**
 * Names used as the primary key of many tables (`id`, `row_id`): a per-table
 * surrogate convention, so another table's column of that name is its own key,
 * not a reference to the patient.
 */
function surrogateKeyNames(tables: readonly CatalogTable[]): ReadonlySet<string> {
  const counts = new Map<string, number>();
  for (const t of tables) if (t.primaryKey?.length === 1) counts.set(t.primaryKey[0]!, (counts.get(t.primaryKey[0]!) ?? 0) + 1);
  return new Set(['id', ...[...counts].filter(([, n]) => n >= 3).map(([name]) => name)]);
}

/**
 * The patient table's key: its primary key, unless the primary key is a
 * surrogate (`row_id`) and another column named like a patient key
 * (`subject_id`, `patient_id`) is what the other tables reference or repeat.
 */
function chooseKey(subject: CatalogTable, tables: readonly CatalogTable[]): string {
  const pk = subject.primaryKey![0]!;
  const surrogate = surrogateKeyNames(tables);
  const uses = (column: string) =>
    tables.reduce((n, t) => {
      if (t === subject) return n;
      const fk = t.foreignKeys.some((k) => k.refTable === subject.name && k.refSchema === subject.schema && k.refColumns.length === 1 && k.refColumns[0] === column);
      const same = !surrogate.has(column) && t.columns.some((c) => c.name === column);
      return n + (fk ? 2 : same ? 1 : 0);
    }, 0);
  let best = pk;
  let bestUses = uses(pk);
  for (const c of subject.columns) {
    if (c.name === pk || !matchNameRules(tokenizeName(c.name)).some((m) => m.rule.category === 'subject_key')) continue;
    const n = uses(c.name);
    if (n > bestUses) {
      best = c.name;
      bestUses = n;
    }
  }
  return best;
}

function mostCommon(names: readonly string[]): string | null {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  let best: string | null = null;
  for (const [n, c] of counts) if (best === null || c > counts.get(best)!) best = n;
  return best;
}
