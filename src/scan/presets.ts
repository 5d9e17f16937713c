import { isIdentifying } from './category.ts';
import type { ColumnScan } from './scan-database.ts';
import { tokenizeName } from './tokenize-name.ts';

/**
 * What a drafted policy is meant to satisfy (docs/presets.md):
 * - `hipaa-safe-harbor`: 45 CFR 164.514(b)(2): the 18 identifier kinds removed, every date element but the
 *   year removed, ages and birth years over 89 top-coded, ZIP codes to ZIP3 with the restricted areas as 000.
 * - `research-date-shift`: a research extract that keeps intervals: every date of a subject moved by the same
 *   per-subject offset (shift_date), town or city kept, direct identifiers removed. Not Safe Harbor: a starting
 *   point for a limited data set (164.514(e), under a data use agreement) or an expert determination.
 */
export const presets = ['hipaa-safe-harbor', 'research-date-shift'] as const;
export type Preset = (typeof presets)[number];

/** One line for the draft's header: what the preset claims and what it does not. */
export const presetSummary: Readonly<Record<Preset, string>> = {
  'hipaa-safe-harbor': 'HIPAA Safe Harbor (45 CFR 164.514(b)(2)): identifiers removed, dates to the year, ages and birth years over 89 top-coded, ZIP3.',
  'research-date-shift': 'research extract keeping intervals: dates shifted per subject, direct identifiers removed. NOT Safe Harbor: a limited data set (with a data use agreement) or an expert-determination starting point.',
};

/** A transform a preset would like for a column, most useful first; the draft takes the first the column accepts. */
export interface Candidate {
  readonly transform: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** what the reviewer should know when this candidate is chosen */
  readonly note?: string;
  /** `keep` on a column the scan calls identifying, as the preset allows (a city in a limited data set) */
  readonly keepsIdentifier?: true;
}

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

const dateFamilies: ReadonlySet<string> = new Set(['date', 'timestamp', 'timestamptz']);

/** Whether a name or value rule with this `what` (see name-rules.ts, value-validators.ts) supports the column's category. */
function has(column: ColumnScan, what: string): boolean {
  return column.classification.kinds.includes(what);
}

const yearOnly: Candidate = { transform: 'generalize_date', params: { to: 'year' } };

/** Transforms that remove an identifier whatever its kind: the tail of every identifying list. */
function removed(category: string): readonly Candidate[] {
  if (category === 'free_text' || category === 'photo' || category === 'biometric') return [{ transform: 'redact' }];
  return [{ transform: 'pseudonymize' }, { transform: 'redact' }];
}

/** What differs between the presets: smaller-than-state geography that is not a ZIP code, and dates that are not birth dates. */
interface PresetChoices {
  readonly place: (column: ColumnScan) => readonly Candidate[];
  readonly date: readonly Candidate[];
}

/** Safe Harbor: every date element but the year goes; a made-up city would mislead analysts, so the city is removed. */
const safeHarbor: PresetChoices = {
  // a generated street in a plausible shape, only where the values are street addresses (not `Apt 12`)
  place: (column) => (has(column, 'street addresses') ? [{ transform: 'fake', params: { kind: 'street_address' } }, { transform: 'redact' }] : [{ transform: 'redact' }]),
  date: [yearOnly, { transform: 'redact' }],
};

/**
 * Research extract: intervals survive (one offset per subject for every date of that subject; without a subject
 * column only the year), and the town or city is kept (a limited data set may keep it; a fake one would mislead).
 */
const researchDateShift: PresetChoices = {
  place: (column) =>
    has(column, 'city, county or smaller area') && !has(column, 'street address') && column.family === 'text'
      ? [{ transform: 'keep', keepsIdentifier: true, note: 'town, city or county: kept, as a limited data set may (45 CFR 164.514(e)(2)); redact it for a wider release' }]
      : [{ transform: 'redact' }],
  date: [{ transform: 'shift_date', params: { max_days: 30 } }, yearOnly, { transform: 'redact' }],
};

function candidates(column: ColumnScan, choices: PresetChoices): readonly Candidate[] {
  const category = column.classification.category;
  switch (category) {
    case 'name':
      return [{ transform: 'fake', params: { kind: nameKind(column.name) } }, { transform: 'redact' }];
    case 'geography':
      if (has(column, 'postal code') || has(column, 'ZIP/postcodes')) return [{ transform: 'zip3' }, { transform: 'redact' }];
      return choices.place(column);
    case 'date':
      // a date kept as text or as separate day/month numbers cannot be cut to its year or shifted: it is removed
      if (!dateFamilies.has(column.family)) return [{ transform: 'redact' }];
      // birth dates: 1 January of the year, and the year capped so nobody shows over 89
      if (has(column, 'birth date')) return [{ transform: 'age', params: { year_only: true } }, yearOnly, { transform: 'redact' }];
      return choices.date;
    case 'age_over_89':
      if (has(column, 'birth year (reveals ages over 89)')) return [{ transform: 'birth_year' }, { transform: 'redact' }];
      return [{ transform: 'age' }, { transform: 'redact' }];
    default:
      return isIdentifying(category) ? removed(category) : [{ transform: 'keep' }];
  }
}

/**
 * The transforms a preset would give a column, in order of preference. Without a preset the draft follows the
 * research rules (dates shifted, birth years top-coded: never random integers or all dates redacted) but the
 * header claims no standard.
 */
export function presetCandidates(preset: Preset | null, column: ColumnScan): readonly Candidate[] {
  if (holdsFhir(column)) return [fhirCandidate, { transform: 'redact' }];
  return candidates(column, preset === 'hipaa-safe-harbor' ? safeHarbor : researchDateShift);
}

const FHIR_RESOURCE = /"resourceType"\s*:\s*"(Patient|Encounter|Observation)"/;

/**
 * A json/jsonb column of FHIR R4 resources: sampled values naming a Patient, Encounter or
 * Observation resourceType (values are cut to their first characters, so a column named
 * fhir or resource with JSON objects counts too). Both presets then take the FHIR rule set,
 * which removes every Safe Harbor element of those resources (src/transforms/fhir-r4.ts).
 */
function holdsFhir(column: ColumnScan): boolean {
  if (column.family !== 'json') return false;
  if (column.distinctValues.some((v) => FHIR_RESOURCE.test(v))) return true;
  const tokens = tokenizeName(column.name);
  return (tokens.includes('fhir') || tokens.includes('resource')) && column.distinctValues.length > 0 && column.distinctValues.every((v) => v.trimStart().startsWith('{'));
}

const fhirCandidate: Candidate = {
  transform: 'json',
  params: { preset: 'fhir_r4' },
  note: 'FHIR R4 resources: the fhir_r4 rule set keeps coded values, pseudonymizes identifiers and references, keeps years of dates and removes every path it does not list; other resource types mask to NULL',
};

/** Whether the scan found nothing at all to go on for a column (it is listed in the draft's header for review). */
export function hasNoEvidence(column: ColumnScan): boolean {
  return column.classification.reasons[0] === 'no name, type, key or value evidence';
}
