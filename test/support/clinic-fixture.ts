import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClinicalSchema, loadClinicalData } from '../../src/demo/synthetic.ts';
import type { TestDatabase } from './db.ts';

/** examples/clinic.yaml for one test file: the sql runtime, and this file's own masking role and member (roles are cluster-wide). */
export function clinicPolicy(role: string, reader: string): string {
  return readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'clinic.yaml'), 'utf8')
    .replace('runtime: auto', 'runtime: sql')
    .replace('analyst:', `${role}:`)
    .replace('[metabase_reader]', `[${reader}]`);
}

/** The synthetic clinic of src/demo (patients, encounters, observations, notes) in public, `scale` encounters, deterministic from `seed`. */
export async function loadClinic(db: TestDatabase, opts: { readonly scale: number; readonly seed: number }): Promise<void> {
  const c = await db.pool.connect();
  try {
    await createClinicalSchema(c);
    await loadClinicalData(c, opts);
  } finally {
    c.release();
  }
}
