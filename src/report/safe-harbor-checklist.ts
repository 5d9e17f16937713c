import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import type { Policy, Rule } from '../policy/policy.ts';
import type { Category } from '../scan/category.ts';
import { classifyTable } from '../scan/scan-database.ts';
import { detectSubject } from '../scan/detect-subject.ts';
import { vocabularyTablesOf } from '../scan/classify.ts';
import type { Preset } from '../scan/presets.ts';
import { inMaskedSchema, type Handling, type SafeHarborColumn, type SafeHarborKind, type SafeHarborSection } from './report.ts';

/** The 18 kinds of 45 CFR 164.514(b)(2)(i), in the regulation's order, with the scan categories that carry each. */
export const SAFE_HARBOR_KINDS: readonly { readonly number: number; readonly kind: string; readonly categories: readonly Category[] }[] = [
  { number: 1, kind: 'names', categories: ['name'] },
  { number: 2, kind: 'geographic subdivisions smaller than a state (street, city, county, ZIP)', categories: ['geography'] },
  { number: 3, kind: 'dates (except year) related to a person, and ages over 89', categories: ['date', 'age_over_89'] },
  { number: 4, kind: 'telephone numbers', categories: ['phone'] },
  { number: 5, kind: 'fax numbers', categories: ['fax'] },
  { number: 6, kind: 'email addresses', categories: ['email'] },
  { number: 7, kind: 'social security numbers', categories: ['ssn'] },
  { number: 8, kind: 'medical record numbers', categories: ['mrn'] },
  { number: 9, kind: 'health plan beneficiary numbers', categories: ['health_plan_id'] },
  { number: 10, kind: 'account numbers', categories: ['account_number'] },
  { number: 11, kind: 'certificate/license numbers', categories: ['license_number'] },
  { number: 12, kind: 'vehicle identifiers and serial numbers', categories: ['vehicle_id'] },
  { number: 13, kind: 'device identifiers and serial numbers', categories: ['device_id'] },
  { number: 14, kind: 'web URLs', categories: ['url'] },
  { number: 15, kind: 'IP addresses', categories: ['ip_address'] },
  { number: 16, kind: 'biometric identifiers', categories: ['biometric'] },
  { number: 17, kind: 'full-face photographs and comparable images', categories: ['photo'] },
  { number: 18, kind: 'any other unique identifying number, characteristic or code', categories: ['other_unique_id', 'subject_key'] },
];

const identifierCategories: ReadonlySet<Category> = new Set(SAFE_HARBOR_KINDS.flatMap((k) => k.categories));

/**
 * What the rule itself says the column is, used when the scan's classifier
 * (names, types, comments, keys; values are not sampled here) saw no
 * identifier: a `zip3` column holds a ZIP code whatever it is called.
 */
function categoryFromRule(rule: Rule, family: string): Category | null {
  const p = rule.params as Record<string, unknown>;
  switch (rule.transform) {
    case 'zip3':
      return 'geography';
    case 'shift_date':
    case 'generalize_date':
      return 'date';
    case 'age':
      return family === 'date' || family === 'timestamp' || family === 'timestamptz' ? 'date' : 'age_over_89';
    case 'birth_year':
      return 'age_over_89';
    case 'partial':
      return p.preset === 'email' ? 'email' : p.preset === 'phone' ? 'phone' : null;
    case 'fake': {
      const kind = String(p.kind ?? '');
      if (kind.includes('name')) return 'name';
      if (kind === 'phone') return 'phone';
      if (kind === 'email') return 'email';
      return null;
    }
    default:
      return null;
  }
}

/** What the checklist knows about a column besides its rule: its category and what the classifier matched. */
interface Judged {
  readonly category: Category;
  /** the classifier's kinds (`birth date`, `birth year (reveals ages over 89)`, `city, county or smaller area`) */
  readonly kinds: readonly string[];
}

const birthYearKind = 'birth year (reveals ages over 89)';

/**
 * How a rule handles an identifier, and whether that meets the preset's standard as the view shows it:
 * Safe Harbor keeps no date element but the year and nothing over 89; the research preset (a limited data set,
 * 164.514(e)(2)) may keep dates shifted per subject and the town or city, but no other address or identifier.
 */
function judge(rule: Rule, column: Judged, preset: Preset): { handling: Handling; meets: boolean; note: string } {
  const p = rule.params as Record<string, unknown>;
  const { category, kinds } = column;
  const research = preset === 'research-date-shift';
  const birthDate = kinds.includes('birth date');
  switch (rule.transform) {
    case 'keep':
      if (research && category === 'geography' && kinds.includes('city, county or smaller area') && !kinds.includes('street address')) {
        return { handling: 'kept raw', meets: true, note: 'town, city or county: a limited data set may keep it (164.514(e)(2))' };
      }
      return { handling: 'kept raw', meets: false, note: 'KEPT RAW: analysts see the identifier as stored' };
    case 'redact':
      return { handling: 'removed', meets: true, note: 'removed (constant or NULL)' };
    case 'pseudonymize':
      return { handling: 'pseudonymized', meets: true, note: 'keyed pseudonym: analysts cannot recompute or reverse it without the key (a code derived from the identifier: see 164.514(c))' };
    case 'fake':
      return { handling: 'replaced', meets: true, note: 'replaced by a generated value' };
    case 'zip3':
      return category === 'geography'
        ? { handling: 'generalized', meets: true, note: 'first three ZIP digits; restricted (small-population) ZIP3 areas become 000' }
        : { handling: 'generalized', meets: false, note: 'zip3 on a non-ZIP identifier: review' };
    case 'generalize_date':
      if (p.to !== 'year') return research ? { handling: 'generalized', meets: true, note: `keeps the ${String(p.to)}: a limited data set may keep dates` } : { handling: 'generalized', meets: false, note: `keeps the ${String(p.to)}: Safe Harbor keeps the year only` };
      if (birthDate) return { handling: 'generalized', meets: false, note: 'shows the birth year of people over 89: use age { year_only: true }, which also top-codes it' };
      return { handling: 'generalized', meets: true, note: 'year only' };
    case 'age':
      if (category === 'age_over_89' && kinds.includes(birthYearKind)) return { handling: 'generalized', meets: false, note: 'age caps values over 89 at 90, and every birth year is over 89: the column becomes one value; use birth_year' };
      if (category === 'age_over_89') return { handling: 'generalized', meets: true, note: 'ages over 89 become 90' };
      if (p.year_only === true) return { handling: 'generalized', meets: true, note: 'the view shows 1 January of the birth year; people over 89 share the top-coded year' };
      return research ? { handling: 'generalized', meets: true, note: 'birth dates of people over 89 moved to make them 90; a limited data set may keep the others' } : { handling: 'generalized', meets: false, note: 'caps ages over 89 but keeps month and day of the date: add year_only: true for Safe Harbor' };
    case 'birth_year':
      return category === 'age_over_89' ? { handling: 'generalized', meets: true, note: 'birth years implying 90 or more collapse to one top-coded year; later years kept' } : { handling: 'generalized', meets: false, note: 'birth_year on a column that is not a birth year: review' };
    case 'shift_date':
      return research
        ? { handling: 'perturbed', meets: true, note: 'every date of a subject shifted by the same offset: intervals kept (a limited data set or expert determination, not Safe Harbor)' }
        : { handling: 'perturbed', meets: false, note: 'shifted dates are still full dates (acceptable under Expert Determination, not Safe Harbor)' };
    case 'noise':
      return { handling: 'perturbed', meets: false, note: 'noisy value stays close to the identifier: review' };
    case 'bucket':
      return { handling: 'generalized', meets: false, note: 'binned: ages over 89 must share one 90+ bin; review the bins' };
    case 'partial':
      return { handling: 'transformed', meets: false, note: 'keeps part of the value: review' };
    default:
      return { handling: 'transformed', meets: false, note: `custom transform ${rule.transform}: review` };
  }
}

const REDACT_UNLISTED: Rule = { transform: 'redact', params: {}, key: '', display: 'redact (unlisted column)' };

export interface ChecklistOptions {
  /** the standard to check against (default hipaa-safe-harbor) */
  readonly preset?: Preset;
  /** sampled values per table (`schema.table`) and column, so the categories are the scan's own (without: names, types and keys) */
  readonly samples?: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
}

/**
 * The checklist: for each of the 18 identifier kinds, the columns of the policy's tables that carry it (the
 * scan's classifier on the same sampled values when given, else what the rule implies) and how each is handled,
 * judged against the preset's standard. Pure: reads the policy, the snapshot and the samples.
 */
export function safeHarborChecklist(policy: Policy, snapshot: CatalogSnapshot, options: ChecklistOptions = {}): SafeHarborSection {
  const preset = options.preset ?? 'hipaa-safe-harbor';
  const subject = detectSubject(snapshot);
  // as scan saw them: the vocabulary tables of every source schema of the policy (MIMIC-IV's icu events name
  // `itemid`, the key of icu's d_items, while hosp holds the patients)
  const vocabulary = vocabularyTablesOf(snapshot.tables.filter((t) => policy.schemas.some((s) => s.source === t.schema)));
  const found: SafeHarborColumn[] = [];
  for (const ptable of policy.tables) {
    const table = findTable(snapshot, ptable.sourceSchema, ptable.name);
    if (!table) continue;
    // no values are sampled (values = null); the sample record is only echoed back by classifyTable
    const notSampled = { method: 'limit', percent: null, rowsRead: 0, estimatedRows: table.estimatedRows, error: null } as unknown as Parameters<typeof classifyTable>[3];
    const scanned = classifyTable(table, subject, options.samples?.get(`${table.schema}.${table.name}`) ?? null, notSampled, vocabulary);
    for (const column of scanned.columns) {
      const rule = ptable.columns.find((c) => c.name === column.name)?.rule ?? (policy.unlistedColumns === 'redact' ? REDACT_UNLISTED : null);
      if (!rule) continue;
      const scanCategory = column.classification.category;
      // the policy's subject column is the patient key even when the scan's guess differs
      const isSubject = (ptable.subject ?? policy.subject) === column.name;
      const category: Category | null = identifierCategories.has(scanCategory) ? scanCategory : isSubject ? 'subject_key' : categoryFromRule(rule, column.family);
      if (category === null) continue;
      const verdict = judge(rule, { category, kinds: column.classification.kinds }, preset);
      found.push(
        inMaskedSchema(policy, ptable.maskedSchema, {
          table: ptable.name,
          column: column.name,
          category,
          rule: rule.display,
          handling: verdict.handling,
          meetsSafeHarbor: verdict.meets,
          flagged: verdict.handling === 'kept raw',
          note: verdict.note,
        }),
      );
    }
  }
  const kinds: SafeHarborKind[] = SAFE_HARBOR_KINDS.map((k) => ({
    number: k.number,
    kind: k.kind,
    columns: found.filter((c) => (k.categories as readonly string[]).includes(c.category)),
  }));
  return {
    preset,
    classifier: options.samples
      ? "pgmask scan's column classifier on names, types, comments, keys and sampled values, completed by what each rule implies"
      : "pgmask scan's column classifier on names, types, comments and keys (no value sampling), completed by what each rule implies",
    kinds,
    flagged: found.filter((c) => c.flagged).length,
  };
}
