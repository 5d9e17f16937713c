import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ident, sql, type Sql } from '../../src/sql/index.ts';
import { shiftDate } from '../../src/transforms/shift-date.ts';
import { shiftDateDays } from '../../src/transforms/js/shift-date.ts';
import { batch, column, KEY, KEY_HEX, randomInt, randomText, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['shift_date.sql']);
});
afterAll(async () => {
  await db?.drop();
});

const keyRef = sql`(SELECT k.key FROM test_keys AS k WHERE k.name = 'default')`;
const birthDate = column('birth_date', 'date', 'date', 'date');
const admittedAt = column('admitted_at', 'timestamptz', 'timestamp with time zone', 'timestamptz');
const dischargedOn = column('discharged_on', 'timestamp', 'timestamp without time zone', 'timestamp');
const patients = table('patients', [column('patient_id', 'integer', 'integer', 'int4'), birthDate], ['patient_id']);
const encounters = table('encounters', [column('encounter_id', 'integer', 'integer', 'int4'), column('patient_id', 'integer', 'integer', 'int4'), admittedAt, dischargedOn], ['encounter_id']);

function render(col: typeof birthDate, tbl: typeof patients, params: Record<string, unknown>): Sql {
  const parsed = shiftDate.params.parse(params);
  return renderTransform(shiftDate, { value: sql`src.${ident(col.name)}`, column: col, table: tbl, params: parsed, key: keyRef, subject: sql`src."patient_id"::text`, rowKey: null });
}

describe('shift_date: the offset', () => {
  it('is the same integer in JavaScript and in SQL for 2,000 random subjects and settings (one round trip)', async () => {
    const rand = seededRandom(11);
    const subjects: string[] = [];
    const opts: { max_days: number; keep_weekday?: boolean }[] = [];
    for (let i = 0; i < 2000; i++) {
      subjects.push(randomText(rand, 40));
      // large tables are built per row when opts is not a constant (here), so mostly small ones
      const max = rand() < 0.05 ? randomInt(rand, 1, 3650) : randomInt(rand, 1, 400);
      opts.push(max >= 7 && rand() < 0.3 ? { max_days: max, keep_weekday: true } : { max_days: max });
    }
    const fromSql = await batch(db.client, 'pgmask.shift_date_days(t.a1, $3, t.a2)', [subjects, opts.map((o) => JSON.stringify(o))], ['text', 'jsonb'], [Buffer.from(KEY)]);
    expect(fromSql).toEqual(subjects.map((s, i) => String(shiftDateDays(s, KEY, opts[i]!))));
  });

  it('is never 0, within ±max_days, uses every value, and whole weeks with keep_weekday', () => {
    const days = new Set<number>();
    const weeks = new Set<number>();
    let outside = 0;
    for (let i = 0; i < 20000; i++) {
      const d = shiftDateDays(`P${i}`, KEY, { max_days: 30 });
      const w = shiftDateDays(`P${i}`, KEY, { max_days: 30, keep_weekday: true });
      if (d === 0 || Math.abs(d) > 30 || w === 0 || w % 7 !== 0 || Math.abs(w) > 28) outside++;
      days.add(d);
      weeks.add(w);
    }
    expect(outside).toBe(0);
    expect(days.size).toBe(60);
    expect([...weeks].sort((a, b) => a - b)).toEqual([-28, -21, -14, -7, 7, 14, 21, 28]);
  });

  it('depends on the key, and HMACs a labelled message so the offset is not a function of the pseudonym', async () => {
    const other = new Uint8Array(32).fill(9);
    const differs = Array.from({ length: 50 }, (_, i) => shiftDateDays(`P${i}`, KEY, { max_days: 365 }) !== shiftDateDays(`P${i}`, other, { max_days: 365 }));
    expect(differs.filter(Boolean).length).toBeGreaterThan(40);
    const u32 = (message: string) => `('x' || encode(substr(hmac(${message}, $1, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint`;
    const { rows } = await db.client.query<{ labelled: string; unlabelled: string }>(
      `SELECT count(*) FILTER (WHERE d = pgmask._shift_date_pick(${u32(`'\\x73686966745f6461746500'::bytea || convert_to(s, 'UTF8')`)}, pgmask._shift_date_offsets(1000, false))) AS labelled,
              count(*) FILTER (WHERE d = pgmask._shift_date_pick(${u32(`convert_to(s, 'UTF8')`)}, pgmask._shift_date_offsets(1000, false))) AS unlabelled
         FROM (SELECT 'P' || g AS s, pgmask.shift_date_days('P' || g, $1, '{"max_days":1000}') AS d FROM generate_series(1, 200) g) x`,
      [Buffer.from(KEY)],
    );
    expect(rows[0]!.labelled).toBe('200');
    expect(Number(rows[0]!.unlabelled)).toBeLessThan(5);
  });
});

describe('shift_date: metadata, check and render', () => {
  it('refuses a table without a subject column, and keep_weekday below a week', () => {
    const problems = shiftDate.check!({ column: birthDate, table: patients, params: { max_days: 30 }, subjectColumn: null, runtime: 'sql' });
    expect(problems.map((p) => p.code)).toEqual(['SHIFT_DATE_NO_SUBJECT']);
    expect(problems[0]!.hint).toMatch(/subject:/);
    expect(shiftDate.check!({ column: birthDate, table: patients, params: { max_days: 30 }, subjectColumn: 'patient_id', runtime: 'sql' })).toEqual([]);
    // a subject whose text depends on DateStyle/TimeZone would shift differently per session
    expect(shiftDate.check!({ column: birthDate, table: patients, params: { max_days: 30 }, subjectColumn: 'birth_date', runtime: 'sql' }).map((p) => p.code)).toEqual(['SHIFT_DATE_SUBJECT_TYPE']);
    const bad = shiftDate.params.safeParse({ max_days: 6, keep_weekday: true });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/at least 7/);
    expect(shiftDate.params.safeParse({ max_days: 0 }).success).toBe(false);
    expect(shiftDate.params.safeParse({ max_days: 30, extra: 1 }).success).toBe(false);
  });

  it('moves a timestamptz in UTC by 24·d hours exactly as through the UTC wall clock, in any session TimeZone', async () => {
    const c = await db.pool.connect();
    try {
      await c.query(`SET TimeZone = 'America/New_York'`);
      const { rows } = await c.query(`
        SELECT count(*)::int AS n,
               count(*) FILTER (WHERE t + make_interval(hours => 24 * d) IS DISTINCT FROM ((t AT TIME ZONE 'UTC') + make_interval(days => d)) AT TIME ZONE 'UTC')::int AS differ
          FROM (SELECT timestamptz '2021-03-13 12:34:56.789+00' + g * interval '7 hours 13 minutes' AS t, (g % 61) - 30 AS d
                  FROM generate_series(-20000, 20000) g
                UNION ALL SELECT 'infinity', 5 UNION ALL SELECT '-infinity', -3 UNION ALL SELECT NULL, 1) x`);
      expect(rows).toEqual([{ n: 40004, differ: 0 }]);
    } finally {
      await c.query('RESET TimeZone');
      c.release();
    }
  });

  it('renders date, timestamp and timestamptz columns as exact SQL', () => {
    expect(render(birthDate, patients, { max_days: 30 }).text).toBe(
      `(src."birth_date" + pgmask.shift_date_days(src."patient_id"::text, ${keyRef.text}, '{"max_days":30}'::jsonb))`,
    );
    expect(render(dischargedOn, encounters, { max_days: 30, keep_weekday: true }).text).toBe(
      `(src."discharged_on" + make_interval(days => pgmask.shift_date_days(src."patient_id"::text, ${keyRef.text}, '{"keep_weekday":true,"max_days":30}'::jsonb)))`,
    );
    expect(render(admittedAt, encounters, { max_days: 30 }).text).toBe(
      `(src."admitted_at" + make_interval(hours => 24 * pgmask.shift_date_days(src."patient_id"::text, ${keyRef.text}, '{"max_days":30}'::jsonb)))`,
    );
    expect(render(admittedAt, encounters, { max_days: 30, time_zone: 'America/New_York' }).text).toBe(
      `(((src."admitted_at" AT TIME ZONE 'America/New_York') + make_interval(days => pgmask.shift_date_days(src."patient_id"::text, ${keyRef.text}, '{"max_days":30}'::jsonb))) AT TIME ZONE 'America/New_York')`,
    );
  });
});

describe('shift_date: masked views on the real server', () => {
  beforeAll(async () => {
    const c = db.client;
    await c.query(`CREATE TABLE test_keys (name text PRIMARY KEY, key bytea NOT NULL)`);
    await c.query(`INSERT INTO test_keys VALUES ('default', '\\x${KEY_HEX}')`);
    await c.query(`CREATE TABLE patients (patient_id int PRIMARY KEY, birth_date date)`);
    await c.query(`CREATE TABLE encounters (encounter_id int PRIMARY KEY, patient_id int, admitted_at timestamptz, discharged_on timestamp)`);
    // 300 patients; encounters around leap days, year ends and the US/EU DST changes of 2024
    await c.query(`INSERT INTO patients SELECT p, date '1930-01-01' + (p * 97) % 30000 FROM generate_series(1, 300) p`);
    await c.query(`INSERT INTO patients VALUES (301, '2024-02-29'), (302, '2000-12-31'), (303, NULL)`);
    await c.query(`
      INSERT INTO encounters
      SELECT e, 1 + e % 303,
             (anchor + ((e * 7919) % 2880) * interval '1 minute') AT TIME ZONE 'America/New_York',
             anchor + ((e * 104729) % 200000) * interval '1 minute'
        FROM generate_series(1, 3000) e,
             LATERAL (SELECT (ARRAY[timestamp '2024-03-10 00:00', timestamp '2024-11-03 00:00', timestamp '2024-02-28 12:00',
                                    timestamp '2023-12-31 18:00', timestamp '2024-03-31 00:30'])[1 + e % 5] AS anchor) a`);
    await c.query(`INSERT INTO encounters VALUES (9001, 303, NULL, NULL), (9002, 301, 'infinity', '-infinity')`);
    const p = { max_days: 30 };
    const tz = { max_days: 30, time_zone: 'America/New_York' };
    await c.query(
      sql`CREATE VIEW masked_patients AS SELECT src.patient_id, CAST(${render(birthDate, patients, p)} AS date) AS birth_date FROM patients AS src`.text,
    );
    await c.query(
      sql`CREATE VIEW masked_encounters AS SELECT src.encounter_id, src.patient_id,
            CAST(${render(admittedAt, encounters, tz)} AS timestamptz) AS admitted_at,
            CAST(${render(dischargedOn, encounters, p)} AS timestamp) AS discharged_on FROM encounters AS src`.text,
    );
  });

  it('moves every date of one subject by the same non-zero offset in every table', async () => {
    const { rows } = await db.client.query<{ subjects: string; offsets: string; bad: string; zero: string; mismatch: string }>(`
      WITH offsets AS (
        SELECT r.patient_id, m.birth_date - r.birth_date AS days FROM patients r JOIN masked_patients m USING (patient_id)
        UNION ALL
        SELECT r.patient_id, (m.admitted_at AT TIME ZONE 'America/New_York')::date - (r.admitted_at AT TIME ZONE 'America/New_York')::date
          FROM encounters r JOIN masked_encounters m USING (encounter_id) WHERE isfinite(r.admitted_at)
        UNION ALL
        SELECT r.patient_id, m.discharged_on::date - r.discharged_on::date
          FROM encounters r JOIN masked_encounters m USING (encounter_id) WHERE isfinite(r.discharged_on)
      ), per_subject AS (
        SELECT patient_id, count(DISTINCT days) AS n, min(days) AS days FROM offsets WHERE days IS NOT NULL GROUP BY patient_id
      )
      SELECT count(*) AS subjects, sum(n) AS offsets,
             count(*) FILTER (WHERE n <> 1) AS bad,
             count(*) FILTER (WHERE days = 0 OR abs(days) > 30) AS zero,
             count(*) FILTER (WHERE days <> pgmask.shift_date_days(patient_id::text, (SELECT key FROM test_keys), '{"max_days":30}')) AS mismatch
        FROM per_subject`);
    // 303 subjects: patient 303 has no birth date but has encounters
    expect(rows[0]).toEqual({ subjects: '303', offsets: '303', bad: '0', zero: '0', mismatch: '0' });
  });

  // a wall-clock time in 02:00–02:59 does not exist on a spring-forward day: PostgreSQL reads it as 03:xx (documented)
  it('keeps intervals within a subject and the local time of day across DST changes', async () => {
    const { rows } = await db.client.query<{ n: string; interval_changed: string; time_changed: string; dst_crossings: string }>(`
      SELECT count(*) AS n,
             count(*) FILTER (WHERE (m.discharged_on - mp.birth_date) <> (r.discharged_on - rp.birth_date)) AS interval_changed,
             count(*) FILTER (WHERE (m.admitted_at AT TIME ZONE 'America/New_York')::time <> (r.admitted_at AT TIME ZONE 'America/New_York')::time
                                AND NOT (r.admitted_at AT TIME ZONE 'America/New_York')::time BETWEEN '02:00' AND '02:59:59') AS time_changed,
             count(*) FILTER (WHERE (m.admitted_at - r.admitted_at) <> ((m.admitted_at AT TIME ZONE 'America/New_York')::date - (r.admitted_at AT TIME ZONE 'America/New_York')::date) * interval '24 hours') AS dst_crossings
        FROM encounters r JOIN masked_encounters m USING (encounter_id)
        JOIN patients rp ON rp.patient_id = r.patient_id JOIN masked_patients mp ON mp.patient_id = r.patient_id
       WHERE isfinite(r.admitted_at) AND isfinite(r.discharged_on) AND rp.birth_date IS NOT NULL`);
    const r = rows[0]!;
    expect(Number(r.n)).toBeGreaterThan(2900);
    expect(r.interval_changed).toBe('0');
    expect(r.time_changed).toBe('0');
    // the shift really crossed DST changes (elapsed time ≠ whole days of 24 h) for many rows
    expect(Number(r.dst_crossings)).toBeGreaterThan(100);
  });

  it('gives the same instants whatever the session TimeZone, and keeps NULL and infinity', async () => {
    const run = async (zone: string) => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(`SET TimeZone = '${zone}'`);
        const { rows } = await c.query<{ h: string }>(`SELECT md5(string_agg(encounter_id || ':' || coalesce(extract(epoch FROM admitted_at)::text, '-') || ':' || coalesce(discharged_on::text, '-'), ',' ORDER BY encounter_id)) AS h FROM masked_encounters`);
        return rows[0]!.h;
      } finally {
        await c.end();
      }
    };
    expect(await run('Asia/Kolkata')).toBe(await run('UTC'));
    const { rows } = await db.client.query(`SELECT encounter_id, admitted_at::text, discharged_on::text FROM masked_encounters WHERE encounter_id IN (9001, 9002) ORDER BY 1`);
    expect(rows).toEqual([
      { encounter_id: 9001, admitted_at: null, discharged_on: null },
      { encounter_id: 9002, admitted_at: 'infinity', discharged_on: '-infinity' },
    ]);
  });
});
