import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as yaml from 'yaml';
import * as applyRule from '../../src/transforms/apply-rule.ts';
import { generateSql, loadPolicyText } from '../../src/cli/pipeline.ts';
import { planMigration } from '../../src/plan/planner.ts';
import { PgmaskError } from '../../src/errors.ts';
import { PGMASK_VERSION } from '../../src/version.ts';
import { uniqueSuffix } from '../support/db.ts';
import { patientsDatabase, patientsPolicy, type PatientsFixture } from '../support/patients-fixture.ts';

// counted, not replaced: the real functions run
vi.mock('yaml', async (original) => {
  const m = await original<typeof import('yaml')>();
  return { ...m, parse: vi.fn(m.parse), parseDocument: vi.fn(m.parseDocument) };
});
vi.mock('../../src/transforms/apply-rule.ts', async (original) => {
  const m = await original<typeof import('../../src/transforms/apply-rule.ts')>();
  return { ...m, checkRule: vi.fn(m.checkRule) };
});

/** The shell's pipeline does each step once: the YAML is read once, the policy validated once, each row filter probed in its own savepoint. */
const s = uniqueSuffix();
const ANALYST = `pipeline_analyst_${s}`;
let fixture: PatientsFixture;

beforeAll(async () => {
  fixture = await patientsDatabase('pgmask_pipeline');
  fixture.db.trackRole(ANALYST);
  await fixture.db.query('CREATE TABLE public.visits (visit_id bigint PRIMARY KEY, patient_id text NOT NULL)');
});

afterAll(async () => {
  await fixture?.drop();
});

describe('pipeline', () => {
  it('reads the YAML once and validates the policy once (planMigration trusts the check), yet the planner alone still validates', async () => {
    const parses = () => vi.mocked(yaml.parse).mock.calls.length + vi.mocked(yaml.parseDocument).mock.calls.length;
    const ruleChecks = () => vi.mocked(applyRule.checkRule).mock.calls.length;
    const [parsed, checked] = [parses(), ruleChecks()];
    const loaded = await loadPolicyText(patientsPolicy({ role: ANALYST, members: [] }), 'policy.yaml');
    expect(parses() - parsed).toBe(1);

    const prepared = await generateSql(fixture.db.url, loaded);
    // one validation pass: one check per rule (patient_id, weight_kg)
    expect(ruleChecks() - checked).toBe(2);
    expect(prepared.sql).toContain('CREATE OR REPLACE VIEW "masked"."patients"');

    // the counter sees the planner's own validation when it is given no proof
    const before = ruleChecks();
    const { policy, snapshot, registry, runtime } = prepared;
    planMigration({ policy, snapshot, registry, runtime, runtimeSql: '', pgmaskVersion: PGMASK_VERSION });
    expect(ruleChecks() - before).toBe(2);
  });

  it('probes every row filter on the real table, each in its own savepoint: both bad filters are reported, nothing is left behind', async () => {
    const text = `${patientsPolicy({ role: ANALYST, members: [] })}    filter: "patient_id > 5"
  visits:
    filter: "visit_id LIKE 'V%'"
    columns:
      visit_id: pseudonymize
      patient_id: pseudonymize
`;
    const loaded = await loadPolicyText(text, 'policy.yaml');
    const error = await generateSql(fixture.db.url, loaded).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PgmaskError);
    const details = (error as PgmaskError).details ?? [];
    expect(details.map((d) => [d.code, d.path])).toEqual([
      ['FILTER_INVALID', 'tables.patients.filter'],
      ['FILTER_INVALID', 'tables.visits.filter'],
    ]);
    expect(details[0]!.message).toMatch(/operator does not exist: text > integer/);
    const left = await fixture.db.query(`SELECT count(*)::int AS n FROM pg_catalog.pg_namespace WHERE nspname IN ('masked', 'pgmask')`);
    expect(left.rows[0].n).toBe(0);
  });
});
