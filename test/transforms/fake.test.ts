import { renderTransform } from '../support/render-transform.ts';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql } from '../../src/sql/index.ts';
import { fake } from '../../src/transforms/fake.ts';
import { fake as fakeJs, fakeKinds, type FakeKind } from '../../src/transforms/js/fake.ts';
import { fakeFirstNames } from '../../src/transforms/data/fake-first-names.ts';
import { fakeLastNames } from '../../src/transforms/data/fake-last-names.ts';
import { fakeAreaCodes, fakeCities, fakeEmailDomains, fakeStreetNames, fakeStreetSuffixes } from '../../src/transforms/data/fake-places.ts';
import { fakeSql } from '../../src/transforms/data/gen-fake-sql.ts';
import { FAKE_SQL_PATH } from '../../src/build/write-generated-files.ts';
import { batch, column, KEY, randomInt, randomText, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['fake.sql']);
});
afterAll(async () => {
  await db?.drop();
});

describe('fake: dictionaries', () => {
  it('sql/fake.sql is generated from the current dictionaries (run: npx tsx src/build/write-generated-files.ts)', () => {
    expect(readFileSync(FAKE_SQL_PATH, 'utf8')).toBe(fakeSql());
  });

  it('have a few hundred names, no duplicates, ASCII only', () => {
    const lists = { fakeFirstNames, fakeLastNames, fakeCities, fakeStreetNames, fakeStreetSuffixes, fakeAreaCodes, fakeEmailDomains };
    for (const [name, list] of Object.entries(lists)) {
      expect(new Set(list).size, `${name} has duplicates`).toBe(list.length);
      expect(list.filter((s) => !/^[A-Za-z0-9 '.-]+$/.test(s)), `${name} non-ASCII`).toEqual([]);
    }
    expect(fakeFirstNames.length).toBeGreaterThanOrEqual(200);
    expect(fakeLastNames.length).toBeGreaterThanOrEqual(200);
  });
});

describe('fake: JavaScript and SQL agree', () => {
  it('on 2,000 random values and kinds (one round trip)', async () => {
    const rand = seededRandom(14);
    const values = Array.from({ length: 2000 }, () => randomText(rand, rand() < 0.05 ? 400 : 20));
    const kinds = values.map(() => fakeKinds[randomInt(rand, 0, fakeKinds.length - 1)]!);
    const fromSql = await batch(db.client, 'pgmask.fake(t.a1, $3, t.a2)', [values, kinds.map((kind) => JSON.stringify({ kind }))], ['text', 'jsonb'], [Buffer.from(KEY)]);
    expect(fromSql).toEqual(values.map((v, i) => fakeJs(v, KEY, { kind: kinds[i]! })));
  });

  it('is the same fake for the same value everywhere, spread over the dictionary, and shaped like the real thing', () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 3000; i++) firsts.add(fakeJs(`person ${i}`, KEY, { kind: 'first_name' }));
    expect(firsts.size).toBeGreaterThan(fakeFirstNames.length * 0.95);
    expect(fakeJs('Alice', KEY, { kind: 'full_name' })).toBe(fakeJs('Alice', KEY, { kind: 'full_name' }));
    const shapes: Record<FakeKind, RegExp> = {
      first_name: /^[A-Z][A-Za-z]+$/,
      last_name: /^[A-Za-z' ]+$/,
      full_name: /^[A-Z][A-Za-z]+ [A-Za-z' ]+$/,
      street_address: /^[1-9]\d{0,3} [A-Za-z ]+ [A-Z][a-z]+$/,
      city: /^[A-Z][A-Za-z ]+$/,
      phone: /^\(\d{3}\) 555-01\d\d$/,
      email: /^[a-z]+\.[a-z]+\d{1,2}@example\.(com|org|net)$/,
    };
    for (const kind of fakeKinds) {
      for (let i = 0; i < 200; i++) expect(fakeJs(`v${i}`, KEY, { kind })).toMatch(shapes[kind]);
    }
  });
});

describe('fake: metadata and render', () => {
  it('renders exact SQL and refuses a column too short for the kind', () => {
    const col = column('first_name', 'text', 'character varying(40)', 'varchar');
    const tbl = table('patients', [col], null);
    expect(renderTransform(fake, { value: sql`src.${ident('first_name')}`, column: col, table: tbl, params: fake.params.parse({ kind: 'first_name' }), key: sql`(SELECT 1)`, subject: null, rowKey: null }).text).toBe(
      `pgmask.fake(src."first_name"::text, (SELECT 1), '{"kind":"first_name"}'::jsonb)`,
    );
    const short = column('email', 'text', 'character varying(12)', 'varchar');
    expect(fake.check!({ column: short, table: tbl, params: { kind: 'email' }, subjectColumn: null, runtime: 'sql' }).map((p) => p.code)).toEqual(['FAKE_TOO_LONG']);
    expect(fake.check!({ column: col, table: tbl, params: { kind: 'first_name' }, subjectColumn: null, runtime: 'sql' })).toEqual([]);
    expect(fake.params.safeParse({ kind: 'ssn' }).success).toBe(false);
  });
});
