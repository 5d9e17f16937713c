/**
 * HMAC-SHA256(key, label NUL part1 [NUL part2 …]) for the keyed transforms other than
 * pseudonymize. The label separates the uses of one key: without it, shift_date's offset
 * would be read off the subject's pseudonym (both would be HMAC(key, subject)), and an
 * analyst who sees pseudonymized patient ids could undo every date shift. PostgreSQL text
 * never contains NUL, so the parts cannot be re-split into another message.
 * The SQL twins build the same bytes: '\x<label hex>00'::bytea || convert_to(part, 'UTF8').
 */
import { hmacSha256 } from './hmac.ts';
import { utf8EncodeInto, utf8Length } from './utf8.ts';

export function labelledDigest(key: Uint8Array, label: string, ...parts: readonly string[]): Uint8Array {
  let n = utf8Length(label);
  for (const p of parts) n += 1 + utf8Length(p);
  const message = new Uint8Array(n);
  let at = utf8EncodeInto(label, message, 0);
  for (const p of parts) {
    message[at++] = 0;
    at = utf8EncodeInto(p, message, at);
  }
  return hmacSha256(key, message);
}

/** The unsigned big-endian 32-bit integer at digest[offset … offset+4), as the SQL twins read it: ('x' || encode(substr(h, offset + 1, 4), 'hex'))::bit(32)::bigint */
export function readUint32(digest: Uint8Array, offset: number): number {
  return digest[offset]! * 0x1000000 + ((digest[offset + 1]! << 16) | (digest[offset + 2]! << 8) | digest[offset + 3]!);
}
