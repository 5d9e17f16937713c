import { describe, expect, it } from 'vitest';
import { adminUrl } from '../support/db.ts';
import { formatReportBench, REPORT_BUDGET_MS, runReportBench } from '../../bench/report.ts';

describe('bench/report.ts at a tiny scale', () => {
  it('loads the clinic, reports on one table and on all of them, and prints the ratio to the 30 s budget', async () => {
    const result = await runReportBench({ scale: 2_000, databaseUrl: adminUrl() });
    expect(result.runs.map((r) => r.name)).toEqual(['observations alone', 'whole clinic']);
    const [one, all] = result.runs;
    expect(one!.rows).toBe(2_000);
    expect(one!.report.risk.tables.map((t) => [t.table, t.status])).toEqual([['observations', 'measured']]);
    expect(all!.report.risk.tables.filter((t) => t.status === 'measured').map((t) => t.table)).toEqual(['patients', 'encounters', 'observations']);
    expect(all!.report.utility.columns.length).toBeGreaterThanOrEqual(8);
    for (const r of result.runs) expect(r.ratioToBudget).toBeCloseTo(r.elapsedMs / REPORT_BUDGET_MS, 12);
    const text = formatReportBench(result);
    expect(text).toMatch(/^pgmask report benchmark at scale 2,000 \(load [\d.]+ s, budget 30 s\)/);
    expect(text).toMatch(/observations alone +2,000 rows +[\d.]+ s +[\d.]+× budget/);
  }, 180_000);
});
