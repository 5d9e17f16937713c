import { z } from 'zod';
import { literal } from '../sql/index.ts';
import { cast, constant, transformCall } from '../plan/expression.ts';
import { defineTransform } from './transform.ts';

/**
 * Reversible, deterministic encryption of text identifiers for re-identification by an
 * honest broker (`pgmask.reveal`, docs/keys.md). Equal values give equal tokens, so joins
 * on encrypted columns work, and only a broker can turn a token back into the value.
 *
 * Default mode: authenticated encryption with a synthetic IV (HMAC-SHA256 SIV + AES-256-CBC,
 * sql/encrypt.sql documents it); the token `v<key version>.<base64url>` names the key
 * version, so tokens made before a rotation still reveal. The masked column becomes text
 * when the source column is a length-limited type (a token is longer than its value).
 *
 * `preserve_format: true`: NIST SP 800-38G FF1 keeps the value's shape — digits stay
 * digits, letters stay letters of the same case, every other character stays put — so a
 * 10-digit MRN gives a 10-digit token. Such tokens carry no key version and no tag.
 *
 * @example
 *   mrn: { encrypt: { key: reid } }
 *   -- pgmask.encrypt(src."mrn"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'reid' AND k.version = 1), 1)
 *   mrn: { encrypt: { key: reid, preserve_format: true } }
 *   -- pgmask.encrypt_fpe(src."mrn"::text, (SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = 'reid' AND k.version = 1))
 */
export const encrypt = defineTransform({
  name: 'encrypt',
  description: 'Deterministic authenticated encryption (a broker can reveal it); preserve_format keeps digits, letters and separators in place (FF1).',
  params: z
    .object({
      preserve_format: z.boolean().optional().describe('FF1 format-preserving token of the same shape (default false: a `v<version>.` token)'),
    })
    .strict(),
  types: ['text'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  outputType: (column, params) => (params.preserve_format === true || column.sqlType === 'text' ? null : 'text'),
  render: ({ value, key, keyVersion, params }) =>
    params.preserve_format === true
      ? transformCall('encrypt_fpe', cast(value, 'text'), key)
      : transformCall('encrypt', cast(value, 'text'), key, constant(literal(keyVersion ?? 1))),
  sqlFile: 'encrypt.sql',
  plv8: [
    { sqlName: 'encrypt', args: [['value', 'text'], ['key', 'bytea'], ['key_version', 'int4']], returns: 'text', js: 'encrypt' },
    { sqlName: 'decrypt', args: [['token', 'text'], ['key', 'bytea']], returns: 'text', js: 'decrypt' },
    { sqlName: 'encrypt_fpe', args: [['value', 'text'], ['key', 'bytea']], returns: 'text', js: 'encrypt_fpe' },
    { sqlName: 'decrypt_fpe', args: [['token', 'text'], ['key', 'bytea']], returns: 'text', js: 'decrypt_fpe' },
    { sqlName: 'ff1_encrypt', args: [['key', 'bytea'], ['tweak', 'bytea'], ['radix', 'int4'], ['numerals', 'text']], returns: 'text', js: 'ff1_encrypt' },
    { sqlName: 'ff1_decrypt', args: [['key', 'bytea'], ['tweak', 'bytea'], ['radix', 'int4'], ['numerals', 'text']], returns: 'text', js: 'ff1_decrypt' },
    { sqlName: 'token_version', args: [['token', 'text']], returns: 'int4', js: 'token_version' },
  ],
  notes: [
    'Subkeys are derived from the named key by HMAC-SHA256 with fixed labels, so the encryption keys differ from the key pseudonymize, shift_date and noise use; the same key at two sites gives the same tokens.',
    'Format-preserving tokens keep the shape (which positions are digits, capitals, small letters or other characters) visible by design. Only ASCII digits and letters are enciphered; other characters (including accented letters) stay as they are. A value with a single digit or a single letter has only 10 or 26 possible tokens for that character. FF1 tokens carry neither the key version nor a tag: reveal uses the current key version unless told another.',
    'After `pgmask keys rotate` the next `pgmask migrate` writes tokens under the new version; tokens of older versions still reveal.',
  ],
  example: { rule: 'mrn: { encrypt: { key: reid, preserve_format: true } }', input: "'0012345678'", output: "'7302196645' (10 digits)" },
});
