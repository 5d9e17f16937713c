import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './db.ts';

/**
 * The smallest masked setup the operations tests need: public.patients (patient_id, weight_kg)
 * with a few rows, and a policy masking it into `masked` for one masking role.
 */
export function patientsPolicy(o: { role: string; members: readonly string[]; weight?: string; materialize?: boolean; moreTables?: string }): string {
  return `version: 1
source_schema: public
masked_schema: masked
runtime: sql
subject: patient_id
roles:
  ${o.role}:
    members: [${o.members.join(', ')}]
tables:
  patients:${o.materialize ? '\n    materialize: true' : ''}
    columns:
      patient_id: pseudonymize
      weight_kg: ${o.weight ?? '{ noise: { relative: 0.05 } }'}
${o.moreTables ?? ''}`;
}

export interface PatientsFixture {
  readonly db: TestDatabase;
  /** a temporary directory for policy files */
  readonly dir: string;
  drop(): Promise<void>;
}

/** A test database holding public.patients with `rows` rows, and a temporary directory. */
export async function patientsDatabase(prefix: string, rows = 3): Promise<PatientsFixture> {
  const db = await createTestDatabase(prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  await db.query(`CREATE TABLE public.patients (patient_id text PRIMARY KEY, weight_kg float8);
INSERT INTO public.patients SELECT 'P' || i, 60 + i FROM generate_series(1, ${Math.trunc(rows)}) i`);
  return {
    db,
    dir,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    },
  };
}
