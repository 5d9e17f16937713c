import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { applyPolicy } from '../../src/pipeline.ts';
import { isIdentifying } from '../../src/scan/category.ts';
import { runScan } from '../../src/scan/run-scan.ts';
import { ident, sql } from '../../src/sql/index.ts';
import { fixtureNames, loadFixture } from './load-fixture.ts';

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

describe('a drafted policy applies cleanly to the schema it was drafted from', () => {
  for (const name of fixtureNames) {
    it(`${name}: the hipaa-safe-harbor draft migrates, and masked views hide every identifying column`, async () => {
      const db = await createTestDatabase(`pgmask_scan_apply_${name}`);
      databases.push(db);
      await loadFixture(db, name);
      const { scan, draft } = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor' });
      const policy = parseYaml(draft.yaml) as { tables: Record<string, { columns: Record<string, unknown> }> };
      expect(Object.keys(policy.tables).sort()).toEqual(scan.tables.map((t) => t.name).sort());

      const applied = await applyPolicy(db.url, draft.yaml, { file: `${name}.draft.yaml` });
      expect(applied.migration.policy).not.toBe('unchanged');

      for (const table of scan.tables) {
        const source = ident('public', table.name);
        const masked = ident('masked', table.name);
        const counts = await db.query<{ s: string; m: string }>(sql`SELECT (SELECT count(*) FROM ${source}) AS s, (SELECT count(*) FROM ${masked}) AS m`);
        expect(counts.rows[0]!.m, `${table.name} row count`).toBe(counts.rows[0]!.s);
        // an identifying column must not show its raw values: compare row by row on the primary key order
        const identifying = table.columns.filter((c) => isIdentifying(c.classification.category) && c.family !== 'boolean');
        const snapshotTable = scan.snapshot.tables.find((t) => t.name === table.name)!;
        if (identifying.length === 0 || !snapshotTable.primaryKey) continue;
        const order = snapshotTable.primaryKey.map((k) => ident(k));
        for (const column of identifying) {
          const col = ident(column.name);
          const same = await db.query<{ n: string; total: string }>(
            sql`SELECT count(*) FILTER (WHERE s.v IS NOT DISTINCT FROM m.v AND s.v IS NOT NULL) AS n, count(s.v) AS total
                FROM (SELECT row_number() OVER (ORDER BY ${order}) AS r, CAST(${col} AS text) AS v FROM ${source}) s
                JOIN (SELECT row_number() OVER (ORDER BY ${order}) AS r, CAST(${col} AS text) AS v FROM ${masked}) m USING (r)`,
          );
          const { n, total } = same.rows[0]!;
          // shift_date/age/zip3 keep some values by design (people under 90, a ZIP already ending in 00): allow a few
          expect(Number(n), `${table.name}.${column.name} (${column.classification.category}) shows ${n}/${total} raw values`).toBeLessThanOrEqual(Math.max(2, Number(total) * 0.35));
        }
      }
    }, 120_000);
  }

  it('ehr: the draft without a preset also migrates', async () => {
    const db = await createTestDatabase('pgmask_scan_apply_plain');
    databases.push(db);
    await loadFixture(db, 'ehr');
    const { draft } = await runScan({ databaseUrl: db.url, schemas: ['public'] });
    await applyPolicy(db.url, draft.yaml, { file: 'ehr.plain.yaml' });
    const rows = await db.query(sql`SELECT * FROM masked.patients LIMIT 1`);
    expect(rows.rows[0].first_name).not.toBe((await db.query(sql`SELECT first_name FROM public.patients ORDER BY id LIMIT 1`)).rows[0].first_name);
  }, 120_000);
});
