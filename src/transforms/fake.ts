import { z } from 'zod';
import { jsonbLiteral } from '../sql/index.ts';
import { cast, constant, transformCall } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';
import { fake as fakeValue, fakeKinds, type FakeKind } from './js/fake.ts';
import { fakeFirstNames } from './data/fake-first-names.ts';
import { fakeLastNames } from './data/fake-last-names.ts';
import { fakeCities, fakeStreetNames, fakeStreetSuffixes } from './data/fake-places.ts';

const longest = (list: readonly string[]) => Math.max(...list.map((s) => s.length));

/** the longest value each kind can produce (a shorter varchar column would cut fakes) */
const MAX_LENGTH: Readonly<Record<FakeKind, number>> = {
  first_name: longest(fakeFirstNames),
  last_name: longest(fakeLastNames),
  full_name: longest(fakeFirstNames) + 1 + longest(fakeLastNames),
  street_address: 4 + 1 + longest(fakeStreetNames) + 1 + longest(fakeStreetSuffixes),
  city: longest(fakeCities),
  phone: '(201) 555-0100'.length,
  email: longest(fakeFirstNames) + 1 + longest(fakeLastNames) + 2 + '@example.com'.length,
};

/**
 * Deterministic realistic replacement from dictionaries shipped with pgmask, chosen by
 * HMAC(key, value): the same value gives the same fake in every table, view and runtime, so
 * a fake name still groups and joins like the real one. Phones use the fictional 555-01xx
 * range, emails the reserved example.com/.org/.net domains.
 *
 * @example
 *   first_name: { fake: { kind: first_name } }
 *   -- pgmask.fake(src."first_name"::text, (SELECT …key…), '{"kind":"first_name"}'::jsonb)
 */
export const fake = defineTransform({
  name: 'fake',
  description: 'Replace by a realistic fake (first_name, last_name, full_name, street_address, city, phone, email) chosen by HMAC(key, value): same input, same fake everywhere.',
  params: z
    .object({
      kind: z.enum(fakeKinds).describe(`what to generate: ${fakeKinds.join(', ')} (required)`),
    })
    .strict(),
  types: ['text'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  check({ column, params }) {
    const m = /^(?:character varying|character)\((\d+)\)$/.exec(column.sqlType);
    const need = MAX_LENGTH[params.kind];
    if (m && Number(m[1]) < need) {
      return [{ code: 'FAKE_TOO_LONG', message: `a fake ${params.kind} can be ${need} characters but column ${column.name} is ${column.sqlType}`, hint: 'use a wider column type, or partial/redact for this column' }];
    }
    return [];
  },
  render: ({ value, key, params }) => transformCall('fake', cast(value, 'text'), key, constant(jsonbLiteral({ kind: params.kind }))),
  sqlFile: 'fake.sql',
  plv8: [{ sqlName: 'fake', args: [['value', 'text'], ['key', 'bytea'], ['opts', 'jsonb']], returns: 'text', js: 'fake' }],
  notes: [
    'The choice is HMAC-SHA256(key, "fake" NUL value): the same value and key give the same fake in every table and runtime, so fakes still group and join; different values may share a fake (a few hundred names per list). Dictionaries ship with pgmask (src/transforms/data/), ASCII spellings of common US and European names.',
    'Phones are (area code) 555-0100…0199 (reserved for fiction); emails first.last<nn>@example.com/.org/.net (reserved domains).',
  ],
  example: { rule: 'first_name: { fake: { kind: first_name } }', input: "'Alice'", output: `'${fakeValue('Alice', new Uint8Array(32), { kind: 'first_name' })}' (with an all-zero key; the same for every 'Alice')` },
});
