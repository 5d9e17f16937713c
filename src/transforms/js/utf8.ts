/**
 * UTF-8 encoding without TextEncoder (PLV8 has bare V8 globals, ARCHITECTURE.md "PLV8 rules").
 * Behaves like TextEncoder: astral characters from surrogate pairs become 4 bytes, a lone
 * surrogate becomes U+FFFD (EF BF BD). PostgreSQL text never holds a lone surrogate, but a
 * JavaScript caller can pass one.
 */
export function utf8Encode(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s));
  utf8EncodeInto(s, out, 0);
  return out;
}

/** Number of bytes utf8Encode(s) produces. */
export function utf8Length(s: string): number {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Writes the UTF-8 bytes of s into out at offset; returns the offset after the last byte. Caller sizes out with utf8Length. */
export function utf8EncodeInto(s: string, out: Uint8Array, offset: number): number {
  let p = offset;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[p++] = c;
      continue;
    }
    if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[p++] = 0xf0 | (c >> 18);
        out[p++] = 0x80 | ((c >> 12) & 0x3f);
        out[p++] = 0x80 | ((c >> 6) & 0x3f);
        out[p++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    out[p++] = 0xe0 | (c >> 12);
    out[p++] = 0x80 | ((c >> 6) & 0x3f);
    out[p++] = 0x80 | (c & 0x3f);
  }
  return p;
}

/** two hex digits per byte value, built once */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) => (b < 16 ? '0' : '') + b.toString(16));

/** Lowercase hex of the first `length` bytes (what PostgreSQL's encode(…, 'hex') gives). */
export function toHex(bytes: Uint8Array, length: number = bytes.length): string {
  let s = '';
  const n = Math.min(length, bytes.length);
  for (let i = 0; i < n; i++) s += HEX_PAIRS[bytes[i]!]!;
  return s;
}

/** Bytes from a hex string (no `\x` prefix); throws on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`not a hex string: ${hex.slice(0, 40)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/**
 * Text from UTF-8 bytes (no TextDecoder in PLV8). Only called on bytes that were UTF-8
 * text when encrypted (the tag was checked first); a malformed sequence becomes U+FFFD.
 */
export function utf8Decode(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      s += String.fromCharCode(b);
      i++;
      continue;
    }
    const need = b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xc0 && b < 0xe0 ? 1 : 0;
    let c = need === 0 ? -1 : b & (0x3f >> need);
    for (let j = 1; j <= need && c >= 0; j++) {
      const cont = bytes[i + j];
      c = cont !== undefined && (cont & 0xc0) === 0x80 ? (c << 6) | (cont & 0x3f) : -1;
    }
    if (c < 0 || c > 0x10ffff) {
      s += '\ufffd';
      i++;
      continue;
    }
    s += String.fromCodePoint(c);
    i += need + 1;
  }
  return s;
}
