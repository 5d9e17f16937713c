import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { copyIn } from '../db/copy-stream.ts';
import { queryRows } from '../db/query.ts';
import { ident, join, literal, sql } from '../sql/index.ts';
import { PgmaskError, ExitCode } from '../errors.ts';
import type { ExtractPlan, ExtractTable } from './extract-plan.ts';
import {
  createSchemasSql,
  createTableSql,
  extractedTable,
  finishingSql,
  manifestSchema,
  manifestTableSql,
  MANIFEST_TABLE,
  type ExtractManifest,
  type ExtractSink,
  type ExtractedTable,
  type TableWriter,
} from './extract-sink.ts';

/** Counts the bytes that pass (progress and the manifest). */
export function byteCounter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/**
 * Another PostgreSQL database: each table is created and filled in its own
 * transaction (COPY streamed from the source), then keys, indexes and comments,
 * and the manifest table last. A database without the manifest table holds an
 * unfinished extract.
 */
export function databaseSink(opts: { readonly connect: () => Promise<pg.Client>; readonly replace: boolean; readonly onBytes?: (table: string, n: number) => void }): ExtractSink {
  /** the output's relations that already exist (the manifest table first), as [schema, name] */
  const existing = async (client: pg.Client, plan: ExtractPlan): Promise<[string, string][]> => {
    const wanted: [string, string][] = [[manifestSchema(plan), MANIFEST_TABLE], ...plan.tables.map((t): [string, string] => [t.schema, t.name])];
    const rows = await queryRows<{ nspname: string; relname: string }>(
      client,
      sql`SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE (n.nspname, c.relname) IN (${join(wanted.map(([s, n]) => sql`(${literal(s)}, ${literal(n)})`))})`,
    );
    return wanted.filter(([s, n]) => rows.some((r) => r.nspname === s && r.relname === n));
  };
  let description = 'database';
  return {
    get description() {
      return description;
    },
    format: 'text',
    maxWriters: 64,
    async check(plan) {
      description = `database (schema${plan.schemas.length > 1 ? 's' : ''} ${plan.schemas.join(', ')})`;
      const client = await opts.connect();
      try {
        const found = await existing(client, plan);
        if (found.length > 0 && !opts.replace) {
          throw new PgmaskError({
            code: 'EXTRACT_TARGET_NOT_EMPTY',
            message: `the target database already has ${found.map(([s, n]) => `${s}.${n}`).join(', ')}`,
            hint: 'extract into an empty database or another --schema, or pass --replace to drop those tables first',
            exitCode: ExitCode.usage,
          });
        }
      } finally {
        await client.end();
      }
    },
    async begin(plan) {
      const client = await opts.connect();
      try {
        await queryRows(client, sql`BEGIN`);
        // the manifest goes first (existing() lists it first): from here until finish() the target is an unfinished extract
        for (const [s, n] of await existing(client, plan)) await queryRows(client, sql`DROP TABLE ${ident(s, n)} CASCADE`);
        for (const statement of createSchemasSql(plan)) await queryRows(client, statement);
        await queryRows(client, sql`COMMIT`);
      } catch (e) {
        await queryRows(client, sql`ROLLBACK`).catch(() => {});
        throw e;
      } finally {
        await client.end();
      }
    },
    async openWriter(): Promise<TableWriter> {
      const client = await opts.connect();
      return {
        async write(table: ExtractTable, rows: Readable): Promise<ExtractedTable> {
          let bytes = 0;
          await queryRows(client, sql`BEGIN`);
          try {
            await queryRows(client, createTableSql(table));
            const sink = copyIn(client, ident(table.schema, table.name), table.columns.map((c) => ident(c.name)), 'text');
            await pipeline(
              rows,
              byteCounter((n) => {
                bytes += n;
                opts.onBytes?.(table.label, n);
              }),
              sink,
            );
            await queryRows(client, sql`COMMIT`);
            return extractedTable(table, { rows: sink.rowCount, bytes, file: null, sha256: null });
          } catch (e) {
            await queryRows(client, sql`ROLLBACK`).catch(() => {});
            throw e;
          }
        },
        close: () => client.end(),
      };
    },
    async finish(plan, manifest: ExtractManifest) {
      const client = await opts.connect();
      try {
        await queryRows(client, sql`BEGIN`);
        for (const statement of finishingSql(plan)) await queryRows(client, statement);
        await queryRows(client, manifestTableSql(manifestSchema(plan), manifest));
        await queryRows(client, sql`COMMIT`);
      } catch (e) {
        await queryRows(client, sql`ROLLBACK`).catch(() => {});
        throw new PgmaskError({
          code: 'EXTRACT_KEYS_FAILED',
          message: `the extracted rows were loaded but their keys could not be re-created: ${(e as Error).message}`,
          hint: 'this is a bug in pgmask (the extract reads rows so that every key holds); the target has no manifest table, so it is marked unfinished',
          exitCode: ExitCode.internal,
          cause: e,
        });
      } finally {
        await client.end();
      }
    },
    async abort() {
      // tables already committed stay; without the manifest table the target is visibly unfinished
    },
  };
}
