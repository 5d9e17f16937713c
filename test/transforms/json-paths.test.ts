/**
 * JSON path vectors (test/vectors/json/paths.json, generated from the TypeScript reference in
 * src/transforms/json-path.ts): pgmask._json_locate and pgmask._json_assemble (sql/structure.sql,
 * the SQL both runtimes install) must find the same places in the same order and build the same
 * documents — missing paths, nulls, arrays of objects, unicode and quoted keys, deep nesting,
 * documents not of the shape a path expects.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { sqlRuntimeInstall } from '../../src/runtime/runtime-install.ts';
import { registry } from '../../src/transforms/registry.ts';
import { parseJsonPath, pathsOverlap, JsonPathError } from '../../src/transforms/json-path.ts';
import { generateJsonVectors } from '../vectors/json/generate.ts';

const vectors = JSON.parse(readFileSync(new URL('../vectors/json/paths.json', import.meta.url), 'utf8')) as ReturnType<typeof generateJsonVectors>;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('pgmask_json_paths');
  await db.query('CREATE EXTENSION IF NOT EXISTS pgcrypto; CREATE SCHEMA pgmask');
  await db.query(sqlRuntimeInstall(registry));
});
afterAll(async () => {
  await db?.drop();
});

describe('JSON path vectors', () => {
  it('are up to date with the TypeScript reference (npx tsx test/vectors/json/generate.ts)', () => {
    expect(JSON.parse(JSON.stringify(generateJsonVectors()))).toEqual(vectors);
    expect(vectors.length).toBeGreaterThanOrEqual(12);
  });

  it('pgmask._json_locate finds what the reference finds, in document order', async () => {
    for (const v of vectors) {
      for (const [k, segments] of v.segments.entries()) {
        const { rows } = await db.query(`SELECT loc, v, fits FROM pgmask._json_locate($1::jsonb, $2::jsonb)`, [JSON.stringify(v.doc), JSON.stringify(segments)]);
        const got = rows.map((r) => ({ loc: r.loc, fits: r.fits, ...(r.fits ? { value: r.v } : {}) }));
        expect(got, `${v.name}: ${v.paths[k]}`).toEqual(v.located[k]);
      }
    }
  });

  it('pgmask._json_assemble builds the reference document, with and without unlisted: keep', async () => {
    for (const v of vectors) {
      const { rows } = await db.query(`SELECT pgmask._json_assemble($1::jsonb, $2::jsonb, $3::jsonb, false) AS removed, pgmask._json_assemble($1::jsonb, $2::jsonb, $3::jsonb, true) AS kept`, [
        JSON.stringify(v.doc),
        JSON.stringify(v.segments),
        JSON.stringify(v.masked),
      ]);
      expect(rows[0].removed, v.name).toEqual(v.removedIsSqlNull ? null : v.removed);
      expect(rows[0].kept, v.name).toEqual(v.kept);
    }
  });

  it('parses paths and refuses malformed or overlapping ones', () => {
    expect(parseJsonPath(`$.name[*].family`)).toEqual(['name', null, 'family']);
    expect(parseJsonPath(`$['a b'][3]."c.d"`)).toEqual(['a b', 3, 'c.d']);
    for (const bad of ['name', '$', '$.', '$.a[', '$.a[-1]', '$.*', '$.a b', '$..a', "$['a]"]) expect(() => parseJsonPath(bad), bad).toThrow(JsonPathError);
    expect(pathsOverlap(['a', null, 'b'], ['a', 2, 'b'])).toBe(true);
    expect(pathsOverlap(['a'], ['a', 'b'])).toBe(true);
    expect(pathsOverlap(['a', 0], ['a', 1])).toBe(false);
  });
});
