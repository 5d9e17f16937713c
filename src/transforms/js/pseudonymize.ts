/**
 * JavaScript implementation of pgmask.pseudonymize and its integer/uuid variants (plv8
 * runtime and TypeScript reference). Must give the same bytes as sql/pseudonymize.sql,
 * which documents the construction.
 */
import { hmacSha256Into, hmacSha256TextInto, hmacSha256Words2Into } from './hmac.ts';
import { toHex } from './utf8.ts';

const DEFAULT_BYTES = 10;
const ROUNDS = 6;

export interface PseudonymizeOpts {
  readonly prefix?: string;
  readonly length?: number;
}

const digest = new Uint8Array(32);
const message17 = new Uint8Array(17);

/** prefix || hex(first `length` bytes of HMAC-SHA256(key, UTF-8(value))) */
export function pseudonymizeText(value: string, key: Uint8Array, opts: PseudonymizeOpts | null): string {
  hmacSha256TextInto(key, value, digest, 0);
  const prefix = opts?.prefix ?? '';
  const length = opts?.length ?? DEFAULT_BYTES;
  return prefix + toHex(digest, length);
}

/** Round function F_i(half), masked to halfBits; halves are unsigned numbers below 2^32. */
function roundF(key: Uint8Array, round: number, halfBits: number, half: number): number {
  // the message is int8send(((round·64 + halfBits) << 32) | half): two big-endian words
  hmacSha256Words2Into(key, round * 64 + halfBits, half, digest, 0);
  const f = ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
  return halfBits === 32 ? f : f & ((1 << halfBits) - 1);
}

/** The Feistel permutation of (left, right); returns [left, right] in a shared pair. */
const pair: [number, number] = [0, 0];
function permute(key: Uint8Array, halfBits: number, left: number, right: number): [number, number] {
  let a = left;
  let b = right;
  for (let i = 0; i < ROUNDS; i++) {
    const next = (a ^ roundF(key, i, halfBits, b)) >>> 0;
    a = b;
    b = next;
  }
  pair[0] = a;
  pair[1] = b;
  return pair;
}

/** int2 arrives and leaves as text (int2 is not a PLV8 boundary type). */
export function pseudonymizeInt2(value: string, key: Uint8Array, _opts: unknown): string {
  const bits = Number(value) & 0xffff;
  const [l, r] = permute(key, 8, bits >>> 8, bits & 0xff);
  const out = (l << 8) | r;
  return String(out >= 0x8000 ? out - 0x10000 : out);
}

export function pseudonymizeInt4(value: number, key: Uint8Array, _opts: unknown): number {
  const bits = value >>> 0;
  const [l, r] = permute(key, 16, bits >>> 16, bits & 0xffff);
  return ((l << 16) | r) | 0;
}

/** int8 arrives and leaves as text, so no precision is lost above 2^53. */
export function pseudonymizeInt8(value: string, key: Uint8Array, _opts: unknown): string {
  const bits = BigInt.asUintN(64, BigInt(value));
  const [l, r] = permute(key, 32, Number(bits >> 32n), Number(bits & 0xffffffffn));
  return BigInt.asIntN(64, (BigInt(l) << 32n) | BigInt(r)).toString();
}

/** uuid arrives and leaves as text (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, PostgreSQL's output form). */
export function pseudonymizeUuid(value: string, key: Uint8Array, _opts: unknown): string {
  const hex = value.replace(/[-{}]/g, '');
  message17[0] = 0;
  for (let i = 0; i < 16; i++) message17[i + 1] = parseInt(hex.substr(i * 2, 2), 16);
  hmacSha256Into(key, message17, digest, 0);
  digest[6] = (digest[6]! & 0x0f) | 0x40;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const h = toHex(digest, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
