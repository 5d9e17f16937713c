/**
 * `Sql` reaches the edges (ARCHITECTURE.md, "SQL is built in one place, and run in one
 * place"): no `.text` of an Sql handed to a query outside src/db, no `$n` written by hand
 * outside src/sql (in src/, plv8/ and bench/), no pg client queried directly outside src/db (in src/ and plv8/).
 */
import { describe, expect, it } from 'vitest';
import { sourceFiles } from './import-graph.ts';
import { scanSqlEdges, scanSqlEdgesIn } from './sql-scan.ts';

const rules = (file: string, text: string) => scanSqlEdges(file, text).map((p) => `${p.line}:${p.rule}`);

describe('Sql at the edges', () => {
  it('the scanner finds each planted breach and nothing in clean code (a self-check)', () => {
    const planted = [
      "await client.query(sql`SELECT 1 FROM ${ident('t')}`.text);",
      "await query(client, sql`SELECT ${param(1)}`);",
      "await s.attempt(trustedSqlText(def.text));",
      "const r = await s.rows(sql`SELECT * FROM t WHERE id = $1`);",
      "const q = 'SELECT pg_cancel_backend($2)';",
      '// a comment may say $1 and .text: it is not code',
      "const key = row.text ? findKey(keys, row.text) : null;",
      "const body = `BEGIN RAISE NOTICE '%', ${name}; END`;",
      "await query(db, sql`SELECT h.text FROM (${q}) AS h(place, text)`);",
      'const placeholders = args.map((_, i) => `$${i + 1}`);',
    ].join('\n');
    expect(rules('src/verify/planted.ts', planted)).toEqual(['1:client-query', '1:text-to-query', '3:text-to-query', '4:hand-written-placeholder', '5:hand-written-placeholder', '10:hand-written-placeholder']);
    // src/db may talk to a pg client and read .text; only src/sql numbers placeholders
    expect(rules('src/db/planted.ts', planted)).toEqual(['4:hand-written-placeholder', '5:hand-written-placeholder', '10:hand-written-placeholder']);
    expect(rules('src/sql/planted.ts', planted)).toEqual(['1:client-query', '1:text-to-query', '3:text-to-query']);
    // a benchmark may time a pg client directly, never with an Sql's text or a hand-written $n
    expect(rules('bench/planted.ts', planted)).toEqual(['1:text-to-query', '3:text-to-query', '4:hand-written-placeholder', '5:hand-written-placeholder', '10:hand-written-placeholder']);
  });

  it('holds for every file of src/, plv8/ and bench/', () => {
    const files = [...sourceFiles('src'), ...sourceFiles('plv8'), ...sourceFiles('bench')];
    expect(files.length).toBeGreaterThan(100);
    expect(scanSqlEdgesIn(files).map((p) => `${p.file}:${p.line} ${p.rule}: ${p.code}`)).toEqual([]);
  });
});
