import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { PgmaskError, ExitCode } from '../errors.ts';
import type { ExtractPlan, ExtractTable } from './extract-plan.ts';
import type { ExtractSink, ExtractedTable } from './extract-sink.ts';

/** A file name for a table name that may hold any character: safe characters kept, the rest escaped, case kept apart. */
export function csvFileName(table: string): string {
  return `${table.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.codePointAt(0)!.toString(16).padStart(2, '0')}`)}.csv`;
}

/**
 * One CSV file per table (with a header line) and manifest.json, written into
 * DIR.partial and renamed to DIR when complete: a directory named DIR is always
 * a finished extract.
 */
export function csvSink(opts: { readonly dir: string; readonly replace: boolean; readonly onBytes?: (table: string, n: number) => void }): ExtractSink {
  const partial = `${opts.dir}.partial`;
  return {
    description: `CSV directory ${opts.dir}`,
    format: 'csv',
    maxWriters: 64,
    async check() {
      if (existsSync(opts.dir) && !opts.replace) {
        throw new PgmaskError({ code: 'EXTRACT_OUTPUT_EXISTS', message: `${opts.dir} already exists`, hint: 'choose another --out, or pass --replace to overwrite it', exitCode: ExitCode.usage });
      }
    },
    async begin(plan: ExtractPlan) {
      try {
        rmSync(partial, { recursive: true, force: true });
        mkdirSync(partial, { recursive: true });
        writeFileSync(joinPath(partial, 'PARTIAL'), 'pgmask extract in progress or interrupted: not a complete extract\n');
      } catch (e) {
        throw new PgmaskError({ code: 'EXTRACT_OUTPUT_UNWRITABLE', message: `cannot write ${partial}: ${(e as Error).message}`, hint: 'pass a writable directory path to --out', exitCode: ExitCode.usage });
      }
      void plan;
    },
    async openWriter() {
      return {
        async write(table: ExtractTable, rows: Readable): Promise<ExtractedTable> {
          const file = csvFileName(table.name);
          const hash = createHash('sha256');
          let bytes = 0;
          let rowCount = 0;
          const tap = new Transform({
            transform(chunk: Buffer, _enc, done) {
              hash.update(chunk);
              bytes += chunk.length;
              opts.onBytes?.(table.name, chunk.length);
              done(null, chunk);
            },
          });
          await pipeline(rows, tap, createWriteStream(joinPath(partial, file)));
          rowCount = (rows as Readable & { rowCount?: number }).rowCount ?? 0;
          return { name: table.name, rows: rowCount, bytes, file, sha256: hash.digest('hex') };
        },
        close: async () => {},
      };
    },
    async finish(_plan, manifest) {
      writeFileSync(joinPath(partial, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      rmSync(joinPath(partial, 'PARTIAL'));
      if (opts.replace) rmSync(opts.dir, { recursive: true, force: true });
      renameSync(partial, opts.dir);
    },
    async abort() {
      // left as DIR.partial with its PARTIAL marker: never mistaken for a finished extract
    },
  };
}
