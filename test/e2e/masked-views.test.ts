import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/cli/pipeline.ts';

/**
 * Issue "Masked views end to end": a login role that is a member of a masking
 * role reads masked views, never the source tables or the keys.
 */
const s = uniqueSuffix();
const ROLE = `analyst_${s}`;
const READER = `reader_${s}`;

const schemaSql = `
CREATE TABLE patients (
  patient_id text PRIMARY KEY,
  mrn varchar(40) NOT NULL,
  first_name text,
  last_name text,
  sex char(1),
  weight_kg numeric(5,1),
  research_opt_out boolean NOT NULL DEFAULT false
);
CREATE TABLE encounters (
  encounter_id text PRIMARY KEY,
  patient_id text NOT NULL REFERENCES patients,
  reason text
);
INSERT INTO patients VALUES
  ('P1', 'A-1001', 'Ada', 'Lovelace', 'F', 61.5, false),
  ('P2', 'A-1002', 'Alan', 'Turing', 'M', 70.2, false),
  ('P3', 'A-1003', 'Grace', 'Hopper', 'F', 55.0, true),
  ('P4', 'A-1004', 'Émile', 'Zoë 🙂', 'X', NULL, false);
INSERT INTO encounters VALUES ('E1', 'P1', 'checkup'), ('E2', 'P1', 'flu'), ('E3', 'P2', 'fracture'), ('E4', 'P3', 'opted out');
`;

const policyText = (mrnRule = '{ pseudonymize: { prefix: "MRN-" } }') => `version: 1
source_schema: public
masked_schema: masked
runtime: sql
unlisted_columns: error
keys: [default]
roles:
  ${ROLE}:
    members: [${READER}]
tables:
  patients:
    filter: "NOT research_opt_out"
    columns:
      patient_id: pseudonymize
      mrn: ${mrnRule}
      first_name: redact
      last_name: { redact: { value: "REDACTED" } }
      sex: keep
      weight_kg: keep
      research_opt_out: keep
  encounters:
    columns:
      encounter_id: pseudonymize
      patient_id: pseudonymize
      reason: keep
`;

describe('masked views end to end (sql runtime)', () => {
  let db: TestDatabase;
  let readerUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    db.trackRole(ROLE);
    await db.query(schemaSql);
    readerUrl = await db.createLoginRole(READER);
    await applyPolicy(db.url, policyText(), { file: 'policy.yaml' });
  });
  afterAll(async () => {
    await db?.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
    await db?.drop();
  });

  it('refuses every source table and the keys to the member of the masking role', async () => {
    for (const t of ['public.patients', 'public.encounters', 'pgmask_private.keys']) {
      await expect(queryAs(readerUrl, `SELECT * FROM ${t}`)).rejects.toThrow(/permission denied/);
    }
    await expect(queryAs(readerUrl, 'SELECT mrn FROM public.patients')).rejects.toThrow(/permission denied/);
  });

  it('reads every masked view, row filter applied, through its search_path', async () => {
    expect(await queryAs(readerUrl, 'SELECT count(*)::int AS n FROM patients')).toEqual([{ n: 3 }]);
    // E4 belongs to P3, who opted out: the patients filter hides their encounters too (consent cascades)
    expect(await queryAs(readerUrl, 'SELECT count(*)::int AS n FROM masked.encounters')).toEqual([{ n: 3 }]);
  });

  it('shows pseudonyms that differ from raw values, are stable across sessions and join across tables', async () => {
    const q = 'SELECT patient_id, mrn, first_name, last_name, sex FROM patients ORDER BY mrn';
    const first = await queryAs(readerUrl, q);
    const second = await queryAs(readerUrl, q);
    expect(second).toEqual(first);
    for (const r of first) {
      expect(r.patient_id).toMatch(/^[0-9a-f]{20}$/);
      expect(r.mrn).toMatch(/^MRN-[0-9a-f]{20}$/);
      expect(['P1', 'P2', 'P4']).not.toContain(r.patient_id);
      expect(r.first_name).toBeNull();
      expect(r.last_name).toBe('REDACTED');
    }
    const joined = await queryAs(readerUrl, 'SELECT e.reason FROM encounters e JOIN patients p USING (patient_id) ORDER BY e.reason');
    expect(joined.map((r) => r.reason)).toEqual(['checkup', 'flu', 'fracture']);
    // the same value gives the same token in both tables; a filtered-out patient's encounter does not join
    const p1 = await queryAs(readerUrl, "SELECT count(DISTINCT patient_id)::int AS n FROM encounters WHERE reason IN ('checkup','flu')");
    expect(p1).toEqual([{ n: 1 }]);
  });

  it('keeps column names and types of the source tables', async () => {
    const cols = (schema: string) =>
      db.query(
        `SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, ordinal_position
           FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
        [schema],
      );
    const src = (await cols('public')).rows;
    const masked = (await cols('masked')).rows;
    expect(masked).toEqual(src);
    expect(masked.length).toBe(10);
  });

  it('writes no key material into views, functions, comments or settings', async () => {
    const keys = (await db.query(`SELECT encode(key, 'hex') AS hex, encode(key, 'base64') AS b64 FROM pgmask_private.keys`)).rows;
    expect(keys).toHaveLength(1);
    const haystacks = await db.query(`
      SELECT definition AS t FROM pg_views
      UNION ALL SELECT prosrc FROM pg_proc
      UNION ALL SELECT coalesce(pg_get_function_sqlbody(oid), '') FROM pg_proc
      UNION ALL SELECT description FROM pg_description
      UNION ALL SELECT setting FROM pg_settings
      UNION ALL SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting`);
    for (const { hex, b64 } of keys) {
      for (const { t } of haystacks.rows) {
        expect(String(t ?? '')).not.toContain(hex);
        expect(String(t ?? '')).not.toContain(b64);
        expect(String(t ?? '')).not.toContain(hex.slice(0, 16));
      }
    }
    const def = (await db.query(`SELECT definition FROM pg_views WHERE schemaname = 'masked' AND viewname = 'patients'`)).rows[0].definition;
    expect(def).toContain('pgmask_private.keys');
  });

  it('re-running migrate is a no-op; a changed rule updates the view in one transaction', async () => {
    const again = await applyPolicy(db.url, policyText(), { file: 'policy.yaml' });
    expect(again.migration.policy).toBe('unchanged');
    expect(again.migration.own.every((m) => m.status === 'unchanged')).toBe(true);
    const before = await queryAs(readerUrl, 'SELECT mrn FROM patients ORDER BY mrn');

    const changed = await applyPolicy(db.url, policyText('{ pseudonymize: { prefix: "X-", length: 12 } }'), { file: 'policy.yaml' });
    expect(changed.migration.policy).toBe('applied');
    const after = await queryAs(readerUrl, 'SELECT mrn FROM patients ORDER BY mrn');
    expect(after).toHaveLength(before.length);
    for (const r of after) expect(r.mrn).toMatch(/^X-[0-9a-f]{24}$/);
    // the member keeps its grants through the change
    expect(await queryAs(readerUrl, 'SELECT count(*)::int AS n FROM encounters')).toEqual([{ n: 3 }]);
    await applyPolicy(db.url, policyText(), { file: 'policy.yaml' });
  });

  it('holds one pseudonym per value across concurrent sessions', async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const c = new pg.Client({ connectionString: readerUrl });
        await c.connect();
        try {
          return (await c.query('SELECT patient_id FROM patients ORDER BY 1')).rows;
        } finally {
          await c.end();
        }
      }),
    );
    for (const r of results) expect(r).toEqual(results[0]);
  });
});
