/**
 * A small clinic for the key tests: patients with distinct MRNs (10 digits) and study ids,
 * and a policy with every keyed transform, an encrypt column in both modes, an analyst
 * and an honest broker. Role names carry a suffix (roles are cluster-wide).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PATIENT_ROWS = 1000;

export const schemaSql = (rows = PATIENT_ROWS) => `
CREATE TABLE public.patients (
  patient_id int4 PRIMARY KEY,
  mrn text NOT NULL UNIQUE,
  study_id varchar(12) NOT NULL,
  birth_date date NOT NULL,
  weight_kg float8,
  email text
);
INSERT INTO public.patients
SELECT i, lpad((i * 7919 + 1234567)::text, 10, '0'), 'ST-' || lpad(i::text, 5, '0') || 'x', date '1940-01-01' + (i * 37) % 20000,
       40 + (i * 13) % 70, 'p' || i || '@example.org'
FROM generate_series(1, ${rows}) AS i;`;

export interface KeyPolicyNames {
  readonly analyst: string;
  readonly analystLogin: string;
  readonly broker: string;
  readonly brokerLogin: string;
}

export function keyPolicyYaml(n: KeyPolicyNames, runtime: 'sql' | 'plv8' = 'sql'): string {
  return `version: 1
runtime: ${runtime}
subject: patient_id
keys: [default, reid]
roles:
  ${n.analyst}:
    members: [${n.analystLogin}]
brokers:
  ${n.broker}:
    members: [${n.brokerLogin}]
tables:
  patients:
    columns:
      patient_id: pseudonymize
      mrn: { encrypt: { key: reid, preserve_format: true } }
      study_id: { encrypt: { key: reid } }
      birth_date: { shift_date: { max_days: 30 } }
      weight_kg: { noise: { relative: 0.05, decimals: 1 } }
      email: { fake: { kind: email } }
`;
}

/** Writes text to a new temporary file and returns its path. */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgmask-keys-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
