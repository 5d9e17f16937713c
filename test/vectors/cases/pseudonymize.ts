import type { VectorArg, VectorCase } from '../vector-case.ts';

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
/** longer than a SHA-256 block: HMAC hashes it first */
const LONG_KEY = 'ab'.repeat(100);
const keys: [string, string][] = [
  ['key32', KEY],
  ['key1', '7f'],
  ['key100', LONG_KEY],
  ['key64', 'cd'.repeat(64)],
];

const key = (hex: string | null): VectorArg => ({ type: 'bytea', value: hex });
const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });

const texts: [string, string | null][] = [
  ['null', null],
  ['empty', ''],
  ['ascii', 'A1234'],
  ['mrn with spaces', 'MRN 0001 / 2020'],
  ['quotes and backslash', `O'Brien "\\x00" \\ $$`],
  ['latin1 accent', 'Zoë Müller'],
  ['combining mark', 'Zoe\u0308 Mu\u0308ller'],
  ['cjk', '患者番号'],
  ['astral emoji', 'patient 😀🏥'],
  ['astral math', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'],
  ['55 bytes (one block)', 'x'.repeat(55)],
  ['56 bytes (two blocks)', 'x'.repeat(56)],
  ['64 bytes', 'y'.repeat(64)],
  ['very long', 'lorem ipsum dolor sit amet 😀 '.repeat(400)],
];

const textCases: VectorCase[] = [];
for (const [name, value] of texts) {
  textCases.push({ name: `text ${name}`, fn: 'pseudonymize', args: [{ type: 'text', value }, key(KEY), opts({})] });
}
for (const [kname, k] of keys) {
  textCases.push({ name: `text ${kname}`, fn: 'pseudonymize', args: [{ type: 'text', value: 'A1234' }, key(k), opts({})] });
}
textCases.push(
  { name: 'text empty key', fn: 'pseudonymize', args: [{ type: 'text', value: 'A1234' }, key(''), opts({})] },
  { name: 'text null key', fn: 'pseudonymize', args: [{ type: 'text', value: 'A1234' }, key(null), opts({})] },
  { name: 'text prefix', fn: 'pseudonymize', args: [{ type: 'text', value: 'A1234' }, key(KEY), opts({ prefix: 'MRN-' })] },
  { name: 'text unicode prefix', fn: 'pseudonymize', args: [{ type: 'text', value: 'A1234' }, key(KEY), opts({ prefix: 'Pt😀-' })] },
  { name: 'text length 8', fn: 'pseudonymize', args: [{ type: 'text', value: 'A1234' }, key(KEY), opts({ length: 8 })] },
  { name: 'text length 32', fn: 'pseudonymize', args: [{ type: 'text', value: 'A1234' }, key(KEY), opts({ length: 32, prefix: 'P' })] },
);

const ints = (fn: string, type: 'int2' | 'int4' | 'int8', values: (string | number | null)[]): VectorCase[] =>
  values.flatMap((value) => [
    { name: `${type} ${String(value)}`, fn, args: [{ type, value }, key(KEY), opts({})] },
    { name: `${type} ${String(value)} key1`, fn, args: [{ type, value }, key('7f'), opts({})] },
  ]);

const intCases: VectorCase[] = [
  ...ints('pseudonymize_int2', 'int2', [null, 0, 1, -1, 2, 255, 256, 32767, -32768]),
  ...ints('pseudonymize_int4', 'int4', [null, 0, 1, -1, 2, 65535, 65536, 2147483647, -2147483648, 123456789]),
  ...ints('pseudonymize_int8', 'int8', [
    null,
    '0',
    '1',
    '-1',
    '4294967295',
    '4294967296',
    '9007199254740993',
    '-9007199254740993',
    '9223372036854775807',
    '-9223372036854775808',
  ]),
  { name: 'int4 long key', fn: 'pseudonymize_int4', args: [{ type: 'int4', value: 42 }, key(LONG_KEY), opts({})] },
  { name: 'int8 null key', fn: 'pseudonymize_int8', args: [{ type: 'int8', value: '42' }, key(null), opts({})] },
];

const uuidCases: VectorCase[] = [null, '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '123e4567-e89b-12d3-a456-426614174000'].map(
  (value) => ({ name: `uuid ${String(value)}`, fn: 'pseudonymize_uuid', args: [{ type: 'uuid', value }, key(KEY), opts({})] }),
);

export const cases: VectorCase[] = [...textCases, ...intCases, ...uuidCases];
