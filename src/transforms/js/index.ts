/**
 * The JS implementation table: every function the plv8 runtime can call, by the name a
 * TransformDefinition's `plv8` signatures give in `js`. plv8/ bundles this module and
 * `pgmask._plv8_init()` stores the table on globalThis.
 *
 * Arguments arrive as PLV8 converts them: text→string, float8/int4→number,
 * boolean→boolean, jsonb→object, bytea→Uint8Array; every other type (int2, int8, numeric,
 * date, timestamp, timestamptz, uuid…) crosses as text in PostgreSQL's text output format
 * (plv8/ generates the casting SQL wrapper), and a result of such a type is returned as text. Nothing here may use Node APIs,
 * Buffer, TextEncoder or crypto (ARCHITECTURE.md "PLV8 rules").
 */
import { pseudonymizeInt2, pseudonymizeInt4, pseudonymizeInt8, pseudonymizeText, pseudonymizeUuid } from './pseudonymize.ts';
import { shiftDateDays } from './shift-date.ts';
import { generalizeDate } from './generalize-date.ts';
import { ageBirthDate, ageBirthTimestamp, ageYears } from './age.ts';
import { birthYear } from './birth-year.ts';
import { zip3 } from './zip3.ts';
import { noise, noiseLaplace } from './noise.ts';
import { bucket, bucketLabel } from './bucket.ts';
import { partial } from './partial.ts';
import { fake } from './fake.ts';
import { signalNoise } from './signal.ts';
import { decryptFpe, decryptText, encryptFpe, encryptText, ff1Decrypt, ff1Encrypt, tokenVersion } from './encrypt.ts';

export const implementations: Record<string, (...args: any[]) => unknown> = {
  pseudonymize_text: pseudonymizeText,
  pseudonymize_int2: pseudonymizeInt2,
  pseudonymize_int4: pseudonymizeInt4,
  pseudonymize_int8: pseudonymizeInt8,
  pseudonymize_uuid: pseudonymizeUuid,
  shift_date_days: shiftDateDays,
  generalize_date: generalizeDate,
  age_years: ageYears,
  age_birth_date: ageBirthDate,
  age_birth_timestamp: ageBirthTimestamp,
  birth_year: birthYear,
  zip3,
  noise,
  noise_laplace: noiseLaplace,
  bucket,
  bucket_label: bucketLabel,
  partial,
  fake,
  encrypt: encryptText,
  decrypt: decryptText,
  encrypt_fpe: encryptFpe,
  decrypt_fpe: decryptFpe,
  ff1_encrypt: ff1Encrypt,
  ff1_decrypt: ff1Decrypt,
  token_version: tokenVersion,
  signal_noise: signalNoise,
};
