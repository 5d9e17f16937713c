import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import { copyOut } from '../db/copy-stream.ts';
import { queryRows, savepoint } from '../db/query.ts';
import { ident, literal, sql } from '../sql/index.ts';
import { PgmaskError, ExitCode } from '../errors.ts';
import { measureTableRisk } from '../report/measure-risk.ts';
import type { ExtractPlan, ExtractSubset, ExtractTable } from './extract-plan.ts';
import type { ExtractManifest, ExtractSink, ExtractedTable, TableWriter } from './extract-sink.ts';

export interface ExtractProgress {
  readonly table: string;
  readonly done: boolean;
  readonly rows: number;
  readonly bytes: number;
  readonly tablesDone: number;
  readonly tablesTotal: number;
}

export interface ExtractInput {
  readonly policy: Policy;
  readonly plan: ExtractPlan;
  /** the masking role every row is read as */
  readonly role: string;
  readonly jobs: number;
  /** refuse (exit 7, nothing written) when a table's k over its quasi-identifiers is below this */
  readonly minK: number | null;
  readonly subset: ExtractSubset | null;
  /** opens a connection to the source database as a role that may SET ROLE to `role` */
  readonly openSource: () => Promise<pg.Client>;
  readonly sink: ExtractSink;
  readonly keyFingerprints: ExtractManifest['keys'];
  readonly pgmaskVersion: string;
  readonly progress?: (p: ExtractProgress) => void;
}

/** A source session inside the extract's one snapshot, reading as the masking role. */
async function openReader(input: ExtractInput, snapshotId: string | null): Promise<{ client: pg.Client; snapshotId: string }> {
  const client = await input.openSource();
  try {
    await queryRows(client, sql`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`);
    let id = snapshotId;
    if (id === null) id = (await queryRows<{ id: string }>(client, sql`SELECT pg_catalog.pg_export_snapshot() AS id`))[0]!.id;
    else await queryRows(client, sql`SET TRANSACTION SNAPSHOT ${literal(id)}`);
    try {
      await queryRows(client, sql`SET LOCAL ROLE ${ident(input.role)}`);
    } catch (cause) {
      throw new PgmaskError({
        code: 'EXTRACT_CANNOT_SET_ROLE',
        message: `cannot read as the masking role ${input.role}: ${(cause as Error).message}`,
        hint: `connect as a superuser or a member of ${input.role} (GRANT ${input.role} TO <you>)`,
        exitCode: ExitCode.database,
        cause,
      });
    }
    // the role's own settings do not apply after SET ROLE; name everything, trust nothing on the path
    await queryRows(client, sql`SET LOCAL search_path = pg_catalog, pg_temp`);
    return { client, snapshotId: id };
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
}

/** Plans every table's query (EXPLAIN): a --where condition that does not work fails here, before anything is written. */
async function checkQueries(client: pg.Client, plan: ExtractPlan): Promise<void> {
  for (const t of plan.tables) {
    try {
      await savepoint(client, () => queryRows(client, sql`EXPLAIN ${t.select}`), { rollback: true });
    } catch (cause) {
      throw new PgmaskError({
        code: 'EXTRACT_WHERE_INVALID',
        message: `the rows of ${t.label} cannot be selected: ${(cause as Error).message}`,
        hint: "--where takes 'TABLE: condition', an SQL boolean expression over the masked columns of TABLE, e.g. --where \"patients: sex = 'F'\"",
        exitCode: ExitCode.usage,
        cause,
      });
    }
  }
}

/** The risk gate: k-anonymity over each table's quasi-identifiers, on exactly the rows the extract would write. */
async function checkMinK(client: pg.Client, input: ExtractInput): Promise<void> {
  if (input.minK === null) return;
  const failing: string[] = [];
  for (const t of input.plan.tables) {
    const ptable = input.policy.tables.find((p) => p.sourceSchema === t.sourceSchema && p.name === t.name)!;
    if (ptable.quasiIdentifiers.length === 0) continue;
    const risk = await measureTableRisk(client, {
      maskedSchema: t.maskedSchema,
      table: t.name,
      quasiIdentifiers: ptable.quasiIdentifiers,
      sensitive: [],
      threshold: input.minK,
      minK: input.minK,
      rows: sql`(${t.select}) AS extracted`,
    });
    if (risk.meetsMinK === false) failing.push(`${t.label}: k = ${risk.k} over (${ptable.quasiIdentifiers.join(', ')}), ${risk.atRisk.classes} classes below ${input.minK} holding ${risk.atRisk.records} rows`);
  }
  if (failing.length > 0) {
    throw new PgmaskError({
      code: 'EXTRACT_RISK',
      message: `the extract would not meet k ≥ ${input.minK}, so nothing was written:\n  ${failing.join('\n  ')}`,
      hint: 'generalize the quasi-identifiers further in the policy (bucket, generalize_date, zip3), extract a larger subset, or lower --min-k after review',
      exitCode: ExitCode.risk,
    });
  }
}

/**
 * `pgmask extract`: every table of the policy read through its masked view as
 * the masking role, in ONE snapshot shared by all workers (exported by the
 * first session, imported by the others), so foreign keys hold even while the
 * source is written to. Rows stream from COPY TO into the sink: no table is ever
 * held in memory. Checks (role, --where, --min-k, the destination) run before
 * anything is written.
 */
export async function runExtract(input: ExtractInput): Promise<ExtractManifest> {
  const coordinator = await openReader(input, null);
  const readers: pg.Client[] = [coordinator.client];
  const writers: TableWriter[] = [];
  let begun = false;
  try {
    await checkQueries(coordinator.client, input.plan);
    await checkMinK(coordinator.client, input);
    await input.sink.check(input.plan);
    await input.sink.begin(input.plan);
    begun = true;

    const jobs = Math.max(1, Math.min(input.jobs, input.sink.maxWriters, input.plan.tables.length));
    for (let i = 1; i < jobs; i++) readers.push((await openReader(input, coordinator.snapshotId)).client);
    for (let i = 0; i < jobs; i++) writers.push(await input.sink.openWriter());

    const queue: ExtractTable[] = [...input.plan.tables];
    // by label: unique even where two schemas hold the same table name
    const results = new Map<string, ExtractedTable>();
    const total = input.plan.tables.length;
    const worker = async (reader: pg.Client, writer: TableWriter) => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        input.progress?.({ table: t.label, done: false, rows: 0, bytes: 0, tablesDone: results.size, tablesTotal: total });
        const result = await writer.write(t, copyOut(reader, t.select, input.sink.format, input.sink.format === 'csv'));
        results.set(t.label, result);
        input.progress?.({ table: t.label, done: true, rows: result.rows, bytes: result.bytes, tablesDone: results.size, tablesTotal: total });
      }
    };
    await Promise.all(readers.map((r, i) => worker(r, writers[i]!)));

    const manifest: ExtractManifest = {
      format: 'pgmask-extract/1',
      pgmaskVersion: input.pgmaskVersion,
      policyHash: input.policy.hash,
      role: input.role,
      createdAt: new Date().toISOString(),
      subset: input.subset && { fraction: input.subset.fraction, seed: input.subset.seed, where: input.subset.where ? `${input.subset.where.table}: ${input.subset.where.condition}` : null },
      keys: input.keyFingerprints,
      tables: input.plan.tables.map((t) => results.get(t.label)!),
    };
    await input.sink.finish(input.plan, manifest);
    return manifest;
  } catch (e) {
    if (begun) await input.sink.abort().catch(() => {});
    throw e;
  } finally {
    for (const w of writers) await w.close().catch(() => {});
    for (const r of readers) await r.end().catch(() => {});
  }
}
