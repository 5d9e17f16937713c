import { createHash } from 'node:crypto';

/** sha256 of a text (UTF-8) as lowercase hex: policy hashes, migration checksums, short stable names. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
