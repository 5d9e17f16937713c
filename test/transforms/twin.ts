/**
 * Test support for the transform suites: a database with pgcrypto and one sql/ twin
 * installed, a batch runner that sends thousands of inputs in one round trip, random inputs
 * (seeded, so a failure reproduces), and a fake catalog column/table for render()/check().
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import type { CatalogColumn, CatalogTable, TypeFamily } from '../../src/catalog/catalog-snapshot.ts';

export const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
export const KEY = Uint8Array.from(Buffer.from(KEY_HEX, 'hex'));

/** The text of sql/<file>. */
export function sqlFileText(file: string): string {
  return readFileSync(fileURLToPath(new URL(`../../sql/${file}`, import.meta.url)), 'utf8');
}

export interface TwinDatabase extends TestDatabase {
  /** one connection whose search_path is `public` only: calls must work without pgmask on the path */
  readonly client: pg.Client;
}

/** A fresh database with pgcrypto and the given sql/ files installed the way the installer does (search_path pgmask, public while creating). */
export async function twinDatabase(files: readonly string[]): Promise<TwinDatabase> {
  const db = await createTestDatabase('pgmask_tx');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
  await client.query('CREATE SCHEMA IF NOT EXISTS pgmask');
  await client.query('SET search_path = pgmask, public');
  for (const f of files) await client.query(sqlFileText(f));
  // names in the bodies were bound at creation: calls must not depend on the caller's path
  await client.query('SET search_path = public');
  const dropDatabase = db.drop.bind(db);
  return Object.assign(db, {
    client,
    async drop() {
      await client.end();
      await dropDatabase();
    },
  });
}

/**
 * Runs `select` once over parallel arrays (one round trip) and returns the first column of
 * each row as text, in input order. `select` uses $1… for the arrays, unnested in FROM as
 * `t(a1, a2, …, i)`, e.g. `pgmask.zip3(t.a1, t.a2)` with arrays [values, opts].
 */
export async function batch(client: pg.Client, expression: string, arrays: readonly (readonly unknown[])[], types: readonly string[], extra: readonly unknown[] = []): Promise<(string | null)[]> {
  const params = arrays.map((_, j) => `$${j + 1}::${types[j]}[]`).join(', ');
  const cols = arrays.map((_, j) => `a${j + 1}`).join(', ');
  const text = `SELECT (${expression})::text AS r FROM unnest(${params}) WITH ORDINALITY AS t(${cols}, i) ORDER BY t.i`;
  const res = await client.query<{ r: string | null }>(text, [...arrays.map((a) => [...a]), ...extra]);
  return res.rows.map((row) => row.r);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be reproduced. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-@()+_/\'"\\$',
  'é', 'ü', 'ß', 'Ø', '\u0301', '\u0308', '患', '者', '𝔘', '😀', '🏥', '\u200d', '\t', '٣', '０',
];

/** A random string of 0…maxLength code points mixing ASCII, accents, combining marks, CJK and astral characters (never NUL or a lone surrogate). */
export function randomText(rand: () => number, maxLength: number, alphabet: readonly string[] = ALPHABET): string {
  const n = Math.floor(rand() * (maxLength + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)]!;
  return s;
}

export function randomInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

export function column(name: string, family: TypeFamily, sqlType: string, typeName: string): CatalogColumn {
  return { name, position: 1, sqlType, typeName, typeSchema: 'pg_catalog', family, nullable: true, comment: null };
}

export function table(name: string, columns: readonly CatalogColumn[], primaryKey: readonly string[] | null): CatalogTable {
  return { schema: 'public', name, kind: 'table', owner: 'postgres', columns, primaryKey, foreignKeys: [], privileges: [], comment: null, estimatedRows: -1 };
}
