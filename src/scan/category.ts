/**
 * What `pgmask scan` says a column is. The first eighteen are the HIPAA Safe
 * Harbor identifier kinds (45 CFR 164.514(b)(2)(i)); then quasi-identifiers,
 * the subject key, clinical content, free text and everything else.
 */
export const safeHarborCategories = [
  'name',
  'geography', // smaller than a state: street, city, county, ZIP, coordinates
  'date', // every element of a date other than the year, birth dates included
  'age_over_89', // ages, and birth years that reveal an age over 89
  'phone',
  'fax',
  'email',
  'ssn',
  'mrn',
  'health_plan_id',
  'account_number',
  'license_number',
  'vehicle_id',
  'device_id',
  'url',
  'ip_address',
  'biometric',
  'photo',
  'other_unique_id',
] as const;

export const quasiIdentifierCategories = ['sex', 'gender', 'race', 'ethnicity', 'language', 'marital_status', 'occupation'] as const;

export const categories = [...safeHarborCategories, ...quasiIdentifierCategories, 'subject_key', 'clinical', 'free_text', 'other'] as const;

export type SafeHarborCategory = (typeof safeHarborCategories)[number];
export type QuasiIdentifierCategory = (typeof quasiIdentifierCategories)[number];
export type Category = (typeof categories)[number];

const direct: ReadonlySet<Category> = new Set<Category>([...safeHarborCategories, 'subject_key']);
const quasi: ReadonlySet<Category> = new Set<Category>(quasiIdentifierCategories);

/** A Safe Harbor identifier or the subject key: what the precision/recall gate measures. */
export function isDirectIdentifier(category: Category): boolean {
  return direct.has(category);
}

export function isQuasiIdentifier(category: Category): boolean {
  return quasi.has(category);
}

/** Columns that must never be given `keep`: direct identifiers and free text (notes name people). */
export function isIdentifying(category: Category): boolean {
  return direct.has(category) || category === 'free_text';
}

export function isCategory(value: string): value is Category {
  return (categories as readonly string[]).includes(value);
}
