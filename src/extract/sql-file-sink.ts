import { createWriteStream, existsSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { ident, join, sql, type Sql } from '../sql/index.ts';
import { PgmaskError, ExitCode } from '../errors.ts';
import type { ExtractTable } from './extract-plan.ts';
import { createSchemasSql, createTableSql, extractedTable, finishingSql, manifestSchema, manifestTableSql, type ExtractSink, type ExtractedTable } from './extract-sink.ts';

/**
 * One plain SQL file for `psql -f` into an empty database: one transaction,
 * tables, their rows as COPY … FROM stdin blocks, keys, and the manifest table
 * last. Written as FILE.partial and renamed only when complete.
 */
export function sqlFileSink(opts: { readonly file: string; readonly replace: boolean; readonly onBytes?: (table: string, n: number) => void }): ExtractSink {
  const partial = `${opts.file}.partial`;
  let out: WriteStream | null = null;
  const write = async (text: string | Buffer) => {
    if (!out!.write(text)) await once(out!, 'drain');
  };
  const statement = (s: Sql) => write(`${s.text}\n`);
  return {
    description: `SQL file ${opts.file}`,
    format: 'text',
    // one stream: tables follow each other
    maxWriters: 1,
    async check() {
      if (existsSync(opts.file) && !opts.replace) {
        throw new PgmaskError({ code: 'EXTRACT_OUTPUT_EXISTS', message: `${opts.file} already exists`, hint: 'choose another --out, or pass --replace to overwrite it', exitCode: ExitCode.usage });
      }
    },
    async begin(plan) {
      try {
        out = createWriteStream(partial, { flags: 'w' });
        await once(out, 'open');
      } catch (e) {
        throw new PgmaskError({ code: 'EXTRACT_OUTPUT_UNWRITABLE', message: `cannot write ${partial}: ${(e as Error).message}`, hint: 'pass a writable path to --out', exitCode: ExitCode.usage });
      }
      await write(
        [
          '-- pgmask extract: masked rows as a masking role sees them. Load into an empty database:',
          '--   psql -v ON_ERROR_STOP=1 -f THIS_FILE',
          '\\set ON_ERROR_STOP on',
          "SET client_encoding = 'UTF8';",
          'SET standard_conforming_strings = on;',
          'BEGIN;',
          ...createSchemasSql(plan).map((s) => s.text),
          '',
        ].join('\n'),
      );
    },
    async openWriter() {
      return {
        async write(table: ExtractTable, rows: Readable): Promise<ExtractedTable> {
          let bytes = 0;
          let lines = 0;
          await statement(createTableSql(table));
          await statement(sql`COPY ${ident(table.schema, table.name)} (${join(table.columns.map((c) => ident(c.name)))}) FROM stdin;`);
          for await (const chunk of rows as AsyncIterable<Buffer>) {
            bytes += chunk.length;
            // COPY text format escapes newlines inside values, so every newline ends a row
            for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
            opts.onBytes?.(table.label, chunk.length);
            await write(chunk);
          }
          await write('\\.\n\n');
          return extractedTable(table, { rows: lines, bytes, file: null, sha256: null });
        },
        close: async () => {},
      };
    },
    async finish(plan, manifest) {
      for (const s of finishingSql(plan)) await statement(s);
      await statement(manifestTableSql(manifestSchema(plan), manifest));
      await write('COMMIT;\n');
      out!.end();
      await once(out!, 'finish');
      renameSync(partial, opts.file);
    },
    async abort() {
      out?.destroy();
      rmSync(partial, { force: true });
    },
  };
}
