import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { planMigration } from '../../src/plan/planner.ts';
import { renderNode, renderPlan } from '../../src/plan/render.ts';
import { PgmaskError } from '../../src/errors.ts';
import type { CatalogSnapshot } from '../../src/catalog/catalog-snapshot.ts';
import { citusClinicSnapshot, clinicTables, plainClinicSnapshot } from './citus-fixture.ts';

const clinicYaml = readFileSync(new URL('../../examples/clinic.yaml', import.meta.url), 'utf8');
const clinic = (extra = '') => parsePolicy(clinicYaml + extra, 'examples/clinic.yaml', registry);
// the runtime's install SQL (sql/*.sql) is pinned by its own tests; here it would bury the Citus statements
const RUNTIME = '-- (the sql runtime: sql/*.sql, installed here unchanged)';
const plan = (snapshot: CatalogSnapshot, extra = '') => planMigration({ policy: clinic(extra), snapshot, registry, runtime: 'sql', runtimeSql: RUNTIME, pgmaskVersion: '0.1.0' });

function planError(fn: () => unknown): PgmaskError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PgmaskError) return e;
    throw e;
  }
  throw new Error('expected a PgmaskError');
}

describe('Citus mode: the clinic migration', () => {
  const migration = plan(citusClinicSnapshot());
  const text = renderPlan(migration);

  it('is pinned statement by statement (test/plan/citus-clinic.sql, reviewed against the Citus documentation)', async () => {
    await expect(text).toMatchFileSnapshot('./citus-clinic.sql');
  });

  it('makes every masked relation a table distributed by the pseudonymized patient_id, co-located with masked.patients', () => {
    const tables = migration.nodes.filter((n) => n.kind === 'CreateCitusMaskedTable');
    expect(tables.map((t) => [t.name, t.placement])).toEqual([
      ['patients', { kind: 'distributed', column: 'patient_id', colocateWith: null }],
      ['encounters', { kind: 'distributed', column: 'patient_id', colocateWith: { schema: 'masked', name: 'patients' } }],
      ['observations', { kind: 'distributed', column: 'patient_id', colocateWith: { schema: 'masked', name: 'patients' } }],
      ['notes', { kind: 'distributed', column: 'patient_id', colocateWith: { schema: 'masked', name: 'patients' } }],
    ]);
    // every unique index includes the distribution column (Citus refuses one that does not)
    for (const t of tables) for (const ix of t.indexes.filter((i) => i.unique)) expect(ix.columns).toContain('patient_id');
    expect(text).not.toMatch(/CREATE (OR REPLACE )?(MATERIALIZED )?VIEW/);
  });

  it('fills each table without ORDER BY (Citus repartitions the INSERT … SELECT), then CLUSTERs it on its masked key', () => {
    const fills = migration.nodes.filter((n) => n.kind === 'FillCitusMaskedTable');
    expect(fills.map((f) => f.name)).toEqual(['patients', 'encounters', 'observations', 'notes']);
    for (const f of fills) {
      const sql = renderNode(f).text;
      const statements = sql.split('\n').filter((l) => !l.startsWith('--')).join('\n');
      expect(statements).not.toMatch(/ORDER BY|LIMIT/);
      expect(sql).toMatch(new RegExp(`CLUSTER "masked"\\."${f.name}" USING "pgmask_[0-9a-f]{12}_key";`));
    }
    // the consent cascade reaches observations through the composite (co-located) foreign key
    expect(renderNode(fills[2]!).text).toContain('"pgmask_s1"."patient_id" = "src"."patient_id" AND "pgmask_s1"."encounter_id" = "src"."encounter_id"');
  });

  it('runs in sequential mode and makes the keys a reference table before any table is filled', () => {
    const kinds = migration.nodes.map((n) => n.kind);
    expect(kinds.indexOf('CitusPreamble')).toBe(kinds.indexOf('Preamble') + 1);
    expect(kinds.indexOf('CitusReferenceKeys')).toBe(kinds.lastIndexOf('EnsureKey') + 1);
    expect(kinds.indexOf('CitusReferenceKeys')).toBeLessThan(kinds.indexOf('FillCitusMaskedTable'));
    expect(kinds.lastIndexOf('CreateCitusMaskedTable')).toBeLessThan(kinds.indexOf('FillCitusMaskedTable'));
  });

  it('gives a table without a subject column a reference table', () => {
    const vocabulary = { ...clinicTables[0]!, name: 'lab_codes', primaryKey: ['code'], foreignKeys: [], columns: [clinicTables[0]!.columns[4]!, { ...clinicTables[0]!.columns[5]!, name: 'code', position: 2 }] };
    const snapshot = citusClinicSnapshot({ tables: [...clinicTables, vocabulary] });
    const nodes = plan(snapshot, '  lab_codes:\n    columns:\n      department: keep\n      code: keep\n').nodes;
    const lab = nodes.find((n) => n.kind === 'CreateCitusMaskedTable' && n.name === 'lab_codes');
    expect(lab).toMatchObject({ placement: { kind: 'reference' } });
    expect(renderNode(lab!).text).toContain(`SELECT pg_catalog.create_reference_table('"masked"."lab_codes"');`);
  });
});

describe('Citus mode: what it refuses', () => {
  it('refuses `citus: true` on a server without the citus extension (CITUS_UNAVAILABLE, exit 3)', () => {
    const e = planError(() => plan(plainClinicSnapshot(), 'citus: true\n'));
    expect(e.code).toBe('CITUS_UNAVAILABLE');
    expect(e.exitCode).toBe(3);
  });

  it('refuses a consent route between distributed tables that does not pair their distribution columns', () => {
    const tables = clinicTables.map((t) =>
      t.name === 'observations' ? { ...t, foreignKeys: [{ name: 'observations_encounter_fkey', columns: ['encounter_id'], refSchema: 'public', refTable: 'encounters', refColumns: ['encounter_id'] }, t.foreignKeys[1]!] } : t,
    );
    const e = planError(() => plan(citusClinicSnapshot({ tables })));
    expect(e.details.map((d) => d.code)).toEqual(['CITUS_ROUTE_NOT_COLOCATED']);
    expect(e.details[0]!.message).toContain('public.observations (encounter_id) → public.encounters (encounter_id)');
  });

  it('refuses a subject column masked by a transform that cannot distribute rows', () => {
    // notes as a reference table keyed by note_id alone, so only the subject's rule is in question
    const tables = clinicTables.map((t) => (t.name === 'notes' ? { ...t, primaryKey: ['note_id'] } : t));
    const citus = citusClinicSnapshot().citus!;
    const snapshot = citusClinicSnapshot({ tables, citus: { ...citus, tables: citus.tables.map((t) => (t.name === 'notes' ? { ...t, placement: 'reference' as const, distributionColumn: null, colocationId: 0 } : t)) } });
    const policy = parsePolicy(clinicYaml.replace('      note_id: pseudonymize\n      encounter_id: pseudonymize\n      patient_id: pseudonymize', '      note_id: pseudonymize\n      encounter_id: pseudonymize\n      patient_id: redact'), 'examples/clinic.yaml', registry);
    const e = planError(() => planMigration({ policy, snapshot, registry, runtime: 'sql', runtimeSql: RUNTIME, pgmaskVersion: '0.1.0' }));
    expect(e.details.map((d) => d.code)).toEqual(['CITUS_SUBJECT_NOT_DISTRIBUTABLE']);
    expect(e.details[0]!.message).toContain('public.notes.patient_id is the subject column');
  });
});

describe('a plain PostgreSQL server never gets a Citus statement', () => {
  it('plans views, and no node or text refers to Citus', () => {
    const migration = plan(plainClinicSnapshot());
    expect(migration.nodes.some((n) => n.kind.startsWith('Citus') || n.kind.includes('Citus'))).toBe(false);
    expect(renderPlan(migration)).not.toMatch(/citus|pg_dist_|create_distributed_table|create_reference_table/i);
  });

  it('`citus: false` keeps views on a Citus coordinator too (a reviewed choice)', () => {
    expect(plan(citusClinicSnapshot(), 'citus: false\n').nodes.some((n) => n.kind === 'CreateCitusMaskedTable')).toBe(false);
  });
});
