import type { VectorArg, VectorCase } from '../vector-case.ts';
import { encryptFpe, encryptText } from '../../../src/transforms/js/encrypt.ts';
import { fromHex } from '../../../src/transforms/js/utf8.ts';

const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const OTHER_KEY_HEX = 'ff'.repeat(32);
const key: VectorArg = { type: 'bytea', value: KEY_HEX };
const text = (value: string | null): VectorArg => ({ type: 'text', value });
const int4 = (value: number | null): VectorArg => ({ type: 'int4', value });
const bytea = (hex: string): VectorArg => ({ type: 'bytea', value: hex });

/** NIST SP 800-38G FF1 samples (AES-128, AES-192, AES-256; radix 10 and 36; with and without tweak). */
export const NIST_FF1 = [
  { sample: 1, key: '2b7e151628aed2a6abf7158809cf4f3c', tweak: '', radix: 10, pt: '0123456789', ct: '2433477484' },
  { sample: 2, key: '2b7e151628aed2a6abf7158809cf4f3c', tweak: '39383736353433323130', radix: 10, pt: '0123456789', ct: '6124200773' },
  { sample: 3, key: '2b7e151628aed2a6abf7158809cf4f3c', tweak: '3737373770717273373737', radix: 36, pt: '0123456789abcdefghi', ct: 'a9tv40mll9kdu509eum' },
  { sample: 4, key: '2b7e151628aed2a6abf7158809cf4f3cef4359d8d580aa4f', tweak: '', radix: 10, pt: '0123456789', ct: '2830668132' },
  { sample: 5, key: '2b7e151628aed2a6abf7158809cf4f3cef4359d8d580aa4f', tweak: '39383736353433323130', radix: 10, pt: '0123456789', ct: '2496655549' },
  { sample: 6, key: '2b7e151628aed2a6abf7158809cf4f3cef4359d8d580aa4f', tweak: '3737373770717273373737', radix: 36, pt: '0123456789abcdefghi', ct: 'xbj3kv35jrawxv32ysr' },
  { sample: 7, key: '2b7e151628aed2a6abf7158809cf4f3cef4359d8d580aa4f7f036d6f04fc6a94', tweak: '', radix: 10, pt: '0123456789', ct: '6657667009' },
  { sample: 8, key: '2b7e151628aed2a6abf7158809cf4f3cef4359d8d580aa4f7f036d6f04fc6a94', tweak: '39383736353433323130', radix: 10, pt: '0123456789', ct: '1001623463' },
  { sample: 9, key: '2b7e151628aed2a6abf7158809cf4f3cef4359d8d580aa4f7f036d6f04fc6a94', tweak: '3737373770717273373737', radix: 36, pt: '0123456789abcdefghi', ct: 'xs8a0azh2avyalyzuwd' },
] as const;

const values: (string | null)[] = [
  null,
  '',
  'A',
  '7',
  'A1',
  '0012345678',
  'MRN-0012345678',
  'mrn 00-12 AbC',
  'x'.repeat(15),
  'x'.repeat(16),
  'é',
  'Zoë 😀 O’Brien',
  '9'.repeat(70),
  'ab'.repeat(300),
];

const k = fromHex(KEY_HEX);
const tokenOf = (v: string, version = 1) => encryptText(v, k, version);
const aeadToken = tokenOf('MRN-0012345678', 7);
const tampered = aeadToken.slice(0, -2) + (aeadToken.endsWith('A') ? 'B' : 'A') + aeadToken.slice(-1);

export const cases: VectorCase[] = [
  ...NIST_FF1.flatMap((s): VectorCase[] => [
    { name: `NIST FF1 sample ${s.sample} encrypt`, fn: 'ff1_encrypt', args: [bytea(s.key), bytea(s.tweak), int4(s.radix), text(s.pt)] },
    { name: `NIST FF1 sample ${s.sample} decrypt`, fn: 'ff1_decrypt', args: [bytea(s.key), bytea(s.tweak), int4(s.radix), text(s.ct)] },
  ]),
  { name: 'ff1 long radix 10 (d > 16: more than one PRF block)', fn: 'ff1_encrypt', args: [key, bytea('00'), int4(10), text('31415926535897932384626433832795028841971693993751058209749445923078164062862')] },
  { name: 'ff1 radix 2', fn: 'ff1_encrypt', args: [key, bytea(''), int4(2), text('0110100110')] },
  { name: 'ff1 odd length radix 26', fn: 'ff1_encrypt', args: [key, bytea('0102'), int4(26), text('0123456789abcdefghijklmnop')] },
  ...values.map((v, i): VectorCase => ({ name: `encrypt ${i} ${JSON.stringify(v)?.slice(0, 30)}`, fn: 'encrypt', args: [text(v), key, int4(1)] })),
  { name: 'encrypt under key version 12', fn: 'encrypt', args: [text('0012345678'), key, int4(12)] },
  { name: 'encrypt under another key', fn: 'encrypt', args: [text('0012345678'), bytea(OTHER_KEY_HEX), int4(1)] },
  ...values.map((v, i): VectorCase => ({ name: `encrypt_fpe ${i} ${JSON.stringify(v)?.slice(0, 30)}`, fn: 'encrypt_fpe', args: [text(v), key] })),
  { name: 'encrypt_fpe under another key', fn: 'encrypt_fpe', args: [text('0012345678'), bytea(OTHER_KEY_HEX)] },
  ...values
    .filter((v): v is string => v !== null)
    .map((v, i): VectorCase => ({ name: `decrypt ${i} ${JSON.stringify(v).slice(0, 30)}`, fn: 'decrypt', args: [text(tokenOf(v)), key] })),
  ...values
    .filter((v): v is string => v !== null)
    .map((v, i): VectorCase => ({ name: `decrypt_fpe ${i} ${JSON.stringify(v).slice(0, 30)}`, fn: 'decrypt_fpe', args: [text(encryptFpe(v, k)), key] })),
  { name: 'decrypt a tampered token', fn: 'decrypt', args: [text(tampered), key] },
  { name: 'decrypt under the wrong key', fn: 'decrypt', args: [text(aeadToken), bytea(OTHER_KEY_HEX)] },
  { name: 'decrypt a truncated token', fn: 'decrypt', args: [text(aeadToken.slice(0, 30)), key] },
  { name: 'decrypt a non-token', fn: 'decrypt', args: [text('0012345678'), key] },
  { name: 'decrypt bad base64 length', fn: 'decrypt', args: [text('v1.AAAAA'), key] },
  { name: 'decrypt null', fn: 'decrypt', args: [text(null), key] },
  { name: 'token_version of a token', fn: 'token_version', args: [text(aeadToken)] },
  { name: 'token_version of an FF1 token', fn: 'token_version', args: [text('0074222991')] },
  { name: 'token_version of a near miss', fn: 'token_version', args: [text('v1.abc def')] },
];
