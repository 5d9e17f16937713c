import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { plannedMaskedViews } from '../../src/plan/planned-masked-views.ts';
import { renderNode } from '../../src/plan/render.ts';
import { chooseRiskReader, riskSessionStatements } from '../../src/report/risk-reader.ts';
import { literal } from '../../src/sql/index.ts';
import { PgmaskError } from '../../src/errors.ts';
import type { CatalogSnapshot } from '../../src/catalog/catalog-snapshot.ts';
import { citusClinicSnapshot, plainClinicSnapshot } from './citus-fixture.ts';

/**
 * What `pgmask report` does differently in Citus mode, pinned without a Citus server: it
 * reads the distributed masked tables as a login member of the NOLOGIN masking role (Citus
 * opens worker connections as the current role), and measures utility with the expressions
 * of the materialized views the Citus plan fills the tables from.
 */
const policy = parsePolicy(readFileSync(new URL('../../examples/clinic.yaml', import.meta.url), 'utf8'), 'examples/clinic.yaml', registry);
const roles = [
  { name: 'analyst', canLogin: false, superuser: false, memberOf: [] },
  { name: 'zz_other_reader', canLogin: true, superuser: false, memberOf: ['analyst'] },
  { name: 'metabase_reader', canLogin: true, superuser: false, memberOf: ['analyst'] },
  { name: 'dba', canLogin: true, superuser: true, memberOf: ['analyst'] },
];
const WORK_MEM = literal('128MB');
const texts = (snapshot: CatalogSnapshot, role: string) => riskSessionStatements(chooseRiskReader(policy, snapshot, role), WORK_MEM).map((s) => s.text);

describe('report on Citus: who reads the masked tables', () => {
  it('reads as the policy-listed login member of the masking role, opened with SET SESSION AUTHORIZATION by a superuser', () => {
    const snapshot = citusClinicSnapshot({ roles });
    expect(chooseRiskReader(policy, snapshot, 'analyst')).toEqual({ role: 'metabase_reader', maskingRole: 'analyst', throughMember: true, impersonation: 'session authorization' });
    expect(texts(snapshot, 'analyst')).toEqual(['BEGIN READ ONLY', 'SET LOCAL search_path = pg_catalog', "SET LOCAL work_mem = '128MB'", 'SET LOCAL SESSION AUTHORIZATION "metabase_reader"']);
  });

  it('uses SET ROLE when the admin is not a superuser, and a member given with --role as is', () => {
    const snapshot = citusClinicSnapshot({ roles, isSuperuser: false });
    expect(texts(snapshot, 'analyst').at(-1)).toBe('SET LOCAL ROLE "metabase_reader"');
    expect(chooseRiskReader(policy, snapshot, 'zz_other_reader')).toMatchObject({ role: 'zz_other_reader', maskingRole: 'analyst', throughMember: false });
  });

  it('falls back to an unlisted login member (never a superuser), and refuses when there is none (REPORT_NO_LOGIN_MEMBER, exit 2)', () => {
    const unlisted = citusClinicSnapshot({ roles: roles.filter((r) => r.name !== 'metabase_reader') });
    expect(chooseRiskReader(policy, unlisted, 'analyst').role).toBe('zz_other_reader');
    const none = citusClinicSnapshot({ roles: roles.filter((r) => r.name === 'analyst' || r.name === 'dba') });
    let error: unknown;
    try {
      chooseRiskReader(policy, none, 'analyst');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PgmaskError);
    expect(error).toMatchObject({ code: 'REPORT_NO_LOGIN_MEMBER', exitCode: 2 });
  });

  it('on a plain server reads as the masking role itself, as before', () => {
    const snapshot = { ...plainClinicSnapshot(), roles };
    expect(chooseRiskReader(policy, snapshot, 'analyst')).toEqual({ role: 'analyst', maskingRole: 'analyst', throughMember: false, impersonation: 'session authorization' });
    expect(texts(snapshot, 'analyst').at(-1)).toBe('SET LOCAL SESSION AUTHORIZATION "analyst"');
  });
});

describe('report on Citus: what utility is measured with', () => {
  it('the materialized views the masked tables are filled from (same expressions as the fill)', () => {
    const views = plannedMaskedViews({ policy, snapshot: citusClinicSnapshot(), registry, runtime: 'sql', runtimeSql: '', pgmaskVersion: '0.1.0' });
    expect(views.map((v) => [v.schema, v.name, v.materialized])).toEqual([
      ['masked', 'patients', true],
      ['masked', 'encounters', true],
      ['masked', 'observations', true],
      ['masked', 'notes', true],
    ]);
    expect(renderNode(views[0]!).text).not.toMatch(/create_distributed_table|citus/i);
    // on a plain server: the policy's own (dynamic) views
    expect(plannedMaskedViews({ policy, snapshot: plainClinicSnapshot(), registry, runtime: 'sql', runtimeSql: '', pgmaskVersion: '0.1.0' }).map((v) => v.materialized)).toEqual([false, false, false, false]);
  });
});
