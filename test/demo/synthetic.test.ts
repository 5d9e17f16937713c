import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { clinicalRowCounts, createClinicalSchema, loadClinicalData, parseScale } from '../../src/demo/synthetic.ts';
import { PgmaskError } from '../../src/errors.ts';
import { ident, sql } from '../../src/sql/index.ts';

const tables = { patients: 'patient_id', encounters: 'encounter_id', observations: 'observation_id', notes: 'note_id' } as const;

let db: TestDatabase;
let client: pg.PoolClient;
let loadMs = 0;

async function checksums(schema: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, pk] of Object.entries(tables)) {
    const q = sql`SELECT md5(string_agg(t::text, E'\n' ORDER BY t.${ident(pk)})) AS sum FROM ${ident(schema, table)} t`;
    out[table] = (await client.query<{ sum: string }>(q.text)).rows[0]!.sum;
  }
  return out;
}

async function one<T = Record<string, unknown>>(text: string): Promise<T> {
  return (await client.query(text)).rows[0] as T;
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_synthetic');
  client = await db.pool.connect();
  for (const schema of ['s10k', 'same_a', 'same_b', 'other_seed', 'tiny']) await createClinicalSchema(client, schema);
  const t0 = performance.now();
  await loadClinicalData(client, { schema: 's10k', scale: 10_000, seed: 7 });
  loadMs = performance.now() - t0;
  await loadClinicalData(client, { schema: 'same_a', scale: 2_000, seed: 42 });
  await loadClinicalData(client, { schema: 'same_b', scale: 2_000, seed: 42 });
  await loadClinicalData(client, { schema: 'other_seed', scale: 2_000, seed: 43 });
  await loadClinicalData(client, { schema: 'tiny', scale: 50 });
});

afterAll(async () => {
  client?.release();
  await db?.drop();
});

describe('parseScale', () => {
  it('reads the suffixes a command line uses', () => {
    expect(parseScale('10k')).toBe(10_000);
    expect(parseScale('100K')).toBe(100_000);
    expect(parseScale('1m')).toBe(1_000_000);
    expect(parseScale('2.5m')).toBe(2_500_000);
    expect(parseScale('1.1k')).toBe(1_100);
    expect(parseScale('250000')).toBe(250_000);
    expect(parseScale('250_000')).toBe(250_000);
  });

  it('refuses anything else with a usage error', () => {
    for (const bad of ['', '0', '-5', '1g', 'ten', '1.5', '1e6', 'k']) {
      expect(() => parseScale(bad), bad).toThrow(PgmaskError);
    }
    expect(() => parseScale('1g')).toThrow(expect.objectContaining({ code: 'INVALID_SCALE', exitCode: 2 }));
  });
});

describe('loadClinicalData', () => {
  it('is deterministic: the same seed gives byte-identical tables, another seed does not', async () => {
    const a = await checksums('same_a');
    const b = await checksums('same_b');
    const other = await checksums('other_seed');
    expect(a).toEqual(b);
    for (const table of Object.keys(tables)) expect(other[table], table).not.toBe(a[table]);
  });

  it('replaces the contents when loaded again (same bytes, no duplicates)', async () => {
    const before = await checksums('same_a');
    await loadClinicalData(client, { schema: 'same_a', scale: 2_000, seed: 42 });
    expect(await checksums('same_a')).toEqual(before);
  });

  it('has the row counts of its scale', async () => {
    expect(clinicalRowCounts(1_000_000)).toEqual({ patients: 100_000, encounters: 1_000_000, observations: 1_000_000, notes: 100_000 });
    for (const [schema, scale] of [['s10k', 10_000], ['same_a', 2_000], ['tiny', 50]] as const) {
      const expected = clinicalRowCounts(scale);
      for (const table of Object.keys(tables) as (keyof typeof tables)[]) {
        const { n } = await one<{ n: number }>(sql`SELECT count(*)::int AS n FROM ${ident(schema, table)}`.text);
        expect(n, `${schema}.${table}`).toBe(expected[table]);
      }
    }
    expect(clinicalRowCounts(50)).toEqual({ patients: 20, encounters: 50, observations: 50, notes: 5 });
  });

  it('has the exact column types the example policy relies on', async () => {
    const { rows } = await client.query<{ table_name: string; column_name: string; type: string; is_nullable: string }>(
      `SELECT table_name, column_name, format_type(a.atttypid, a.atttypmod) AS type, is_nullable
         FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass AND a.attname = c.column_name
        WHERE table_schema = 's10k' ORDER BY table_name, ordinal_position`,
    );
    const shape = Object.fromEntries(
      Object.keys(tables).map((t) => [t, rows.filter((r) => r.table_name === t).map((r) => `${r.column_name} ${r.type}${r.is_nullable === 'NO' ? ' not null' : ''}`)]),
    );
    expect(shape).toEqual({
      patients: [
        'patient_id text not null', 'mrn text not null', 'first_name text', 'last_name text', 'birth_date date', 'zip text',
        'sex text', 'weight_kg numeric(5,1)', 'email text', 'phone text', 'research_opt_out boolean not null',
      ],
      encounters: [
        'encounter_id bigint not null', 'patient_id text not null', 'admitted_at timestamp with time zone not null',
        'discharged_at timestamp with time zone', 'department text', 'reason text',
      ],
      observations: [
        'observation_id bigint not null', 'encounter_id bigint not null', 'patient_id text not null', 'loinc_code text not null',
        'value_num double precision', 'unit text', 'observed_at timestamp with time zone not null',
      ],
      notes: [
        'note_id bigint not null', 'encounter_id bigint not null', 'patient_id text not null',
        'written_at timestamp with time zone not null', 'author text', 'body text',
      ],
    });
  });

  it('keeps referential integrity: validated foreign keys, indexed, and consistent patient ids', async () => {
    const fks = await client.query<{ conname: string; convalidated: boolean; indexed: boolean }>(
      `SELECT c.conname, c.convalidated,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]) AS indexed
         FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 's10k'::regnamespace ORDER BY 1`,
    );
    expect(fks.rows.map((r) => r.conname)).toEqual([
      'encounters_patient_id_fkey', 'notes_encounter_id_fkey', 'notes_patient_id_fkey', 'observations_encounter_id_fkey', 'observations_patient_id_fkey',
    ]);
    for (const fk of fks.rows) expect(fk, fk.conname).toMatchObject({ convalidated: true, indexed: true });
    const mismatched = await one<{ obs: number; notes: number }>(`
      SELECT (SELECT count(*)::int FROM s10k.observations o JOIN s10k.encounters e USING (encounter_id) WHERE o.patient_id <> e.patient_id) AS obs,
             (SELECT count(*)::int FROM s10k.notes n JOIN s10k.encounters e USING (encounter_id) WHERE n.patient_id <> e.patient_id) AS notes`);
    expect(mismatched).toEqual({ obs: 0, notes: 0 });
    await expect(client.query(`INSERT INTO s10k.encounters VALUES (99999999, 'P9999999', now(), null, null, null)`)).rejects.toThrow(/foreign key/);
  });

  it('has realistic identifiers, demographics and edge cases', async () => {
    const p = await one<Record<string, number>>(`
      SELECT count(*)::int AS n,
             count(*) FILTER (WHERE patient_id !~ '^P[0-9]{7}$')::int AS bad_id,
             count(*) FILTER (WHERE mrn !~ '^MRN[0-9]{8}$')::int AS bad_mrn,
             count(*) FILTER (WHERE zip !~ '^[0-9]{5}(-[0-9]{4})?$')::int AS bad_zip,
             count(*) FILTER (WHERE zip ~ '-')::int AS zip4,
             count(*) FILTER (WHERE left(zip, 3) IN ('036','059','063','102','203','556','692','790','821','823','830','831','878','879','884','890','893'))::int AS restricted,
             count(*) FILTER (WHERE zip LIKE '0%')::int AS leading_zero,
             count(*) FILTER (WHERE research_opt_out)::int AS opt_out,
             count(*) FILTER (WHERE birth_date <= date '2025-12-31' - interval '90 years')::int AS over89,
             count(*) FILTER (WHERE extract(month FROM birth_date) = 2 AND extract(day FROM birth_date) = 29)::int AS leap,
             count(*) FILTER (WHERE sex = 'F')::int AS f, count(*) FILTER (WHERE sex = 'M')::int AS m, count(*) FILTER (WHERE sex = 'X')::int AS x,
             count(*) FILTER (WHERE sex NOT IN ('F','M','X'))::int AS bad_sex,
             count(*) FILTER (WHERE email IS NULL)::int AS email_null, count(*) FILTER (WHERE phone IS NULL)::int AS phone_null,
             count(*) FILTER (WHERE weight_kg IS NULL)::int AS weight_null, count(*) FILTER (WHERE zip IS NULL)::int AS zip_null,
             count(*) FILTER (WHERE email !~ '@example\\.(com|org|net)$|@mail\\.example$')::int AS real_domain,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(year FROM age(date '2025-12-31', birth_date)))::float AS median_age,
             count(*) FILTER (WHERE weight_kg NOT BETWEEN 2 AND 250)::int AS bad_weight
        FROM s10k.patients`);
    expect(p).toMatchObject({ n: 1000, bad_id: 0, bad_mrn: 0, bad_zip: 0, bad_sex: 0, real_domain: 0, bad_weight: 0 });
    expect(p.zip4).toBeGreaterThan(50);
    expect(p.zip4).toBeLessThan(160);
    expect(p.restricted).toBeGreaterThan(5);
    expect(p.leading_zero).toBeGreaterThan(0);
    expect(p.opt_out).toBeGreaterThan(50);
    expect(p.opt_out).toBeLessThan(115);
    expect(p.over89).toBeGreaterThan(10);
    expect(p.over89).toBeLessThan(60);
    expect(p.leap).toBeGreaterThan(0);
    expect(p.f).toBeGreaterThan(p.m!);
    expect(p.x).toBeGreaterThan(0);
    for (const column of ['email_null', 'phone_null', 'weight_null', 'zip_null']) {
      expect(p[column], column).toBeGreaterThan(10);
      expect(p[column], column).toBeLessThan(55);
    }
    expect(p.median_age).toBeGreaterThan(55);
    expect(p.median_age).toBeLessThan(80);

    // the first few patients always carry the edge cases, so even a demo-sized load shows them
    const tiny = await one<Record<string, number>>(`
      SELECT count(*) FILTER (WHERE to_char(birth_date, 'MM-DD') = '02-29')::int AS leap,
             count(*) FILTER (WHERE birth_date <= date '2025-12-31' - interval '90 years')::int AS over89,
             count(*) FILTER (WHERE left(zip, 3) IN ('036','059','063','102','203','556','692','790','821','823','830','831','878','879','884','890','893'))::int AS restricted
        FROM tiny.patients`);
    expect(tiny.leap).toBeGreaterThan(0);
    expect(tiny.over89).toBeGreaterThan(0);
    expect(tiny.restricted).toBeGreaterThan(0);
  });

  it('has skewed encounters within 2015–2025, after birth, discharged after admission', async () => {
    const e = await one<Record<string, number>>(`
      WITH per_patient AS (SELECT patient_id, count(*) AS n FROM s10k.encounters GROUP BY 1)
      SELECT (SELECT max(n)::float FROM per_patient) AS top,
             (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY n)::float FROM per_patient) AS median,
             (SELECT count(*)::int FROM s10k.encounters WHERE admitted_at < '2015-01-01' OR admitted_at >= '2026-01-01') AS out_of_span,
             (SELECT count(*)::int FROM s10k.encounters WHERE discharged_at < admitted_at) AS backwards,
             (SELECT count(*)::int FROM s10k.encounters e JOIN s10k.patients p USING (patient_id) WHERE e.admitted_at < p.birth_date) AS before_birth,
             (SELECT count(*)::int FROM s10k.encounters WHERE discharged_at IS NULL) AS open_stays,
             (SELECT count(DISTINCT department)::int FROM s10k.encounters) AS departments,
             (SELECT count(*)::int FROM s10k.encounters e JOIN s10k.patients p USING (patient_id) WHERE e.department = 'Obstetrics' AND p.sex <> 'F') AS male_obstetrics`);
    expect(e.top).toBeGreaterThan(10 * e.median!);
    expect(e).toMatchObject({ out_of_span: 0, backwards: 0, before_birth: 0, male_obstetrics: 0 });
    expect(e.open_stays).toBeGreaterThan(150);
    expect(e.open_stays).toBeLessThan(500);
    expect(e.departments).toBeGreaterThanOrEqual(10);
  });

  it('has lab values with plausible units and ranges per LOINC code, observed during the encounter', async () => {
    const { rows } = await client.query<{ loinc_code: string; units: string[]; avg: number; min: number; max: number; n: number }>(`
      SELECT loinc_code, array_agg(DISTINCT unit) FILTER (WHERE unit IS NOT NULL) AS units,
             avg(value_num) AS avg, min(value_num) AS min, max(value_num) AS max, count(*)::int AS n
        FROM s10k.observations GROUP BY 1`);
    const byCode = Object.fromEntries(rows.map((r) => [r.loinc_code, r]));
    expect(Object.keys(byCode).length).toBeGreaterThanOrEqual(12);
    expect(byCode['2345-7']).toMatchObject({ units: ['mg/dL'] });
    expect(byCode['2345-7']!.avg).toBeGreaterThan(90);
    expect(byCode['2345-7']!.avg).toBeLessThan(125);
    expect(byCode['2160-0']!.avg).toBeGreaterThan(0.7);
    expect(byCode['2160-0']!.avg).toBeLessThan(1.4);
    expect(byCode['8480-6']).toMatchObject({ units: ['mm[Hg]'] });
    expect(byCode['8480-6']!.avg).toBeGreaterThan(115);
    expect(byCode['8480-6']!.avg).toBeLessThan(140);
    expect(byCode['59408-5']!.max).toBeLessThanOrEqual(100);
    expect(byCode['8310-5']!.min).toBeGreaterThan(33);
    // vital signs are ordered more often than cholesterol
    expect(byCode['8867-4']!.n).toBeGreaterThan(2 * byCode['2093-3']!.n);
    const nulls = await one<{ value_null: number; outside: number }>(`
      SELECT count(*) FILTER (WHERE value_num IS NULL)::int AS value_null,
             count(*) FILTER (WHERE o.observed_at < e.admitted_at OR o.observed_at > coalesce(e.discharged_at, e.admitted_at + interval '6 hours'))::int AS outside
        FROM s10k.observations o JOIN s10k.encounters e USING (encounter_id)`);
    expect(nulls.value_null).toBeGreaterThan(150);
    expect(nulls.value_null).toBeLessThan(500);
    expect(nulls.outside).toBe(0);
  });

  it('writes notes that mention the patient by name, MRN and dates, over several lines', async () => {
    const n = await one<Record<string, number>>(`
      SELECT count(*)::int AS n,
             count(*) FILTER (WHERE position(p.mrn IN n.body) > 0)::int AS with_mrn,
             count(*) FILTER (WHERE position(p.last_name IN n.body) > 0)::int AS with_name,
             count(*) FILTER (WHERE n.body ~ '\\d{4}-\\d{2}-\\d{2}|\\d{2}/\\d{2}/\\d{4}')::int AS with_date,
             count(*) FILTER (WHERE n.body LIKE E'%\\n%')::int AS multiline,
             count(*) FILTER (WHERE n.body IS NULL)::int AS body_null
        FROM s10k.notes n JOIN s10k.patients p USING (patient_id)`);
    expect(n.n).toBe(1000);
    expect(n.with_mrn).toBeGreaterThan(900);
    expect(n.with_name).toBeGreaterThan(900);
    expect(n.with_date).toBeGreaterThan(900);
    expect(n.multiline).toBeGreaterThan(900);
    expect(n.body_null).toBeGreaterThan(10);
  });

  it('loads 10k rows per table quickly and leaves statistics behind', async () => {
    expect(loadMs).toBeLessThan(8_000);
    const { analyzed } = await one<{ analyzed: number }>(
      `SELECT count(*)::int AS analyzed FROM pg_stat_user_tables WHERE schemaname = 's10k' AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)`,
    );
    expect(analyzed).toBe(4);
  });
});
