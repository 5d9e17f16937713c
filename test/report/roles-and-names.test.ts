import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { runReport } from '../../src/report/run-report.ts';
import { OWNER_ROLE } from '../../src/plan/planner.ts';
import type { DeclaredTableRisk } from '../../src/report/report.ts';
import { ident, sql } from '../../src/sql/index.ts';

/**
 * Hostile table and column names round-trip through every report query, and an
 * admin that is not a superuser measures risk through SET ROLE (as a member of
 * the masking role) and utility with the owner's privileges.
 */
const s = uniqueSuffix();
const ROLE = `report_names_analyst_${s}`;
const ADMIN = `report_names_admin_${s}`;
const TABLE = 'odd "table"; --';
const ZIP = `z'ip "code"`;
const BIRTH = 'b$$irth';
const SENS = 'sens;itive';

const policyText = `version: 1
source_schema: public
masked_schema: masked
runtime: sql
unlisted_columns: error
keys: [default]
roles:
  ${ROLE}: {}
tables:
  ${JSON.stringify(TABLE)}:
    quasi_identifiers: [${JSON.stringify(ZIP)}, ${JSON.stringify(BIRTH)}]
    sensitive: [${JSON.stringify(SENS)}]
    columns:
      id: keep
      ${JSON.stringify(ZIP)}: zip3
      ${JSON.stringify(BIRTH)}: { generalize_date: { to: year } }
      ${JSON.stringify(SENS)}: keep
      score: { noise: { relative: 0.1 } }
`;

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_report_names');
  db.trackRole(ROLE);
  db.trackRole(ADMIN);
  await db.query(sql`CREATE TABLE ${ident('public', TABLE)} (id integer PRIMARY KEY, ${ident(ZIP)} text, ${ident(BIRTH)} date, ${ident(SENS)} text, score float8)`);
  await db.query(
    sql`INSERT INTO ${ident('public', TABLE)} SELECT i, (10000 + (i % 3) * 150)::text, DATE '1980-03-01' + (i % 4) * 400, (ARRAY['a', 'b', 'c'])[1 + i % 3], 10 + i % 20 FROM generate_series(1, 240) AS i`,
  );
  await applyPolicy(db.url, policyText, { file: 'names.yaml' });
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
  await db?.query(`DROP OWNED BY ${ADMIN}`).catch(() => {});
  await db?.drop();
});

async function independentK(): Promise<{ k: number; classes: number }> {
  // a different formulation from the report's GROUP BY: DISTINCT classes, then a correlated count
  const r = await db.query<{ k: string; classes: string }>(
    sql`SELECT min(n) AS k, count(*) AS classes FROM (
      SELECT (SELECT count(*) FROM ${ident('masked', TABLE)} v WHERE v.${ident(ZIP)} IS NOT DISTINCT FROM d.z AND v.${ident(BIRTH)} IS NOT DISTINCT FROM d.b) AS n
      FROM (SELECT DISTINCT ${ident(ZIP)} AS z, ${ident(BIRTH)} AS b FROM ${ident('masked', TABLE)}) d
    ) c`,
  );
  return { k: Number(r.rows[0]!.k), classes: Number(r.rows[0]!.classes) };
}

describe('report with hostile names and a non-superuser admin', () => {
  it('measures a table and columns whose names hold quotes, $$, semicolons and comment marks', async () => {
    const report = await runReport(db.url, await loadPolicyText(policyText, 'names.yaml'), { minK: 21 });
    const t = report.risk.tables[0] as DeclaredTableRisk;
    expect(t.table).toBe(TABLE);
    expect(t.quasiIdentifiers).toEqual([ZIP, BIRTH]);
    const expected = await independentK();
    expect({ k: t.k, classes: t.classes }).toEqual(expected);
    expect(t.records).toBe(240);
    expect(t.lDiversity.map((l) => l.column)).toEqual([SENS]);
    // 12 classes of 20: all below 21, listed with their masked values under the hostile names
    expect(expected).toEqual({ k: 20, classes: 12 });
    expect(t.failingClasses).toHaveLength(12);
    expect(new Set(t.failingClasses.map((f) => `${f.values[ZIP]} ${f.values[BIRTH]}`)).size).toBe(12);
    expect(t.failingClasses.every((f) => /^10[013]00$/.test(f.values[ZIP]!) && /^198[0-3]-01-01$/.test(f.values[BIRTH]!))).toBe(true);
    expect(report.ok).toBe(false);
    expect(report.utility.columns.map((c) => c.column).sort()).toEqual([BIRTH, 'score', ZIP].sort());
  });

  it('a member of the masking role and of the owner role, not a superuser, reports through SET ROLE', async () => {
    const adminUrl = await db.createLoginRole(ADMIN);
    await db.query(sql`GRANT ${ident(ROLE)}, ${ident(OWNER_ROLE)} TO ${ident(ADMIN)}`);
    // reads the catalog it needs and the pgmask schemas like the migrator would
    await db.query(sql`GRANT USAGE ON SCHEMA pgmask, pgmask_private TO ${ident(ADMIN)}`);
    const report = await runReport(adminUrl, await loadPolicyText(policyText, 'names.yaml'), {});
    expect(report.risk.impersonation).toBe('set role');
    expect(report.risk.role).toBe(ROLE);
    expect(report.utility.computedAs).toBe(ADMIN);
    const superuser = await runReport(db.url, await loadPolicyText(policyText, 'names.yaml'), {});
    const strip = (r: typeof report) => r.risk.tables;
    expect(strip(report)).toEqual(strip(superuser));
    expect(report.utility.columns).toEqual(superuser.utility.columns);
  });

  it('a role the admin cannot become is a database error naming the role', async () => {
    const other = `report_names_other_${s}`;
    db.trackRole(other);
    await db.query(sql`CREATE ROLE ${ident(other)} NOLOGIN`);
    const url = await db.createLoginRole(`${ADMIN}_2`);
    await db.query(sql`GRANT ${ident(OWNER_ROLE)} TO ${ident(`${ADMIN}_2`)}`);
    await expect(runReport(url, await loadPolicyText(policyText, 'names.yaml'), { role: other })).rejects.toMatchObject({
      exitCode: 4,
      message: expect.stringContaining(`cannot become ${other}`),
    });
  });

  it('reads the views as the role, not as the admin: without SELECT on a view the report fails', async () => {
    await db.query(sql`REVOKE SELECT ON ${ident('masked', TABLE)} FROM ${ident(ROLE)}`);
    try {
      await expect(runReport(db.url, await loadPolicyText(policyText, 'names.yaml'), {})).rejects.toMatchObject({
        exitCode: 4,
        message: expect.stringContaining(`cannot measure masked.${TABLE} as ${ROLE}`),
      });
    } finally {
      await db.query(sql`GRANT SELECT ON ${ident('masked', TABLE)} TO ${ident(ROLE)}`);
    }
  });
});
