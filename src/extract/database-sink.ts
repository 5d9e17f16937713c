import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { copyIn } from '../db/copy-stream.ts';
import { queryRows } from '../db/query.ts';
import { ident, join, literal, sql } from '../sql/index.ts';
import { PgmaskError, ExitCode } from '../errors.ts';
import type { ExtractPlan, ExtractTable } from './extract-plan.ts';
import { createTableSql, finishingSql, manifestTableSql, MANIFEST_TABLE, type ExtractManifest, type ExtractSink, type ExtractedTable, type TableWriter } from './extract-sink.ts';

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
export function databaseSink(opts: { readonly connect: () => Promise<pg.Client>; readonly schema: string; readonly replace: boolean; readonly onBytes?: (table: string, n: number) => void }): ExtractSink {
  const { schema } = opts;
  const existing = async (client: pg.Client, plan: ExtractPlan): Promise<string[]> => {
    const names = [...plan.tables.map((t) => t.name), MANIFEST_TABLE];
    const rows = await queryRows<{ relname: string }>(
      client,
      sql`SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${literal(schema)} AND c.relname = ANY (ARRAY[${join(names.map((n) => literal(n)))}]::text[]) ORDER BY 1`,
    );
    return rows.map((r) => r.relname);
  };
  return {
    description: `database (schema ${schema})`,
    format: 'text',
    maxWriters: 64,
    async check(plan) {
      const client = await opts.connect();
      try {
        const found = await existing(client, plan);
        if (found.length > 0 && !opts.replace) {
          throw new PgmaskError({
            code: 'EXTRACT_TARGET_NOT_EMPTY',
            message: `the target database already has ${found.map((n) => `${schema}.${n}`).join(', ')}`,
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
        const found = await existing(client, plan);
        // the manifest goes first: from here until finish() the target is an unfinished extract
        for (const name of [MANIFEST_TABLE, ...found.filter((n) => n !== MANIFEST_TABLE)]) {
          if (found.includes(name)) await queryRows(client, sql`DROP TABLE ${ident(schema, name)} CASCADE`);
        }
        await queryRows(client, sql`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
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
            await queryRows(client, createTableSql(schema, table));
            const sink = copyIn(client, ident(schema, table.name), table.columns.map((c) => ident(c.name)), 'text');
            await pipeline(
              rows,
              byteCounter((n) => {
                bytes += n;
                opts.onBytes?.(table.name, n);
              }),
              sink,
            );
            await queryRows(client, sql`COMMIT`);
            return { name: table.name, rows: sink.rowCount, bytes, file: null, sha256: null };
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
        for (const statement of finishingSql(schema, plan)) await queryRows(client, statement);
        await queryRows(client, manifestTableSql(schema, manifest));
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
