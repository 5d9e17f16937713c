import { describe, it, expect } from 'vitest';
import type { CatalogSnapshot, CatalogTable, ForeignKey } from '../../src/catalog/catalog-snapshot.ts';
import { designSnapshot, table } from '../policy/fixtures.ts';
import { registry } from '../../src/transforms/registry.ts';
import { planMigration } from '../../src/plan/planner.ts';
import { renderNode } from '../../src/plan/render.ts';
import type { CreateMaskedView } from '../../src/plan/nodes.ts';
import { PgmaskError } from '../../src/errors.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

/** Consent filters cascade through foreign keys; an ambiguous route asks the policy to decide; row order is keyed. */

const fk = (column: string, refTable: string, refColumn: string): ForeignKey => ({ name: `${column}_fkey`, columns: [column], refSchema: 'public', refTable, refColumns: [refColumn] });
const keyed = (name: string, columns: [string, 'text' | 'int8' | 'bool'][], foreignKeys: ForeignKey[] = []): CatalogTable => table('public', name, columns, { foreignKeys });

const patients = keyed('patients', [['patient_id', 'text'], ['opt_out', 'bool']]);
const encounters = keyed('encounters', [['encounter_id', 'int8'], ['patient_id', 'text']], [fk('patient_id', 'patients', 'patient_id')]);
const observations = keyed(
  'observations',
  [['observation_id', 'int8'], ['encounter_id', 'int8'], ['patient_id', 'text']],
  [fk('encounter_id', 'encounters', 'encounter_id'), fk('patient_id', 'patients', 'patient_id')],
);
const transplants = keyed(
  'transplants',
  [['transplant_id', 'int8'], ['patient_id', 'text'], ['donor_patient_id', 'text']],
  [fk('patient_id', 'patients', 'patient_id'), fk('donor_patient_id', 'patients', 'patient_id')],
);
const codes = keyed('codes', [['code', 'text']]);

const snapshot = (tables: CatalogTable[]): CatalogSnapshot => designSnapshot({ tables, roles: [] });

const HEAD = `version: 1
runtime: sql
tables:
  patients:
    filter: "NOT opt_out"
    columns: { patient_id: pseudonymize, opt_out: keep }
`;

function views(policyText: string, tables: CatalogTable[]): Map<string, CreateMaskedView> {
  const policy = parsePolicy(policyText, 'pgmask.yaml', registry);
  const plan = planMigration({ policy, snapshot: snapshot(tables), registry, runtime: 'sql', runtimeSql: '', pgmaskVersion: '9.9.9' });
  return new Map(plan.nodes.filter((n): n is CreateMaskedView => n.kind === 'CreateMaskedView').map((v) => [v.name, v]));
}

function planError(policyText: string, tables: CatalogTable[]): PgmaskError {
  try {
    views(policyText, tables);
  } catch (e) {
    expect(e).toBeInstanceOf(PgmaskError);
    return e as PgmaskError;
  }
  throw new Error('the plan did not fail');
}

describe('consent filters cascade through foreign keys', () => {
  it('hides an observation when its encounter’s patient or its own patient is filtered out (both routes, anti-joins)', () => {
    const v = views(
      `${HEAD}  observations:
    row_order: storage
    columns: { observation_id: pseudonymize, encounter_id: pseudonymize, patient_id: pseudonymize }
`,
      [patients, encounters, observations],
    );
    const text = renderNode(v.get('observations')!).text;
    expect(text).toContain(`FROM "public"."observations" AS src
WHERE NOT EXISTS (SELECT 1 FROM "public"."encounters" AS "pgmask_s1" WHERE "pgmask_s1"."encounter_id" = "src"."encounter_id" AND (EXISTS (SELECT 1 FROM "public"."patients" AS "pgmask_s2" WHERE "pgmask_s2"."patient_id" = "pgmask_s1"."patient_id" AND ((NOT opt_out) IS NOT TRUE))))
  AND NOT EXISTS (SELECT 1 FROM "public"."patients" AS "pgmask_s1" WHERE "pgmask_s1"."patient_id" = "src"."patient_id" AND ((NOT opt_out) IS NOT TRUE));`);
    // encounters is not in the policy, yet the route passes through it: pgmask_owner must read it
    const plan = planMigration({
      policy: parsePolicy(`${HEAD}  observations:\n    columns: { observation_id: pseudonymize, encounter_id: pseudonymize, patient_id: pseudonymize }\n`, 'p.yaml', registry),
      snapshot: snapshot([patients, encounters, observations]),
      registry,
      runtime: 'sql',
      runtimeSql: '',
      pgmaskVersion: '9.9.9',
    });
    expect(plan.nodes.find((n) => n.kind === 'EnsureOwnerAccess')).toMatchObject({ tables: ['patients', 'observations', 'encounters'] });
  });

  it('a filter with filter_applies_to: rows hides only its own rows; a table with no route needs no decision', () => {
    const v = views(
      `version: 1
runtime: sql
tables:
  patients:
    filter: "NOT opt_out"
    filter_applies_to: rows
    columns: { patient_id: pseudonymize, opt_out: keep }
  encounters:
    columns: { encounter_id: pseudonymize, patient_id: pseudonymize }
  codes:
    columns: { code: keep }
`,
      [patients, encounters, codes],
    );
    expect(v.get('encounters')!.subjectRoutes).toEqual([]);
    expect(v.get('codes')!.subjectRoutes).toEqual([]);
    expect(v.get('patients')!.filter).toBe('NOT opt_out');
  });

  it('refuses two foreign keys into the subject table until the policy decides, at the table’s line', () => {
    const policyText = `${HEAD}  transplants:
    columns: { transplant_id: pseudonymize, patient_id: pseudonymize, donor_patient_id: pseudonymize }
`;
    const e = planError(policyText, [patients, transplants]);
    expect(e.exitCode).toBe(3);
    const d = e.details.find((x) => x.code === 'POLICY_SUBJECT_ROUTE_AMBIGUOUS')!;
    expect(d.message).toContain('through 2 foreign keys (`patient_id`, `donor_patient_id`)');
    expect(d.hint).toContain('subject_via: patient_id');
    expect(d.location).toMatchObject({ file: 'pgmask.yaml', line: 7, column: 3 });
  });

  it('subject_via decides: one column, both, or none (reviewed)', () => {
    const body = (via: string) => `${HEAD}  transplants:
    subject_via: ${via}
    columns: { transplant_id: pseudonymize, patient_id: pseudonymize, donor_patient_id: pseudonymize }
`;
    const routes = (via: string) => views(body(via), [patients, transplants]).get('transplants')!.subjectRoutes.map((r) => r.columns.join());
    expect(routes('donor_patient_id')).toEqual(['donor_patient_id']);
    expect(routes('[patient_id, donor_patient_id]')).toEqual(['patient_id', 'donor_patient_id']);
    expect(routes('none  # reviewed: donors consent separately')).toEqual([]);
  });

  it('a misspelt subject_via column gets did-you-mean at its position', () => {
    const e = planError(
      `${HEAD}  transplants:
    subject_via: donor_patient
    columns: { transplant_id: pseudonymize, patient_id: pseudonymize, donor_patient_id: pseudonymize }
`,
      [patients, transplants],
    );
    expect(e.details.map((d) => [d.code, d.hint, d.location?.line, d.location?.column])).toEqual([
      ['POLICY_UNKNOWN_COLUMN', 'did you mean `donor_patient_id`?', 8, 18],
    ]);
  });

  it('in a policy written with schemas:, the subject_via error points into schemas: (not at a tables: path the file does not have)', () => {
    const e = planError(
      `version: 1
runtime: sql
schemas:
  public:
    masked_schema: masked
    tables:
      patients:
        filter: "NOT opt_out"
        columns: { patient_id: pseudonymize, opt_out: keep }
      transplants:
        subject_via: donor_patient
        columns: { transplant_id: pseudonymize, patient_id: pseudonymize, donor_patient_id: pseudonymize }
`,
      [patients, transplants],
    );
    expect(e.details.map((d) => [d.code, d.hint, d.location?.line, d.location?.column])).toEqual([
      ['POLICY_UNKNOWN_COLUMN', 'did you mean `donor_patient_id`?', 11, 22],
    ]);
  });

  it('refuses a cascading filter that qualifies columns with src.', () => {
    const e = planError(HEAD.replace('"NOT opt_out"', '"NOT src.opt_out"') + '  encounters:\n    columns: { encounter_id: pseudonymize, patient_id: pseudonymize }\n', [patients, encounters]);
    expect(e.details.map((d) => d.code)).toEqual(['POLICY_FILTER_QUALIFIED']);
  });
});

describe('row order', () => {
  const policyText = (extra: string) => `${HEAD}  encounters:
${extra}    columns: { encounter_id: pseudonymize, patient_id: pseudonymize }
`;
  it('a dynamic view sorts by a keyed hash of the row key by default; row_order: storage leaves storage order', () => {
    expect(views(policyText(''), [patients, encounters]).get('encounters')!.rowOrder).toMatchObject({ kind: 'keyed' });
    expect(renderNode(views(policyText(''), [patients, encounters]).get('encounters')!).text).toMatch(/\nORDER BY pg_catalog\.hashtextextended\("src"\."encounter_id"::text, \(SELECT .*pgmask_private\.keys/);
    const storage = views(policyText('    row_order: storage\n'), [patients, encounters]).get('encounters')!;
    expect(storage.rowOrder).toEqual({ kind: 'storage' });
    expect(renderNode(storage).text).not.toContain('ORDER BY');
  });

  it('a materialized view is stored sorted by its masked primary key', () => {
    const v = views(policyText('    materialize: true\n'), [patients, encounters]).get('encounters')!;
    expect(v.rowOrder).toEqual({ kind: 'masked key', positions: [1] });
    expect(renderNode(v).text).toMatch(/\nORDER BY 1\nWITH DATA;/);
  });

  it('a misspelt row_order value gets did-you-mean', () => {
    try {
      parsePolicy(policyText('    row_order: storag\n'), 'pgmask.yaml', registry);
      expect.unreachable();
    } catch (e) {
      expect((e as PgmaskError).details.map((d) => [d.code, d.hint, d.location?.line])).toEqual([['POLICY_INVALID_VALUE', 'did you mean `storage`?', 8]]);
    }
  });
});
