/**
 * HMAC-SHA256 written for PLV8, where it runs once per masked value.
 *
 * Why not @noble/hashes (which stays the reference the tests compare against): a generic
 * HMAC re-hashes the key pads and allocates hash objects on every call; measured ~29 µs
 * per call inside PLV8 against 2–5 µs for pgcrypto (issue 3). Here the SHA-256 states
 * after the inner and outer key pads are computed once per key and cached, a short
 * message (≤ 55 bytes, the common case) is one compression for the inner hash plus one
 * for the outer, and all scratch buffers are module-level, so a call allocates only
 * its 32-byte result (and nothing with hmacSha256Into).
 *
 * Pure JavaScript with no Buffer/TextEncoder/crypto (ARCHITECTURE.md "PLV8 rules").
 */
import { utf8EncodeInto, utf8Length } from './utf8.ts';

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** message schedule scratch */
const W = new Int32Array(64);

/** SHA-256 compression of the 64 bytes at buf[off…] into state (8 words). */
function compress(state: Int32Array, buf: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4) {
    W[i] = (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
  }
  compressW(state);
}

/** Compression with W[0..15] already filled. */
function compressW(state: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** SHA-256 states after absorbing (key ⊕ ipad) and (key ⊕ opad): 16 words. */
interface KeyPads {
  readonly key: Uint8Array;
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

function computePads(key: Uint8Array): KeyPads {
  let k = key;
  if (k.length > 64) k = sha256(k);
  const block = new Uint8Array(64);
  const inner = new Int32Array(IV);
  const outer = new Int32Array(IV);
  for (let i = 0; i < 64; i++) block[i] = (k[i] ?? 0) ^ 0x36;
  compress(inner, block, 0);
  for (let i = 0; i < 64; i++) block[i] = (k[i] ?? 0) ^ 0x5c;
  compress(outer, block, 0);
  return { key: key.slice(), inner, outer };
}

const MAX_CACHED_KEYS = 64;
const padCache = new Map<string, KeyPads>();
let lastPads: KeyPads | null = null;

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Pads for a key. PLV8 hands every call a fresh Uint8Array for the same key bytea, so the
 * cache compares bytes: first with the last key used (a view column uses one key), then
 * in a small map keyed by the key's bytes as a string.
 */
function padsFor(key: Uint8Array): KeyPads {
  if (lastPads !== null && sameBytes(lastPads.key, key)) return lastPads;
  let id = '';
  for (let i = 0; i < key.length; i++) id += String.fromCharCode(key[i]!);
  let pads = padCache.get(id);
  if (pads === undefined) {
    pads = computePads(key);
    // bounded: a query uses a handful of keys; a flood of distinct keys just starts over
    if (padCache.size >= MAX_CACHED_KEYS) padCache.clear();
    padCache.set(id, pads);
  }
  lastPads = pads;
  return pads;
}

const state = new Int32Array(8);
const tail = new Uint8Array(128);

/**
 * Hashes `len` bytes of msg starting from a state that has already absorbed `prefixLen`
 * bytes (64 for an HMAC pad), leaving the digest words in `state`.
 */
function finish(from: Int32Array, msg: Uint8Array, len: number, prefixLen: number): void {
  state.set(from);
  let off = 0;
  while (len - off >= 64) {
    compress(state, msg, off);
    off += 64;
  }
  const rest = len - off;
  for (let i = 0; i < rest; i++) tail[i] = msg[off + i]!;
  tail[rest] = 0x80;
  const blocks = rest < 56 ? 1 : 2;
  const end = blocks * 64;
  tail.fill(0, rest + 1, end - 8);
  // bit length as a 64-bit big-endian integer; messages stay far below 2^53 bits
  const bits = (len + prefixLen) * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  tail[end - 8] = hi >>> 24;
  tail[end - 7] = hi >>> 16;
  tail[end - 6] = hi >>> 8;
  tail[end - 5] = hi;
  tail[end - 4] = lo >>> 24;
  tail[end - 3] = lo >>> 16;
  tail[end - 2] = lo >>> 8;
  tail[end - 1] = lo;
  compress(state, tail, 0);
  if (blocks === 2) compress(state, tail, 64);
}

/** Outer hash: the 32-byte inner digest (in `state`) as one padded block from the outer pad state. */
function outerHash(outer: Int32Array, out: Uint8Array, outOff: number): void {
  for (let i = 0; i < 8; i++) W[i] = state[i]!;
  W[8] = 0x80000000 | 0;
  for (let i = 9; i < 15; i++) W[i] = 0;
  W[15] = (64 + 32) * 8;
  state.set(outer);
  compressW(state);
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    out[outOff++] = v >>> 24;
    out[outOff++] = v >>> 16;
    out[outOff++] = v >>> 8;
    out[outOff++] = v;
  }
}

/** HMAC-SHA256(key, message) written into out[outOff … outOff+32). */
export function hmacSha256Into(key: Uint8Array, message: Uint8Array, out: Uint8Array, outOff: number = 0): void {
  const pads = padsFor(key);
  finish(pads.inner, message, message.length, 64);
  outerHash(pads.outer, out, outOff);
}

/** HMAC-SHA256(key, message): 32 bytes. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  hmacSha256Into(key, message, out, 0);
  return out;
}

let textScratch = new Uint8Array(256);

/**
 * Fast path for the common pseudonym input, an ASCII string of at most 55 characters:
 * its bytes go straight into the message schedule (one padded block), skipping the
 * encoder, the scratch copy and the byte-to-word packing. Returns false when it does not apply.
 */
function asciiBlockInto(pads: KeyPads, text: string, out: Uint8Array, outOff: number): boolean {
  const n = text.length;
  if (n > 55) return false;
  for (let i = 0; i < 16; i++) W[i] = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return false;
    W[i >> 2]! |= c << (24 - 8 * (i & 3));
  }
  W[n >> 2]! |= 0x80 << (24 - 8 * (n & 3));
  W[15] = (64 + n) * 8;
  state.set(pads.inner);
  compressW(state);
  outerHash(pads.outer, out, outOff);
  return true;
}

/** HMAC-SHA256(key, UTF-8 bytes of text) without allocating the encoded message. */
export function hmacSha256TextInto(key: Uint8Array, text: string, out: Uint8Array, outOff: number = 0): void {
  const pads = padsFor(key);
  if (asciiBlockInto(pads, text, out, outOff)) return;
  const n = utf8Length(text);
  if (n > textScratch.length) textScratch = new Uint8Array(Math.max(n, textScratch.length * 2));
  utf8EncodeInto(text, textScratch, 0);
  finish(pads.inner, textScratch, n, 64);
  outerHash(pads.outer, out, outOff);
}

/**
 * HMAC-SHA256(key, 8-byte message hi‖lo, both 32-bit big-endian) into out: one padded
 * block built directly as words (the integer pseudonym's Feistel round function).
 */
export function hmacSha256Words2Into(key: Uint8Array, hi: number, lo: number, out: Uint8Array, outOff: number = 0): void {
  const pads = padsFor(key);
  W[0] = hi | 0;
  W[1] = lo | 0;
  W[2] = 0x80000000 | 0;
  for (let i = 3; i < 15; i++) W[i] = 0;
  W[15] = (64 + 8) * 8;
  state.set(pads.inner);
  compressW(state);
  outerHash(pads.outer, out, outOff);
}

/** HMAC-SHA256(key, UTF-8 bytes of text): 32 bytes. */
export function hmacSha256Text(key: Uint8Array, text: string): Uint8Array {
  const out = new Uint8Array(32);
  hmacSha256TextInto(key, text, out, 0);
  return out;
}

/** Plain SHA-256 (used for keys longer than a block, as HMAC requires). */
export function sha256(message: Uint8Array): Uint8Array {
  finish(IV, message, message.length, 0);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}
