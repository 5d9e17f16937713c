/**
 * Writes the files generated from code: docs/transforms.md (from the transform registry) and
 * sql/fake.sql (from the fake dictionaries). Run `npx tsx src/build/write-generated-files.ts`
 * after changing a transform or a dictionary; tests fail while a committed file is stale.
 * The generators are pure (src/transforms); only this build step writes files.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transformDocs } from '../transforms/docs.ts';
import { registry } from '../transforms/registry.ts';
import { fakeSql } from '../transforms/data/gen-fake-sql.ts';

export const TRANSFORM_DOCS_PATH = fileURLToPath(new URL('../../docs/transforms.md', import.meta.url));
export const FAKE_SQL_PATH = fileURLToPath(new URL('../../sql/fake.sql', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, text] of [
    [TRANSFORM_DOCS_PATH, transformDocs(registry)],
    [FAKE_SQL_PATH, fakeSql()],
  ] as const) {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
