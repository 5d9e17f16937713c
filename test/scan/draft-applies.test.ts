import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import { isIdentifying } from '../../src/scan/category.ts';
import { runScan } from '../../src/scan/run-scan.ts';
import { ident, sql } from '../../src/sql/index.ts';
import { fixtureNames, heldOutFixtureNames, loadFixture } from './load-fixture.ts';

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

describe('a drafted policy applies cleanly to the schema it was drafted from', () => {
  for (const name of [...fixtureNames, ...heldOutFixtureNames]) {
    it(`${name}: the hipaa-safe-harbor draft migrates, passes verify, and its masked views hide every identifying column`, async () => {
      const db = await createTestDatabase(`pgmask_scan_apply_${name}`);
      databases.push(db);
      await loadFixture(db, name);
      const { scan, draft } = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor' });
      const policy = parseYaml(draft.yaml) as { tables: Record<string, { columns: Record<string, unknown> }> };
      expect(Object.keys(policy.tables).sort()).toEqual(scan.tables.map((t) => t.name).sort());

      // roles are cluster-wide: give this file's masking role (and a login member) its own names
      const role = `scan_${name}_analyst_${uniqueSuffix()}`;
      const member = `scan_${name}_reader_${uniqueSuffix()}`;
      await db.createLoginRole(member);
      db.trackRole(role);
      const yaml = draft.yaml.replace(/^  analyst:\n    members: \[\]$/m, `  ${role}:\n    members: [${member}]`);
      expect(yaml).toContain(role);
      const applied = await applyPolicy(db.url, yaml, { file: `${name}.draft.yaml` });
      expect(applied.migration.policy).not.toBe('unchanged');

      const loaded = await loadPolicyText(yaml, `${name}.draft.yaml`);
      const report = await verify(db.url, loaded.policy, { registry: loaded.registry });
      const leaks = report.subjects.flatMap((s) => s.attacks.filter((a) => a.status === 'leaked').map((a) => `${s.role}: ${a.id} ${a.evidence}`));
      process.stdout.write(`[scan draft ${name}] verify: ${report.summary.held} held, ${report.summary.leaked} leaked, ${report.summary.skipped} skipped\n`);
      expect(leaks).toEqual([]);
      expect(report.ok).toBe(true);

      // keys are random per database, so which fake happens to equal its input would differ run to run;
      // a fixed key makes the comparison below reproducible
      await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('5a', 32), 'hex')`);
      for (const table of scan.tables) {
        const source = ident('public', table.name);
        const masked = ident('masked', table.name);
        const counts = await db.query<{ s: string; m: string }>(sql`SELECT (SELECT count(*) FROM ${source}) AS s, (SELECT count(*) FROM ${masked}) AS m`);
        expect(counts.rows[0]!.m, `${table.name} row count`).toBe(counts.rows[0]!.s);
        // `age` and `birth_year` keep the ages and birth years of people under 90 by design (only the over-89s
        // move), and a year kept from a date equals the raw year: they are not compared
        const identifying = table.columns.filter((c) => {
          const rule = draft.rules.find((r) => r.table === table.name && r.column === c.name)!.rule;
          return isIdentifying(c.classification.category) && c.family !== 'boolean' && rule !== 'age' && rule !== 'birth_year';
        });
        if (identifying.length === 0) continue;
        // a masked view is a projection of one table scan: unordered, both return rows in heap order, so row i matches row i
        const cols = identifying.map((c, i) => sql`CAST(${ident(c.name)} AS text) AS ${ident(`c${i}`)}`);
        const ruleOf = (c: { name: string }) => draft.rules.find((r) => r.table === table.name && r.column === c.name)!.rule;
        const checks = identifying.map((column, i) => {
          const c = ident(`c${i}`);
          // zip3 shows a ZIP that is already NNN00 unchanged: what matters is that no value keeps more than three digits
          const same = ruleOf(column) === 'zip3' ? sql`m.${c} !~ '^[0-9]{3}00$'` : sql`s.${c} = m.${c}`;
          // counted per distinct raw value: a fake that happens to equal its input does so on every row of that value
          return sql`count(DISTINCT s.${c}) FILTER (WHERE ${same}) AS ${ident(`same${i}`)}, count(DISTINCT s.${c}) AS ${ident(`total${i}`)}`;
        });
        const same = await db.query<Record<string, string>>(
          sql`SELECT ${checks} FROM (SELECT row_number() OVER () AS r, ${cols} FROM ${source}) s JOIN (SELECT row_number() OVER () AS r, ${cols} FROM ${masked}) m USING (r)`,
        );
        identifying.forEach((column, i) => {
          const n = Number(same.rows[0]![`same${i}`]);
          const total = Number(same.rows[0]![`total${i}`]);
          // generalize_date keeps a 1 January: allow a few
          expect(n, `${table.name}.${column.name} (${column.classification.category}) shows ${n}/${total} distinct raw values`).toBeLessThanOrEqual(Math.max(2, total * 0.05));
        });
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
