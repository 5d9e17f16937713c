import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { introspect } from '../../src/db/introspect.ts';
import { findTable, type CatalogTable } from '../../src/catalog/catalog-snapshot.ts';
import { sampleQuery, sampleTable } from '../../src/scan/sample.ts';
import { scanDatabase } from '../../src/scan/scan-database.ts';
import { createPool } from '../../src/db/connection.ts';
import { ident } from '../../src/sql/index.ts';

let db: TestDatabase;
const hostile = 'we"ird $$ta\'ble';

beforeAll(async () => {
  db = await createTestDatabase('pgmask_scan_sample');
  await db.query(`
    CREATE TABLE small (id int PRIMARY KEY, name text, photo bytea);
    INSERT INTO small SELECT i, 'name ' || i, decode(repeat('ff', 200), 'hex') FROM generate_series(1, 300) i;
    CREATE TABLE medium (id int PRIMARY KEY, v text);
    INSERT INTO medium SELECT i, md5(i::text) FROM generate_series(1, 20000) i;
    CREATE TABLE large (id int PRIMARY KEY, v text);
    INSERT INTO large SELECT i, md5(i::text) FROM generate_series(1, 400000) i;
    CREATE TABLE large_unanalyzed (id int, v text) WITH (autovacuum_enabled = false);
    INSERT INTO large_unanalyzed SELECT i, md5(i::text) FROM generate_series(1, 200000) i;
    CREATE TABLE measurements (id int, taken date, v numeric) PARTITION BY RANGE (taken);
    CREATE TABLE measurements_2023 PARTITION OF measurements FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
    CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    INSERT INTO measurements SELECT i, date '2023-01-01' + i % 700, i FROM generate_series(1, 100000) i;
    ANALYZE small; ANALYZE medium; ANALYZE large; ANALYZE measurements;
    CREATE TABLE ${ident(hostile).text} (${ident('"; DROP TABLE small; --').text} text, ${ident('Größe ü').text} int);
    INSERT INTO ${ident(hostile).text} VALUES ('x', 1), ('y', 2);
  `);
}, 120_000);

afterAll(async () => {
  await db.drop();
});

async function table(name: string): Promise<CatalogTable> {
  const snapshot = await introspect(db.pool, ['public']);
  return findTable(snapshot, 'public', name)!;
}

async function pagesRead(t: CatalogTable, method: 'system' | 'bernoulli' | 'limit', percent: number | null): Promise<number> {
  const text = sampleQuery(t, ident(t.schema, t.name), 1000, method, percent).text;
  const plan = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`);
  const json = plan.rows[0]!['QUERY PLAN'] as [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }];
  return json[0].Plan['Shared Hit Blocks'] + json[0].Plan['Shared Read Blocks'];
}

describe('bounded sampling', () => {
  it('reads a small table in full with LIMIT, bytea as a short hex prefix', async () => {
    const s = await sampleTable(db.pool, await table('small'), 1000);
    expect(s.method).toBe('limit');
    expect(s.rowsRead).toBe(300);
    expect(s.values.get('photo')![0]).toBe('ff'.repeat(16));
  });

  it('uses BERNOULLI on a mid-sized table and returns about the target', async () => {
    const s = await sampleTable(db.pool, await table('medium'), 1000);
    expect(s.method).toBe('bernoulli');
    expect(s.percent).toBeCloseTo(10, 0);
    expect(s.rowsRead).toBe(1000);
  });

  it('uses SYSTEM on a large table and reads only a small share of its pages', async () => {
    const t = await table('large');
    const s = await sampleTable(db.pool, t, 1000);
    expect(s.method).toBe('system');
    expect(s.percent!).toBeLessThan(1);
    expect(s.rowsRead).toBeGreaterThan(250);
    expect(s.rowsRead).toBeLessThanOrEqual(1000);
    const pages = Number((await db.query<{ p: string }>(`SELECT relpages AS p FROM pg_class WHERE relname = 'large'`)).rows[0]!.p);
    const read = await pagesRead(t, 'system', s.percent);
    process.stdout.write(`[scan sample] large: ${pages} pages, the sample query touched ${read} (${((100 * read) / pages).toFixed(2)}%)\n`);
    expect(read).toBeLessThan(pages * 0.05);
  });

  it('sizes a never-analyzed table with a bounded probe, then block-samples it', async () => {
    const t = await table('large_unanalyzed');
    expect(t.estimatedRows).toBeLessThan(0);
    const s = await sampleTable(db.pool, t, 1000);
    expect(s.method).toBe('system');
    expect(s.rowsRead).toBeGreaterThan(0);
    expect(s.rowsRead).toBeLessThanOrEqual(1000);
  });

  it('samples a partitioned table through its parent', async () => {
    const t = await table('measurements');
    expect(t.kind).toBe('partitioned table');
    const s = await sampleTable(db.pool, t, 1000);
    expect(s.method).not.toBe('limit');
    expect(s.rowsRead).toBeGreaterThan(250);
    expect(s.rowsRead).toBeLessThanOrEqual(1000);
    // both partitions are represented, not only the first one a LIMIT would read
    const years = new Set(s.values.get('taken')!.map((d) => d.slice(0, 4)));
    expect(years).toEqual(new Set(['2023', '2024']));
  });

  it('quotes hostile table and column names', async () => {
    const s = await sampleTable(db.pool, await table(hostile), 1000);
    expect(s.rowsRead).toBe(2);
    expect(s.values.get('"; DROP TABLE small; --')).toEqual(['x', 'y']);
    expect(s.values.get('Größe ü')).toEqual(['1', '2']);
    const still = await db.query('SELECT count(*)::int AS n FROM small');
    expect(still.rows[0].n).toBe(300);
  });

  it('is repeatable: the same table gives the same sample', async () => {
    const t = await table('large');
    const a = await sampleTable(db.pool, t, 200);
    const b = await sampleTable(db.pool, t, 200);
    expect(b.values.get('id')).toEqual(a.values.get('id'));
  });

  it('reports a missing privilege as a database error with a hint', async () => {
    const url = await db.createLoginRole(`scan_noaccess_${Math.random().toString(16).slice(2, 8)}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await expect(sampleTable(client, await table('small'), 10)).rejects.toMatchObject({ code: 'DB_42501', exitCode: 4 });
    } finally {
      await client.end();
    }
  });

  it('scans on when one table may not be read, classifying it from the catalog alone', async () => {
    const role = `scan_partial_${Math.random().toString(16).slice(2, 8)}`;
    const url = await db.createLoginRole(role);
    await db.query(`GRANT SELECT ON small, medium TO ${ident(role).text}`);
    const pool = createPool(url, 2);
    try {
      const scan = await scanDatabase(pool, { schemas: ['public'], sampleRows: 100 });
      const small = scan.tables.find((t) => t.name === 'small')!;
      const large = scan.tables.find((t) => t.name === 'large')!;
      expect(small.sample.error).toBeNull();
      expect(small.sample.rowsRead).toBe(100);
      expect(large.sample.error).toMatch(/permission denied/);
      expect(large.columns[0]!.classification.reasons).toContain('table not sampled (no SELECT privilege): names, types and keys only');
    } finally {
      await pool.end();
    }
  });
});
