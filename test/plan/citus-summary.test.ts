import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { planMigration } from '../../src/plan/planner.ts';
import { formatPlanSummary, summarizePlan } from '../../src/plan/plan-summary.ts';
import { NO_ACCESS_STATE } from '../../src/catalog/access-state.ts';
import type { CatalogSnapshot } from '../../src/catalog/catalog-snapshot.ts';
import { citusClinicSnapshot, clinicTables, plainClinicSnapshot } from './citus-fixture.ts';

/** `pgmask plan` in Citus mode: the masked tables, how each is placed, and what the coordinator holds today. */
const clinicYaml = readFileSync(new URL('../../examples/clinic.yaml', import.meta.url), 'utf8');
const summary = (snapshot: CatalogSnapshot, extra = '') => {
  const policy = parsePolicy(clinicYaml + extra, 'examples/clinic.yaml', registry);
  const plan = planMigration({ policy, snapshot, registry, runtime: 'sql', runtimeSql: '', pgmaskVersion: '0.1.0' });
  return summarizePlan(plan, snapshot, NO_ACCESS_STATE);
};

describe('plan summary in Citus mode', () => {
  it('lists every masked table as added, with its distribution column and co-location', () => {
    const s = summary(citusClinicSnapshot());
    expect(s.relations.map((r) => [r.relation, r.change, r.notes])).toEqual([
      ['masked.patients', 'added', ['Citus masked table']],
      ['masked.encounters', 'added', ['Citus masked table']],
      ['masked.observations', 'added', ['Citus masked table']],
      ['masked.notes', 'added', ['Citus masked table']],
    ]);
    expect(s.citus).toEqual([
      { relation: 'masked.patients', placement: 'distributed', distributionColumn: 'patient_id', colocateWith: null, live: null },
      { relation: 'masked.encounters', placement: 'distributed', distributionColumn: 'patient_id', colocateWith: 'masked.patients', live: null },
      { relation: 'masked.observations', placement: 'distributed', distributionColumn: 'patient_id', colocateWith: 'masked.patients', live: null },
      { relation: 'masked.notes', placement: 'distributed', distributionColumn: 'patient_id', colocateWith: 'masked.patients', live: null },
    ]);
    const text = formatPlanSummary(s);
    expect(text).toContain('relations: 4 added, 0 changed, 0 dropped, 0 unchanged');
    expect(text).toContain('citus: masked.patients distributed by patient_id, first of its co-location group');
    expect(text).toContain('citus: masked.notes distributed by patient_id, co-located with masked.patients');
  });

  it('shows a reference table, and how the coordinator places a table today when it differs', () => {
    const vocabulary = { ...clinicTables[0]!, name: 'lab_codes', primaryKey: ['code'], foreignKeys: [], columns: [clinicTables[0]!.columns[4]!, { ...clinicTables[0]!.columns[5]!, name: 'code', position: 2 }] };
    const base = citusClinicSnapshot();
    const masked = { schema: 'masked', name: 'patients', placement: 'reference' as const, distributionColumn: null, colocationId: 0 };
    const snapshot = citusClinicSnapshot({ tables: [...clinicTables, vocabulary], citus: { ...base.citus!, tables: [...base.citus!.tables, masked] } });
    const s = summary(snapshot, '  lab_codes:\n    columns:\n      department: keep\n      code: keep\n');
    expect(s.citus!.find((c) => c.relation === 'masked.lab_codes')).toEqual({ relation: 'masked.lab_codes', placement: 'reference', distributionColumn: null, colocateWith: null, live: null });
    const text = formatPlanSummary(s);
    expect(text).toContain('citus: masked.lab_codes reference table (one shard on every node)');
    expect(text).toContain('citus: masked.patients distributed by patient_id, first of its co-location group (now: reference)');
  });

  it('says nothing about Citus on a plain server (the summary has no citus field)', () => {
    const s = summary(plainClinicSnapshot());
    expect(s.relations.map((r) => r.notes)).toEqual([['view'], ['view'], ['view'], ['view']]);
    expect('citus' in s).toBe(false);
    expect(formatPlanSummary(s)).not.toMatch(/citus/i);
  });
});
