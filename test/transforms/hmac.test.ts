/**
 * The shipped HMAC-SHA256 / SHA-256 / UTF-8 encoder (src/transforms/js) against the
 * references: @noble/hashes, node:crypto and TextEncoder, on random and edge inputs.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { hmacSha256, hmacSha256Into, hmacSha256Text, hmacSha256Words2Into, sha256 } from '../../src/transforms/js/hmac.ts';
import { fromHex, toHex, utf8Encode, utf8Length } from '../../src/transforms/js/utf8.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** deterministic pseudo-random lengths so a failure reproduces */
function* lengths(seed: number, count: number, max: number): Generator<number> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    yield x % (max + 1);
  }
}

describe('hmacSha256', () => {
  it('matches RFC 4231 test case 2', () => {
    const out = hmacSha256(utf8Encode('Jefe'), utf8Encode('what do ya want for nothing?'));
    expect(hex(out)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('matches @noble/hashes on 3000 random keys and messages (0–300 bytes, keys 0–200 bytes)', () => {
    const keyLens = lengths(7, 3000, 200);
    const msgLens = lengths(11, 3000, 300);
    const mismatches: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = randomBytes(keyLens.next().value as number);
      const msg = randomBytes(msgLens.next().value as number);
      const mine = hex(hmacSha256(key, msg));
      if (mine !== hex(hmac(nobleSha256, key, msg))) mismatches.push(`key ${hex(key)} msg ${hex(msg)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('handles every length around the block and padding boundaries, and long keys', () => {
    const key = randomBytes(32);
    for (let n = 0; n <= 200; n++) {
      const msg = randomBytes(n);
      expect(hex(hmacSha256(key, msg)), `length ${n}`).toBe(createHmac('sha256', key).update(msg).digest('hex'));
    }
    for (const kl of [0, 1, 63, 64, 65, 128, 1000]) {
      const k = randomBytes(kl);
      expect(hex(hmacSha256(k, utf8Encode('A1234'))), `key length ${kl}`).toBe(createHmac('sha256', k).update('A1234').digest('hex'));
    }
    const big = randomBytes(1 << 20);
    expect(hex(hmacSha256(key, big))).toBe(createHmac('sha256', key).update(big).digest('hex'));
  });

  it('caches key pads by content: a mutated or alternating key never reuses stale pads', () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const msg = utf8Encode('x');
    for (let i = 0; i < 5; i++) {
      expect(hex(hmacSha256(k1, msg))).toBe(createHmac('sha256', k1).update(msg).digest('hex'));
      expect(hex(hmacSha256(k2, msg))).toBe(createHmac('sha256', k2).update(msg).digest('hex'));
    }
    // the same buffer with new content (PLV8 may reuse memory)
    const k = new Uint8Array(32).fill(3);
    hmacSha256(k, msg);
    k[31] = 4;
    expect(hex(hmacSha256(k, msg))).toBe(createHmac('sha256', k).update(msg).digest('hex'));
    // more distinct keys than the cache holds
    for (let i = 0; i < 200; i++) {
      const ki = randomBytes(16);
      expect(hex(hmacSha256(ki, msg))).toBe(createHmac('sha256', ki).update(msg).digest('hex'));
    }
  });

  it('hmacSha256Into writes at an offset and hmacSha256Text equals HMAC of the UTF-8 bytes', () => {
    const key = randomBytes(32);
    const out = new Uint8Array(40);
    hmacSha256Into(key, utf8Encode('abc'), out, 8);
    expect(hex(out.subarray(8))).toBe(createHmac('sha256', key).update('abc').digest('hex'));
    expect(hex(out.subarray(0, 8))).toBe('0000000000000000');
    for (const s of ['', 'é', '😀'.repeat(100), 'a'.repeat(1000), 'x\u0301']) {
      expect(hex(hmacSha256Text(key, s))).toBe(createHmac('sha256', key).update(s, 'utf8').digest('hex'));
    }
  });
});

describe('hmacSha256Text fast paths', () => {
  it('matches node:crypto for ASCII and non-ASCII strings of every length 0–80', () => {
    const key = randomBytes(32);
    for (let n = 0; n <= 80; n++) {
      const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7 + n) % 95))).join('');
      expect(hex(hmacSha256Text(key, ascii)), `ascii ${n}`).toBe(createHmac('sha256', key).update(ascii, 'utf8').digest('hex'));
      const mixed = ascii.slice(0, Math.max(0, n - 1)) + (n > 0 ? 'é' : '');
      expect(hex(hmacSha256Text(key, mixed)), `mixed ${n}`).toBe(createHmac('sha256', key).update(mixed, 'utf8').digest('hex'));
    }
    expect(hex(hmacSha256Text(key, '\u007f'))).toBe(createHmac('sha256', key).update('\u007f', 'utf8').digest('hex'));
  });

  it('hmacSha256Words2Into equals HMAC of the 8 big-endian bytes', () => {
    const key = randomBytes(32);
    const out = new Uint8Array(32);
    for (const [hi, lo] of [[0, 0], [1, 2], [0xffffffff, 0xffffffff], [0x80000000, 0x7fffffff], [352, 65535]] as const) {
      hmacSha256Words2Into(key, hi, lo, out, 0);
      const msg = Buffer.alloc(8);
      msg.writeUInt32BE(hi >>> 0, 0);
      msg.writeUInt32BE(lo >>> 0, 4);
      expect(hex(out), `${hi} ${lo}`).toBe(createHmac('sha256', key).update(msg).digest('hex'));
    }
  });
});

describe('sha256', () => {
  it('matches @noble/hashes for lengths 0–300', () => {
    for (let n = 0; n <= 300; n++) {
      const msg = randomBytes(n);
      expect(hex(sha256(msg)), `length ${n}`).toBe(hex(nobleSha256(msg)));
    }
  });
});

describe('utf8Encode', () => {
  const te = new TextEncoder();
  it('matches TextEncoder on astral characters, combining marks and lone surrogates', () => {
    const samples = ['', 'abc', 'é', 'e\u0301', '€', '患者', '😀', '𝔘𝔫', '\ud800', '\udc00', 'a\ud800b', '\udbff\udfff', '\ud83d', 'x\ud83d\ude00\ud83d', '\u007f\u0080\u07ff\u0800\uffff'];
    for (const s of samples) {
      expect(hex(utf8Encode(s)), JSON.stringify(s)).toBe(hex(te.encode(s)));
      expect(utf8Length(s)).toBe(te.encode(s).length);
    }
  });

  it('matches TextEncoder on 2000 random UTF-16 strings (incl. unpaired surrogates)', () => {
    for (let i = 0; i < 2000; i++) {
      const n = i % 50;
      let s = '';
      for (let j = 0; j < n; j++) {
        const r = Math.random();
        s += String.fromCharCode(r < 0.3 ? Math.floor(Math.random() * 128) : r < 0.6 ? 0xd800 + Math.floor(Math.random() * 0x800) : Math.floor(Math.random() * 0x10000));
      }
      expect(hex(utf8Encode(s)), JSON.stringify(s)).toBe(hex(te.encode(s)));
    }
  });

  it('toHex/fromHex round-trip and toHex truncates to a length', () => {
    const b = randomBytes(33);
    expect(toHex(b)).toBe(hex(b));
    expect(fromHex(toHex(b))).toEqual(new Uint8Array(b));
    expect(toHex(b, 10)).toBe(hex(b).slice(0, 20));
    expect(() => fromHex('abc')).toThrow();
  });
});
