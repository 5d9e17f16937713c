import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { PgmaskError, ExitCode } from '../errors.ts';
import type { ExtractPlan, ExtractTable } from './extract-plan.ts';
import { extractedTable, type ExtractSink, type ExtractedTable } from './extract-sink.ts';

/** A name that may hold any character, for a file name: safe characters kept, the rest escaped (`.` too), case kept apart. */
function fileNamePart(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.codePointAt(0)!.toString(16).padStart(2, '0')}`);
}

/**
 * The CSV file of a table: `TABLE.csv`, or `SCHEMA.TABLE.csv` when the extract
 * spans several schemas (two may hold the same table name); a `.` in a name is
 * escaped, so the one between schema and table is unambiguous.
 */
export function csvFileName(table: { readonly schema: string; readonly name: string }, qualified: boolean): string {
  return `${qualified ? `${fileNamePart(table.schema)}.` : ''}${fileNamePart(table.name)}.csv`;
}

/**
 * One CSV file per table (with a header line) and manifest.json, written into
 * DIR.partial and renamed to DIR when complete: a directory named DIR is always
 * a finished extract.
 */
export function csvSink(opts: { readonly dir: string; readonly replace: boolean; readonly onBytes?: (table: string, n: number) => void }): ExtractSink {
  const partial = `${opts.dir}.partial`;
  let qualified = false;
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
      qualified = plan.schemas.length > 1;
    },
    async openWriter() {
      return {
        async write(table: ExtractTable, rows: Readable): Promise<ExtractedTable> {
          const file = csvFileName(table, qualified);
          const hash = createHash('sha256');
          let bytes = 0;
          let rowCount = 0;
          const tap = new Transform({
            transform(chunk: Buffer, _enc, done) {
              hash.update(chunk);
              bytes += chunk.length;
              opts.onBytes?.(table.label, chunk.length);
              done(null, chunk);
            },
          });
          await pipeline(rows, tap, createWriteStream(joinPath(partial, file)));
          rowCount = (rows as Readable & { rowCount?: number }).rowCount ?? 0;
          return extractedTable(table, { rows: rowCount, bytes, file, sha256: hash.digest('hex') });
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
