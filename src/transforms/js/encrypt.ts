/**
 * JavaScript implementation of pgmask.encrypt / decrypt (deterministic authenticated
 * encryption) and encrypt_fpe / decrypt_fpe (format-preserving, NIST SP 800-38G FF1) for
 * the plv8 runtime and as the TypeScript reference. sql/encrypt.sql is the byte-identical
 * twin and documents the constructions; AES and FF1 come from @noble/ciphers (pure
 * JavaScript, no Buffer/TextEncoder/crypto on the paths used here).
 */
import { cbc } from '@noble/ciphers/aes.js';
import { FF1 } from '@noble/ciphers/ff1.js';
import { hmacSha256, hmacSha256Text, sameBytes } from './hmac.ts';
import { utf8Decode, utf8Encode } from './utf8.ts';

/** Labels of the per-purpose subkeys: HMAC-SHA256(named key, label). */
export const SUBKEY_LABELS = { siv: 'pgmask/encrypt/siv/v1', aes: 'pgmask/encrypt/aes/v1', ff1: 'pgmask/encrypt/ff1/v1' } as const;

interface Subkeys {
  readonly master: Uint8Array;
  readonly siv: Uint8Array;
  readonly aes: Uint8Array;
  readonly ff1: Uint8Array;
}

let cached: Subkeys | null = null;

/** The subkeys of one named key, cached for the last key (a view passes the same key for every row). */
function subkeys(key: Uint8Array): Subkeys {
  if (cached !== null && sameBytes(cached.master, key)) return cached;
  cached = {
    master: key.slice(),
    siv: hmacSha256Text(key, SUBKEY_LABELS.siv),
    aes: hmacSha256Text(key, SUBKEY_LABELS.aes),
    ff1: hmacSha256Text(key, SUBKEY_LABELS.ff1),
  };
  return cached;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding (RFC 4648 §5), what the SQL twin builds from encode(…, 'base64'). */
export function base64url(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8);
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
    if (i + 1 < bytes.length) s += B64URL[(n >> 6) & 63]!;
  }
  return s;
}

/** Inverse of base64url; null for a character outside the alphabet or an impossible length. */
export function fromBase64url(text: string): Uint8Array | null {
  if (text.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const v = B64URL.indexOf(text[i]!);
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** A token: `v<version>.` then base64url(SIV ‖ AES-256-CBC(PKCS#7) ciphertext). */
const TOKEN = /^v([0-9]{1,9})\.([A-Za-z0-9_-]+)$/;

/**
 * Deterministic authenticated encryption (a synthetic-IV construction): SIV = the first
 * 16 bytes of HMAC-SHA256(siv subkey, UTF-8(value)); ciphertext = AES-256-CBC with PKCS#7
 * padding under the aes subkey with IV = SIV. Equal values give equal tokens; the SIV is
 * also the tag that decrypt checks.
 */
export function encryptText(value: string, key: Uint8Array, keyVersion: number): string {
  const k = subkeys(key);
  const message = utf8Encode(value);
  const iv = hmacSha256(k.siv, message).subarray(0, 16);
  const body = cbc(k.aes, iv).encrypt(message);
  const raw = new Uint8Array(16 + body.length);
  raw.set(iv, 0);
  raw.set(body, 16);
  return `v${keyVersion}.${base64url(raw)}`;
}

/** The key version a token names, or null when it is not an encrypt token. */
export function tokenVersion(token: string): number | null {
  const m = TOKEN.exec(token);
  return m ? Number(m[1]) : null;
}

/** Inverse of encryptText; null when the token is malformed or its tag does not verify under this key. */
export function decryptText(token: string, key: Uint8Array): string | null {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const raw = fromBase64url(m[2]!);
  if (raw === null || raw.length < 32 || raw.length % 16 !== 0) return null;
  const k = subkeys(key);
  const iv = raw.slice(0, 16);
  let message: Uint8Array;
  try {
    message = cbc(k.aes, iv).decrypt(raw.subarray(16));
  } catch {
    return null;
  }
  const tag = hmacSha256(k.siv, message);
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= tag[i]! ^ iv[i]!;
  return diff === 0 ? utf8Decode(message) : null;
}

const NUMERALS = '0123456789abcdefghijklmnopqrstuvwxyz';

function numerals(text: string, radix: number): number[] {
  const out: number[] = [];
  for (const ch of text.toLowerCase()) {
    const d = NUMERALS.indexOf(ch);
    if (d < 0 || d >= radix) throw new Error(`ff1: ${JSON.stringify(ch)} is not a numeral of radix ${radix}`);
    out.push(d);
  }
  return out;
}

/** FF1 over a numeral string written with 0-9a-z (radix 2…36), as in the NIST SP 800-38G samples. */
export function ff1Encrypt(key: Uint8Array, tweak: Uint8Array, radix: number, text: string): string {
  return FF1(radix, key, tweak)
    .encrypt(numerals(text, radix))
    .map((d: number) => NUMERALS[d])
    .join('');
}

export function ff1Decrypt(key: Uint8Array, tweak: Uint8Array, radix: number, text: string): string {
  return FF1(radix, key, tweak)
    .decrypt(numerals(text, radix))
    .map((d: number) => NUMERALS[d])
    .join('');
}

/**
 * The shape of a value: each ASCII digit becomes '9', each ASCII capital 'A', each ASCII
 * small letter 'a'; every other character is itself. It stays visible in the token and
 * is the FF1 tweak, so two values of different shapes are enciphered independently.
 */
function shapeOf(value: string): string {
  let s = '';
  for (const ch of value) s += /[0-9]/.test(ch) ? '9' : /[A-Z]/.test(ch) ? 'A' : /[a-z]/.test(ch) ? 'a' : ch;
  return s;
}

/** One class of a value (digits, radix 10; letters case-folded, radix 26) enciphered under tweak class ‖ 0x00 ‖ UTF-8(shape). */
function encipherClass(k: Subkeys, cls: 'D' | 'L', shape: string, x: number[], radix: number, decrypting: boolean): number[] {
  if (x.length === 0) return x;
  const tweak = utf8Encode(`${cls}\u0000${shape}`);
  if (x.length >= 2) {
    const ff1 = FF1(radix, k.ff1, tweak);
    return decrypting ? ff1.decrypt(x) : ff1.encrypt(x);
  }
  // FF1 needs at least two numerals: a lone one is shifted by a keyed offset (the domain has only `radix` values anyway)
  const h = hmacSha256(k.ff1, tweak);
  const offset = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
  const shift = offset % radix;
  return [(((decrypting ? x[0]! - shift : x[0]! + shift) % radix) + radix) % radix];
}

function fpe(value: string, key: Uint8Array, decrypting: boolean): string {
  const k = subkeys(key);
  const shape = shapeOf(value);
  const chars = [...value];
  const digits: number[] = [];
  const letters: number[] = [];
  for (const ch of chars) {
    if (/[0-9]/.test(ch)) digits.push(ch.charCodeAt(0) - 48);
    else if (/[A-Za-z]/.test(ch)) letters.push(ch.toLowerCase().charCodeAt(0) - 97);
  }
  const d = encipherClass(k, 'D', shape, digits, 10, decrypting);
  const l = encipherClass(k, 'L', shape, letters, 26, decrypting);
  let di = 0;
  let li = 0;
  let out = '';
  for (const ch of chars) {
    if (/[0-9]/.test(ch)) out += String.fromCharCode(48 + d[di++]!);
    else if (/[A-Z]/.test(ch)) out += String.fromCharCode(65 + l[li++]!);
    else if (/[a-z]/.test(ch)) out += String.fromCharCode(97 + l[li++]!);
    else out += ch;
  }
  return out;
}

/** Format-preserving token: digits stay digits, letters stay letters of the same case, every other character stays put. */
export function encryptFpe(value: string, key: Uint8Array): string {
  return fpe(value, key, false);
}

export function decryptFpe(token: string, key: Uint8Array): string {
  return fpe(token, key, true);
}
