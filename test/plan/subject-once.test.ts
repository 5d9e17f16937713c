import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';

/**
 * Per-subject work once per subject (issue 12, src/plan/render.ts subjectOnce): a keyed call
 * of the subject alone (shift_date's offset, the subject's pseudonym) moves into a LATERAL
 * join that PostgreSQL removes when a query reads none of its columns and memoizes per
 * subject when it does. Counted in plan nodes and Memoize misses, never in time.
 */
const s = uniqueSuffix();
const role = `so_analyst_${s}`;
let db: TestDatabase;
const PATIENTS = 40;
const VISITS_EACH = 25;

const policy = `version: 1
source_schema: public
masked_schema: masked
runtime: sql
keys: [default]
subject: patient_id
roles:
  ${role}: {}
tables:
  visits:
    row_order: storage
    columns:
      id: keep
      patient_id: pseudonymize
      admitted: { shift_date: { max_days: 60 } }
      discharged: { shift_date: { max_days: 60 } }
      followup: { shift_date: { max_days: 60 } }
      ward: keep
  patients:
    row_order: storage
    columns:
      patient_id: pseudonymize
      birth_date: { shift_date: { max_days: 60 } }
  devices:
    subject: owner
    row_order: storage
    columns:
      id: keep
      owner: pseudonymize
      seen: { shift_date: { max_days: 60 } }
  people:
    row_order: storage
    columns:
      patient_id: pseudonymize
      birth_date: { shift_date: { max_days: 60 } }
      death_date: { shift_date: { max_days: 60 } }
`;

type PlanNode = { 'Node Type': string; Plans?: PlanNode[]; 'Cache Hits'?: number; 'Cache Misses'?: number };
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
async function plan(query: string, analyze = false): Promise<PlanNode[]> {
  const r = await db.query(`EXPLAIN (FORMAT JSON${analyze ? ', ANALYZE, TIMING OFF' : ''}) ${query}`);
  return nodes(r.rows[0]['QUERY PLAN'][0].Plan);
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_subject_once');
  db.trackRole(role);
  await db.query(`
    CREATE TABLE visits (id int PRIMARY KEY, patient_id text NOT NULL, admitted date, discharged date, followup date, ward text);
    INSERT INTO visits SELECT g, 'P' || (g % ${PATIENTS}), date '2021-01-01' + g, date '2021-01-04' + g, CASE WHEN g % 5 <> 0 THEN date '2021-03-01' + g END, 'w' || (g % 7)
      FROM generate_series(1, ${PATIENTS * VISITS_EACH}) g;
    CREATE TABLE patients (patient_id text PRIMARY KEY, birth_date date);
    INSERT INTO patients SELECT 'P' || g, date '1950-01-01' + g * 97 FROM generate_series(0, ${PATIENTS - 1}) g;
    CREATE TABLE people (patient_id text PRIMARY KEY, birth_date date, death_date date);
    INSERT INTO people SELECT patient_id, birth_date, birth_date + 30000 FROM patients;
    CREATE TABLE devices (id int PRIMARY KEY, owner uuid NOT NULL, seen date);
    INSERT INTO devices SELECT g, md5('owner' || (g % 7))::uuid, date '2022-01-01' + g FROM generate_series(1, 70) g;
    ANALYZE visits; ANALYZE patients; ANALYZE people; ANALYZE devices;`);
  await applyPolicy(db.url, policy, { file: 'policy.yaml' });
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe('per-subject work once per subject', () => {
  it('gives exactly what the transforms give called inline on every row', async () => {
    const key = `(SELECT key FROM pgmask_private.keys WHERE name = 'default' AND version = 1)`;
    const days = `pgmask.shift_date_days(patient_id, ${key}, '{"max_days":60}')`;
    const r = await db.query(`
      SELECT count(*)::int AS n FROM (
        (SELECT id, patient_id, admitted, discharged, followup, ward FROM masked.visits
         EXCEPT ALL
         SELECT id, pgmask.pseudonymize(patient_id, ${key}, '{}'), admitted + ${days}, discharged + ${days}, followup + ${days}, ward FROM public.visits)
        UNION ALL
        (SELECT id, pgmask.pseudonymize(patient_id, ${key}, '{}'), admitted + ${days}, discharged + ${days}, followup + ${days}, ward FROM public.visits
         EXCEPT ALL
         SELECT id, patient_id, admitted, discharged, followup, ward FROM masked.visits)) d`);
    expect(r.rows[0].n).toBe(0);
    expect((await db.query('SELECT count(*)::int AS n FROM masked.visits WHERE followup IS NULL')).rows[0].n).toBe(PATIENTS * VISITS_EACH / 5);
  });

  it('costs a query that reads no per-subject column nothing: the join is removed, the plan is the raw table\'s', async () => {
    const q = (rel: string) => `SELECT ward, count(*), min(id) FROM ${rel} GROUP BY ward`;
    const masked = (await plan(q('masked.visits'))).map((n) => n['Node Type']);
    const raw = (await plan(q('public.visits'))).map((n) => n['Node Type']);
    expect(masked).toEqual(raw);
    expect(masked).not.toContain('Nested Loop');
  });

  it('computes the offset and the pseudonym once per subject when a query reads every shifted column (Memoize misses = subjects)', async () => {
    const all = await plan(`SELECT count(DISTINCT patient_id), sum(admitted - date '2000-01-01'), sum(discharged - date '2000-01-01'), sum(followup - date '2000-01-01') FROM masked.visits`, true);
    const memo = all.filter((n) => n['Node Type'] === 'Memoize');
    expect(memo).toHaveLength(2);
    for (const m of memo) {
      expect(m['Cache Misses']).toBe(PATIENTS);
      expect(m['Cache Hits']).toBe(PATIENTS * VISITS_EACH - PATIENTS);
    }
  });

  it('works for a uuid subject too (its pseudonym has no max aggregate; GROUP BY () needs none)', async () => {
    const key = `(SELECT key FROM pgmask_private.keys WHERE name = 'default' AND version = 1)`;
    const r = await db.query(`
      SELECT count(*)::int AS n FROM (
        SELECT id, owner, seen FROM masked.devices
        EXCEPT ALL
        SELECT id, pgmask.pseudonymize_uuid(owner, ${key}, '{}'), seen + pgmask.shift_date_days(owner::text, ${key}, '{"max_days":60}') FROM public.devices) d`);
    expect(r.rows[0].n).toBe(0);
    expect((await db.query(`SELECT count(DISTINCT owner)::int AS n FROM masked.devices`)).rows[0].n).toBe(7);
    const def = (await db.query(`SELECT pg_get_viewdef('masked.devices'::regclass) AS d`)).rows[0].d as string;
    expect(def.match(/LATERAL/g)).toHaveLength(2);
  });

  it('keeps a unique subject\'s single keyed column inline, and shares one offset between two shifted columns', async () => {
    const def = async (v: string) => (await db.query(`SELECT pg_get_viewdef('masked.${v}'::regclass) AS d`)).rows[0].d as string;
    expect(await def('patients')).not.toMatch(/LATERAL/);
    const people = await def('people');
    expect(people.match(/LATERAL/g)).toHaveLength(1);
    expect(people.match(/shift_date_days/g)).toHaveLength(1);
    expect(people).toMatch(/pgmask\.pseudonymize\(src\.patient_id/);
  });
});
