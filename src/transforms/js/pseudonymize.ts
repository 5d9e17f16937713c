/**
 * JavaScript implementation of pgmask.pseudonymize (plv8 runtime and TypeScript reference).
 * Must give the same bytes as sql/pseudonymize.sql.
 */
import { hmacSha256TextInto } from './hmac.ts';
import { toHex } from './utf8.ts';

const DEFAULT_BYTES = 10;

export interface PseudonymizeOpts {
  readonly prefix?: string;
  readonly length?: number;
}

const digest = new Uint8Array(32);

/** prefix || hex(first `length` bytes of HMAC-SHA256(key, UTF-8(value))) */
export function pseudonymizeText(value: string, key: Uint8Array, opts: PseudonymizeOpts | null): string {
  hmacSha256TextInto(key, value, digest, 0);
  const prefix = opts?.prefix ?? '';
  const length = opts?.length ?? DEFAULT_BYTES;
  return prefix + toHex(digest, length);
}
