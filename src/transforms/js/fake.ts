/**
 * JavaScript implementation of pgmask.fake (plv8 runtime and TypeScript reference); must give
 * the same text as sql/fake.sql, which src/transforms/data/gen-fake-sql.ts generates from the
 * same dictionaries and the same byte offsets (fakeLayout).
 */
import { fakeFirstNames } from '../data/fake-first-names.ts';
import { fakeLastNames } from '../data/fake-last-names.ts';
import { fakeAreaCodes, fakeCities, fakeEmailDomains, fakeStreetNames, fakeStreetSuffixes } from '../data/fake-places.ts';
import { labelledDigest, readUint32 } from './labelled-digest.ts';

export const fakeKinds = ['first_name', 'last_name', 'full_name', 'street_address', 'city', 'phone', 'email'] as const;
export type FakeKind = (typeof fakeKinds)[number];

export interface FakeOpts {
  readonly kind: FakeKind;
}

/** Which 4 bytes of the digest choose what (shared with the SQL generator). */
export const fakeLayout = {
  firstName: 0,
  lastName: 4,
  houseNumber: 8,
  emailDomain: 8,
  streetName: 12,
  streetSuffix: 16,
  city: 20,
  areaCode: 24,
  lineNumber: 28,
} as const;

/** Largest house number: 1…HOUSE_NUMBERS. */
export const HOUSE_NUMBERS = 9899;

/** An email local-part word: lowercase ASCII letters only (O'Brien → obrien). toLowerCase is locale-independent, unlike SQL lower(). */
export function emailWord(name: string): string {
  return name.toLowerCase().replace(/[^a-z]/g, '');
}

function pick(list: readonly string[], digest: Uint8Array, offset: number): string {
  return list[readUint32(digest, offset) % list.length]!;
}

function twoDigits(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/**
 * A realistic replacement chosen by HMAC(key, 'fake' NUL value): the same value and key give
 * the same fake in every table and runtime. Names, streets and cities come from the shipped
 * dictionaries; phones use the 555-01xx numbers reserved for fiction, emails example.* domains.
 */
export function fake(value: string, key: Uint8Array, opts: FakeOpts): string {
  const h = labelledDigest(key, 'fake', value);
  const L = fakeLayout;
  switch (opts.kind) {
    case 'first_name':
      return pick(fakeFirstNames, h, L.firstName);
    case 'last_name':
      return pick(fakeLastNames, h, L.lastName);
    case 'full_name':
      return pick(fakeFirstNames, h, L.firstName) + ' ' + pick(fakeLastNames, h, L.lastName);
    case 'street_address':
      return `${1 + (readUint32(h, L.houseNumber) % HOUSE_NUMBERS)} ${pick(fakeStreetNames, h, L.streetName)} ${pick(fakeStreetSuffixes, h, L.streetSuffix)}`;
    case 'city':
      return pick(fakeCities, h, L.city);
    case 'phone':
      return `(${pick(fakeAreaCodes, h, L.areaCode)}) 555-01${twoDigits(readUint32(h, L.lineNumber) % 100)}`;
    case 'email':
      return `${emailWord(pick(fakeFirstNames, h, L.firstName))}.${emailWord(pick(fakeLastNames, h, L.lastName))}${readUint32(h, L.lineNumber) % 100}@${pick(fakeEmailDomains, h, L.emailDomain)}`;
    default:
      throw new Error(`fake: unknown kind ${String((opts as { kind: unknown }).kind)}`);
  }
}
