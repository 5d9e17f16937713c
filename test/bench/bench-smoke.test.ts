import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { adminUrl, plv8Available } from '../support/db.ts';
import { runBench } from '../../bench/masked-queries.ts';
import { benchSources } from '../../bench/bench-sources.ts';
import { queryShapes } from '../../bench/query-shapes.ts';

describe('bench/masked-queries.ts at a tiny scale', () => {
  it('times every query shape against every available source and prints the table', async () => {
    const result = await runBench({ scale: 2_000, runs: 2, warmups: 1, databaseUrl: adminUrl() });

    // every source either ran or says why not; a source whose set-up broke is a failure, not an absence
    expect([...result.sources, ...result.unavailable.map((u) => u.source)].sort()).toEqual(benchSources.map((s) => s.name).sort());
    for (const u of result.unavailable) expect(u.reason, u.source).not.toMatch(/set-up failed/);
    expect(result.sources).toEqual(expect.arrayContaining(['raw tables', 'hand-written pgcrypto view', 'pgmask sql runtime']));
    if (plv8Available()) expect(result.sources).toContain('pgmask plv8 runtime');
    else expect(result.unavailable).toContainEqual({ source: 'pgmask plv8 runtime', reason: 'PLV8 absent' });

    expect(result.cells).toHaveLength(queryShapes.length * result.sources.length);
    for (const shape of queryShapes) {
      for (const source of result.sources) {
        const cell = result.cells.find((c) => c.shape === shape.name && c.source === source);
        expect(cell, `${shape.name} × ${source}`).toBeDefined();
        expect(cell!.samplesMs).toHaveLength(2);
        for (const v of [cell!.medianMs, cell!.minMs, cell!.maxMs, cell!.ratioToRaw!, cell!.ratioToHandWritten!]) {
          expect(Number.isFinite(v) && v > 0, `${shape.name} × ${source}: ${v}`).toBe(true);
        }
        expect(cell!.rows).toBeGreaterThan(0);
        expect(result.markdown).toContain(`| ${shape.name} | ${source} |`);
      }
    }
    // the masked sources answer the same questions: same row counts (the bench notes any difference)
    expect(result.notes.filter((n) => n.includes('different row counts'))).toEqual([]);
    expect(result.cells.find((c) => c.shape === 'fetch 10,000 rows' && c.source === 'raw tables')!.rows).toBe(2_000);
    expect(result.cells.find((c) => c.shape === 'point lookup by pseudonym' && c.source === 'pgmask sql runtime')!.rows).toBe(1);

    expect(result.markdown).toMatch(/^### Masked queries at scale 2,000/);
    expect(result.markdown).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC · \d+ CPUs \(nproc\), .+ · PostgreSQL \d+/);
    expect(result.markdown).toContain('sql runtime ≤ 1.2× hand-written');

    // nothing is left behind on the shared test server
    const c = new pg.Client({ connectionString: adminUrl() });
    await c.connect();
    try {
      const leftovers = await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'pgmask_bench_%'
                                        UNION ALL SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgmask_bench_analyst_%'`);
      expect(leftovers.rows).toEqual([]);
    } finally {
      await c.end();
    }
  });
});
