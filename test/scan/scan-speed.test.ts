import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runScan } from '../../src/scan/run-scan.ts';

const tableCount = 200;
const minute = 60_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_scan_speed');
  // 200 tables of 12 columns: most 1,500 rows, every 20th 60,000 rows; half of them analyzed
  await db.query(`
    CREATE TABLE patients (patient_id int PRIMARY KEY, first_name text, last_name text, birth_date date);
    INSERT INTO patients SELECT i, 'Maria', 'Garcia', date '1950-01-01' + i FROM generate_series(1, 2000) i;
    DO $$
    BEGIN
      FOR t IN 1 .. ${tableCount - 1} LOOP
        EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, patient_id int REFERENCES patients, first_name text, last_name text,
          dob date, phone text, email text, zip text, value numeric, unit text, note text, created_at timestamptz)', 'events_' || t);
        EXECUTE format($q$INSERT INTO %I SELECT i, 1 + i %% 2000, (ARRAY['Anna','John','Keiko'])[1 + i %% 3], (ARRAY['Smith','Okafor','Müller'])[1 + i %% 3],
          date '1940-01-01' + i %% 20000, '(617) 555-' || lpad((i %% 10000)::text, 4, '0'), 'u' || i || '@example.org', lpad((i %% 99999)::text, 5, '0'),
          (i %% 1000) / 10.0, 'mg/dL', CASE WHEN i %% 5 = 0 THEN 'Seen today for follow-up, doing well on current therapy, recheck in three months.' END,
          timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => i)
          FROM generate_series(1, %s) i$q$, 'events_' || t, CASE WHEN t % 20 = 0 THEN 60000 ELSE 1500 END);
        IF t % 2 = 0 THEN EXECUTE format('ANALYZE %I', 'events_' || t); END IF;
      END LOOP;
    END $$;
  `);
}, 300_000);

afterAll(async () => {
  await db.drop();
});

describe('scan speed', () => {
  it(`scans a database of ${tableCount} tables in under a minute`, async () => {
    const started = performance.now();
    const { scan, draft } = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor' });
    const elapsed = performance.now() - started;
    const columns = scan.tables.reduce((n, t) => n + t.columns.length, 0);
    const rows = scan.tables.reduce((n, t) => n + t.sample.rowsRead, 0);
    process.stdout.write(
      `\n[scan speed] ${scan.tables.length} tables, ${columns} columns, ${rows} sampled rows: ${(elapsed / 1000).toFixed(2)} s ` +
        `(${((100 * elapsed) / minute).toFixed(1)}% of the one-minute budget)\n\n`,
    );
    expect(scan.tables).toHaveLength(tableCount);
    expect(draft.rules).toHaveLength(columns);
    // every large table was sampled, not read: at most 1,000 rows each
    for (const t of scan.tables) expect(t.sample.rowsRead).toBeLessThanOrEqual(1000);
    expect(scan.tables.filter((t) => t.sample.method === 'system').length).toBeGreaterThanOrEqual(5);
    expect(elapsed).toBeLessThan(minute);
  }, 120_000);
});
