import { isIP } from 'node:net';
import type { Category } from './category.ts';
import { normalizeText } from './tokenize-name.ts';
import { personFamilyNames, personGivenNames } from './person-names.ts';

/**
 * Checks of sampled values, as data: each validator says whether one value
 * (as text) looks like an identifier of a category. A column gets the evidence
 * when at least `minShare` of its non-empty sampled values pass.
 */
export interface ValueRule {
  readonly category: Category;
  readonly what: string;
  readonly test: (value: string) => boolean;
  /** share of sampled values that must pass */
  readonly minShare: number;
  /** evidence strength when the share is reached (scaled up to this by the share) */
  readonly weight: number;
  /** type families the check means something for (default: every family the category allows) */
  readonly families?: readonly string[];
}

const emailPattern = /^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
const urlPattern = /^(https?|ftp):\/\/[^\s/$.?#][^\s]*$|^www\.[^\s]+\.[a-z]{2,}(\/\S*)?$/i;
const macPattern = /^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/;
const usZipPattern = /^\d{5}(-\d{4})?$/;
const ukPostcodePattern = /^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$/i;
const caPostcodePattern = /^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$/i;
const isoDatePattern = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:?\d{2})?|Z)?)?$/;
const dmyDatePattern = /^\d{1,2}[./-]\d{1,2}[./-](\d{4}|\d{2})$/;
const dateInTextPattern = /\b(\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})\b/;
const ipv4InTextPattern = /\b(?:\d{1,3}\.){3}\d{1,3}\b/;

/** US SSN shape with the never-issued areas (000, 666, 9xx), group 00 and serial 0000 excluded. */
export function isSsn(value: string): boolean {
  const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(value.trim());
  if (!m) return false;
  const [, area, group, serial] = m as unknown as [string, string, string, string];
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

export function isEmail(value: string): boolean {
  return value.length <= 254 && emailPattern.test(value.trim());
}

/** A formatted telephone number: 7 to 15 digits with the separators and prefixes phones are written with. */
export function isPhone(value: string): boolean {
  const v = value.trim();
  if (!/^[+(]?[\d\s().\-/]{7,24}(\s*(x|ext\.?|dw)\s*\d{1,5})?$/i.test(v)) return false;
  const digits = v.replace(/\D/g, '');
  // formatted (separator, parentheses or a leading +/0) so that a bare counter or amount is not a phone
  const formatted = /[\s().\-/]/.test(v) || v.startsWith('+') || /^0\d{9,}$/.test(v);
  if (isoDatePattern.test(v) || dmyDatePattern.test(v) || isSsn(v) || isYearRange(v)) return false;
  // a record number with a suffix (`10000037-12`): a phone's first group is short unless it starts with + or 0
  const groups = v.split(/[\s().\-/]+/).filter((g) => g.length > 0);
  if (groups.length === 2 && groups[0]!.length >= 6 && !/^[+0]/.test(v)) return false;
  return formatted && digits.length >= 7 && digits.length <= 15;
}

/** `2008 - 2010`: a range of calendar years (MIMIC's anchor_year_group), not a number to dial. */
export function isYearRange(value: string): boolean {
  const m = /^(\d{4})\s*[-–]\s*(\d{4})$/.exec(value.trim());
  if (!m) return false;
  const [from, to] = [Number(m[1]), Number(m[2])];
  return from >= 1800 && to <= 2300 && to >= from;
}

/** A time of day written as text (`14:05`, `7:30:00`): an element of a date. */
export function isTimeText(value: string): boolean {
  const m = /^(\d{1,2}):(\d{2})(:\d{2}(\.\d+)?)?$/.exec(value.trim());
  return m !== null && Number(m[1]) < 24 && Number(m[2]) < 60;
}

export function isIpAddress(value: string): boolean {
  return isIP(value.trim().replace(/\/\d{1,3}$/, '')) !== 0;
}

export function isUrl(value: string): boolean {
  return urlPattern.test(value.trim());
}

export function isMacAddress(value: string): boolean {
  return macPattern.test(value.trim());
}

/** ZIP (US 5 or ZIP+4), UK or Canadian postcode. Five bare digits also fit DE/FR/ES postcodes. */
export function isPostalCode(value: string): boolean {
  const v = value.trim();
  return usZipPattern.test(v) || ukPostcodePattern.test(v) || caPostcodePattern.test(v);
}

/** A calendar date (ISO, or day/month/year with . / or -), with or without a time. */
export function isDateText(value: string): boolean {
  const v = value.trim();
  if (isoDatePattern.test(v)) return !Number.isNaN(Date.parse(v.slice(0, 10)));
  const m = dmyDatePattern.exec(v);
  if (!m) return false;
  const [d, mo] = v.split(/[./-]/).map(Number) as [number, number];
  return (d >= 1 && d <= 31 && mo >= 1 && mo <= 12) || (mo >= 1 && mo <= 31 && d >= 1 && d <= 12);
}

/** Luhn check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** US National Provider Identifier: 10 digits starting 1 or 2, Luhn-valid with the card issuer prefix 80840. */
export function isNpi(value: string): boolean {
  const v = value.trim();
  return /^[12]\d{9}$/.test(v) && luhnValid(`80840${v}`);
}

/** Vehicle identification number: 17 characters without I, O, Q, with its check digit (position 9). */
export function isVin(value: string): boolean {
  const v = value.trim().toUpperCase();
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(v)) return false;
  const map = '0123456789.ABCDEFGH..JKLMN.P.R..STUVWXYZ';
  const weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = v[i]!;
    const n = /\d/.test(c) ? Number(c) : map.indexOf(c) % 10;
    sum += n * weights[i]!;
  }
  const check = sum % 11 === 10 ? 'X' : String(sum % 11);
  return v[8] === check;
}

/** IBAN with its mod-97 check. */
export function isIban(value: string): boolean {
  const v = value.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(v)) return false;
  const rearranged = v.slice(4) + v.slice(0, 4);
  let rest = 0;
  for (const c of rearranged) {
    const n = /\d/.test(c) ? c : String(c.charCodeAt(0) - 55);
    for (const d of n) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1;
}

/** A payment card number: 13–19 digits (spaces or dashes allowed), Luhn-valid. */
export function isCardNumber(value: string): boolean {
  const v = value.trim();
  if (!/^\d[\d -]{11,22}\d$/.test(v)) return false;
  const digits = v.replace(/\D/g, '');
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

/** One to four words, at least one of them a known given or family name. */
export function isPersonName(value: string): boolean {
  const v = normalizeText(value.trim());
  if (v.length < 2 || v.length > 60 || /\d|@/.test(v)) return false;
  const parts = v.split(/[\s,.'-]+/).filter((w) => w.length > 0);
  if (parts.length === 0 || parts.length > 4) return false;
  return parts.some((w) => personGivenNames.has(w) || personFamilyNames.has(w));
}

/** Image bytes (as hex, which is how the sampler returns bytea): JPEG, PNG, GIF, BMP, TIFF or WebP magic numbers. */
export function isImageHex(value: string): boolean {
  const v = value.toLowerCase().replace(/^\\x/, '');
  return /^(ffd8ff|89504e47|47494638|424d|49492a00|4d4d002a|52494646)/.test(v);
}

/** Several words and sentences: a note a person wrote. */
export function isProse(value: string): boolean {
  const words = value.trim().split(/\s+/);
  if (value.length < 40 || words.length < 6) return false;
  // sentences are mostly plain words; a user agent, a path or a code list is not
  const plain = words.filter((w) => /^[\p{L}'’-]+[.,;:!?]?$/u.test(w)).length;
  return plain / words.length >= 0.6;
}

const streetPattern = /^\d{1,6}[A-Za-z]?,?\s+(\p{L}[\p{L}.'-]*\s+){0,4}(st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|ct|court|way|pl|place|pkwy|parkway|hwy|highway|ter|terrace|cir|circle|sq|square)\.?(\s+(apt|suite|unit|#)\s*\w+)?$/iu;
const streetFirstPattern = /^(\p{L}[\p{L}.'-]*\s+){0,3}(\p{L}*(strasse|straße|str\.|weg|platz|gasse|allee)|rue|avenue|calle|avenida|via|carrer)\b.*\d/iu;

/** A street address with a house number (`12 Maple St`, `Hauptstraße 5`, `rue de la Paix 3`): not `Apt 12`. */
export function isStreetAddress(value: string): boolean {
  const v = value.trim();
  return v.length <= 120 && (streetPattern.test(v) || streetFirstPattern.test(v));
}

const titles: ReadonlySet<string> = new Set(['dr', 'mr', 'mrs', 'ms', 'miss', 'prof', 'herr', 'frau', 'mme', 'mlle', 'sr', 'sra', 'srta', 'don', 'dona']);
/** Capitalised words that follow a given name in the name of a place or an organisation (`Madison Family Clinic`). */
const organisationWords: ReadonlySet<string> = new Set(['family', 'clinic', 'hospital', 'medical', 'center', 'centre', 'health', 'general', 'county', 'street', 'avenue', 'memorial', 'university', 'school', 'house', 'hall', 'park', 'group', 'associates', 'practice', 'care', 'city', 'valley', 'heights']);

/**
 * Text that names a person: a title and a capitalised name (`Dr. Okafor`), a known given name and a capitalised
 * word (`Maria Santos`), or a capitalised word and a known family name (`Keiko Smith`).
 */
export function mentionsPersonName(value: string): boolean {
  const words = value.split(/[\s,;:()"]+/).map((w) => w.replace(/[.']+$/, ''));
  const capital = (w: string | undefined) => w !== undefined && w.length > 1 && /^[A-ZÀ-Þ][a-zà-ÿ'-]/.test(w);
  for (let i = 0; i + 1 < words.length; i++) {
    const [a, b] = [words[i]!, words[i + 1]!];
    if (!capital(b)) continue;
    const first = normalizeText(a);
    const second = normalizeText(b);
    if (titles.has(first)) return true;
    if (!capital(a) || organisationWords.has(second)) continue;
    if (personGivenNames.has(first) || personFamilyNames.has(second)) return true;
  }
  return false;
}

export function containsDate(value: string): boolean {
  return dateInTextPattern.test(value);
}

export const valueRules: readonly ValueRule[] = [
  { category: 'email', what: 'email addresses', test: isEmail, minShare: 0.6, weight: 0.95 },
  { category: 'ssn', what: 'US SSN shape (area/group/serial valid)', test: isSsn, minShare: 0.6, weight: 0.93 },
  { category: 'ip_address', what: 'IPv4/IPv6 addresses', test: isIpAddress, minShare: 0.6, weight: 0.95 },
  { category: 'url', what: 'URLs', test: isUrl, minShare: 0.6, weight: 0.92 },
  { category: 'device_id', what: 'MAC addresses', test: isMacAddress, minShare: 0.6, weight: 0.85 },
  { category: 'license_number', what: 'NPI numbers (Luhn check with prefix 80840)', test: isNpi, minShare: 0.9, weight: 0.88 },
  { category: 'vehicle_id', what: 'VINs (check digit valid)', test: isVin, minShare: 0.8, weight: 0.9 },
  { category: 'account_number', what: 'IBANs (mod-97 valid)', test: isIban, minShare: 0.8, weight: 0.92 },
  { category: 'account_number', what: 'payment card numbers (Luhn valid)', test: isCardNumber, minShare: 0.9, weight: 0.8 },
  { category: 'phone', what: 'telephone numbers', test: isPhone, minShare: 0.6, weight: 0.82 },
  // five bare digits in an integer column are far more often a code or a counter than a ZIP (which would lose its leading 0)
  { category: 'geography', what: 'ZIP/postcodes', test: isPostalCode, minShare: 0.8, weight: 0.45, families: ['text', 'other'] },
  { category: 'date', what: 'dates written as text', test: isDateText, minShare: 0.7, weight: 0.85, families: ['text', 'other'] },
  { category: 'date', what: 'times of day written as text', test: isTimeText, minShare: 0.8, weight: 0.8, families: ['text', 'other'] },
  { category: 'geography', what: 'street addresses', test: isStreetAddress, minShare: 0.6, weight: 0.85, families: ['text', 'other'] },
  { category: 'name', what: 'person names (dictionary)', test: isPersonName, minShare: 0.35, weight: 0.88 },
  { category: 'photo', what: 'image files (JPEG/PNG/GIF… magic bytes)', test: isImageHex, minShare: 0.6, weight: 0.8 },
  { category: 'free_text', what: 'prose of several sentences', test: isProse, minShare: 0.5, weight: 0.8 },
];

/** Validators a column's name evidence can be checked against: the name says phone, but are the values phones? */
export const categoryValidators: Readonly<Partial<Record<Category, (value: string) => boolean>>> = {
  email: isEmail,
  ip_address: isIpAddress,
  url: isUrl,
  ssn: (v) => isSsn(v) || /^\d{9}$/.test(v.trim()) || /^[A-Z0-9]{6,}$/i.test(v.replace(/[\s-]/g, '')),
  phone: isPhone,
  fax: isPhone,
};

export { ipv4InTextPattern };
