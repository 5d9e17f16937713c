import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { runReport } from '../../src/report/run-report.ts';
import { policyHeader } from '../support/policy-header.ts';

/**
 * Issue 17, must show: a waveform table (subject, ecg_time timestamptz, three real[] leads of
 * 5,000 samples, 20 rows) masked with signal_noise at 30 dB. Every row's achieved SNR is within
 * ±0.5 dB of 30; a second session reads the same bytes; and the masked ecg_time minus the
 * masked admission time equals the raw difference for every subject (shift_date keyed by the
 * subject, the same offset in both tables).
 */
const s = uniqueSuffix();
const ROLE = `signals_${s}`;
const READER = `signals_reader_${s}`;
const SAMPLES = 5000;

const schemaSql = `
CREATE TABLE admissions (admission_id int PRIMARY KEY, subject_id text NOT NULL, admitted_at timestamptz NOT NULL);
CREATE TABLE waveforms (
  waveform_id int PRIMARY KEY,
  subject_id text NOT NULL,
  ecg_time timestamptz NOT NULL,
  lead_i real[], lead_ii real[], lead_v1 real[],
  pleth real[],
  codes text[]
);
INSERT INTO admissions SELECT g, 'S' || (g % 10), timestamptz '2024-03-01 08:00+00' + g * interval '37 hours' FROM generate_series(1, 10) g;
-- each lead: a few sines of row-specific frequency and amplitude, in millivolts, plus a slow drift
INSERT INTO waveforms
SELECT g, 'S' || (g % 10), timestamptz '2024-03-01 09:30+00' + g * interval '37 hours' + interval '13 minutes',
  ARRAY(SELECT (0.8 * sin(i / (7.0 + g)) + 0.2 * sin(i / 1.3) + 0.05 * g)::real FROM generate_series(1, ${SAMPLES}) i),
  ARRAY(SELECT (1.2 * sin(i / (5.0 + g)) + 0.3 * cos(i / 2.1))::real FROM generate_series(1, ${SAMPLES}) i),
  ARRAY(SELECT (g * 0.01 + 0.5 * sin(i / 11.0) * sin(i / 97.0))::real FROM generate_series(1, ${SAMPLES}) i),
  ARRAY(SELECT CASE WHEN i % 50 = 0 THEN NULL ELSE i::real END FROM generate_series(1, 10) i),
  ARRAY['A' || g, NULL, 'B' || g]
FROM generate_series(1, 20) g;
`;

const policyText = `${policyHeader(ROLE, READER)}tables:
  admissions:
    columns:
      admission_id: keep
      subject_id: pseudonymize
      admitted_at: { shift_date: { max_days: 60 } }
  waveforms:
    columns:
      waveform_id: keep
      subject_id: pseudonymize
      ecg_time: { shift_date: { max_days: 60 } }
      lead_i: { signal_noise: { snr_db: 30 } }
      lead_ii: { signal_noise: { snr_db: 30 } }
      lead_v1: { signal_noise: { snr_db: 30 } }
      pleth: { resample: { factor: 4 } }
      codes: pseudonymize
`;

describe('biosignals: signal_noise, resample and a start time shifted like the admission (sql runtime)', () => {
  let db: TestDatabase;
  let readerUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase('pgmask_signals');
    db.trackRole(ROLE);
    await db.query(schemaSql);
    readerUrl = await db.createLoginRole(READER);
    await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
    // the analyst may not read the raw table; the test (superuser) compares raw with masked
    await expect(queryAs(readerUrl, 'SELECT 1 FROM public.waveforms')).rejects.toThrow(/permission denied/);
  });
  afterAll(async () => {
    await db?.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
    await db?.drop();
  });

  it('achieves 30 dB (± 0.01, the issue asks ± 0.5) on every lead of every row, keeping length and changing every recording', async () => {
    const { rows } = await db.query<{ waveform_id: number; lead: string; n: number; masked_n: number; snr: number; changed: number }>(`
      SELECT w.waveform_id, l.lead, cardinality(l.raw) AS n, cardinality(l.masked) AS masked_n,
             (SELECT 10 * log(sum(r.x::float8 ^ 2) / sum((m.y::float8 - r.x::float8) ^ 2))
                FROM unnest(l.raw) WITH ORDINALITY r(x, i) JOIN unnest(l.masked) WITH ORDINALITY m(y, i) USING (i)) AS snr,
             (SELECT count(*) FROM unnest(l.raw, l.masked) u(x, y) WHERE x <> y)::int AS changed
        FROM public.waveforms w JOIN masked.waveforms mw USING (waveform_id),
        LATERAL (VALUES ('lead_i', w.lead_i, mw.lead_i), ('lead_ii', w.lead_ii, mw.lead_ii), ('lead_v1', w.lead_v1, mw.lead_v1)) l(lead, raw, masked)
       ORDER BY 1, 2`);
    expect(rows).toHaveLength(60);
    for (const r of rows) {
      expect(r.masked_n).toBe(SAMPLES);
      // the issue asks ±0.5 dB; the noise RMS is scaled exactly, so only float4 rounding remains
      expect(Math.abs(r.snr - 30), `${r.lead} of waveform ${r.waveform_id}: ${r.snr} dB`).toBeLessThanOrEqual(0.01);
      expect(r.changed).toBeGreaterThan(SAMPLES * 0.99);
    }
  });

  it('shows the same bytes in another session, and the analyst reads it through the masking role', async () => {
    // binary forms: the digest must not depend on extra_float_digits or TimeZone, which the second session changes
    const q = `SELECT md5(string_agg(array_send(lead_i) || array_send(lead_ii) || array_send(lead_v1) || array_send(pleth) || array_send(codes) || timestamptz_send(ecg_time), ''::bytea ORDER BY waveform_id)) AS h FROM masked.waveforms`;
    const [a] = await queryAs(readerUrl, q);
    const other = new pg.Client({ connectionString: readerUrl });
    await other.connect();
    await other.query("SET extra_float_digits = 0; SET TimeZone = 'Asia/Kolkata'; SET DateStyle = 'SQL, DMY'");
    const [b] = (await other.query(q)).rows;
    await other.end();
    const [c] = (await db.query(q)).rows;
    expect(a.h).toMatch(/^[0-9a-f]{32}$/);
    expect(b.h).toBe(a.h);
    expect(c.h).toBe(a.h);
  });

  it('moves ecg_time by the offset the subject admission moved by: the interval between them is the raw one', async () => {
    const { rows } = await db.query<{ subject_id: string; raw: string; masked: string; moved: boolean }>(`
      SELECT a.subject_id,
             (w.ecg_time - a.admitted_at)::text AS raw,
             (mw.ecg_time - ma.admitted_at)::text AS masked,
             mw.ecg_time <> w.ecg_time AS moved
        FROM public.waveforms w JOIN masked.waveforms mw USING (waveform_id)
        JOIN public.admissions a ON a.subject_id = w.subject_id
        JOIN masked.admissions ma ON ma.admission_id = a.admission_id
       ORDER BY w.waveform_id, a.admission_id`);
    expect(rows.length).toBe(20);
    for (const r of rows) {
      expect(r.masked).toBe(r.raw);
      expect(r.moved).toBe(true);
    }
  });

  it('report: fidelity of each signal column on a bounded sample (SNR, correlation, band power)', async () => {
    const report = await runReport(db.url, await loadPolicyText(policyText, 'policy.yaml'));
    const byColumn = new Map(report.utility.signals.map((g) => [g.column, g]));
    expect([...byColumn.keys()].sort()).toEqual(['lead_i', 'lead_ii', 'lead_v1', 'pleth']);
    for (const lead of ['lead_i', 'lead_ii', 'lead_v1']) {
      const g = byColumn.get(lead)!;
      expect(g.signals).toBe(20);
      expect(Math.abs(g.snrDb.mean! - 30)).toBeLessThan(0.5);
      expect(g.snrDb.min!).toBeGreaterThan(29.5);
      expect(g.correlation.min!).toBeGreaterThan(0.99);
      expect(g.bandPowerError).toHaveLength(4);
      for (const b of g.bandPowerError) expect(b.meanRelativeError).not.toBeNull();
    }
    // resampling keeps the slow shape: the ramp 1…10 averaged by 4 correlates strongly with itself
    expect(byColumn.get('pleth')!.correlation.mean!).toBeGreaterThan(0.9);
    // the generic per-value utility leaves signals out (they are measured here)
    expect(report.utility.columns.filter((c) => ['lead_i', 'pleth'].includes(c.column))).toEqual([]);
  });

  it('resamples by averaging 4 samples (NULLs left out) and pseudonymizes text arrays element by element', async () => {
    const rows = await queryAs(readerUrl, 'SELECT pleth::text AS pleth, codes FROM masked.waveforms WHERE waveform_id = 1');
    expect(rows[0].pleth).toBe('{2.5,6.5,9.5}');
    const codes = rows[0].codes as (string | null)[];
    expect(codes).toHaveLength(3);
    expect(codes[1]).toBeNull();
    expect(codes[0]).toMatch(/^[0-9a-f]{20}$/);
    // the element pseudonym is the scalar pseudonym of the same text
    const [scalar] = (await db.query(`SELECT subject_id FROM masked.waveforms WHERE waveform_id = 10`)).rows;
    const [again] = (await db.query(`SELECT codes[1] AS c FROM masked.waveforms WHERE waveform_id = 1`)).rows;
    expect(again.c).toBe(codes[0]);
    expect(scalar.subject_id).not.toBe(codes[0]);
  });
});
