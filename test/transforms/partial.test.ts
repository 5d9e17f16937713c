import { renderTransform } from '../support/render-transform.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql } from '../../src/sql/index.ts';
import { partial } from '../../src/transforms/partial.ts';
import { partial as partialJs, type PartialOpts } from '../../src/transforms/js/partial.ts';
import { batch, column, randomInt, randomText, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['partial.sql']);
});
afterAll(async () => {
  await db?.drop();
});

describe('partial: JavaScript and SQL agree', () => {
  it('on 2,000 random strings (astral, combining, CJK), settings and presets (one round trip)', async () => {
    const rand = seededRandom(10);
    const masks = ['*', '#', 'x', '😀', '•', '&', '\\', '0'];
    const values: string[] = [];
    const opts: PartialOpts[] = [];
    for (let i = 0; i < 2000; i++) {
      values.push(randomText(rand, rand() < 0.05 ? 500 : 30));
      const k = rand();
      const mask = rand() < 0.5 ? { mask: masks[randomInt(rand, 0, masks.length - 1)]! } : {};
      opts.push(k < 0.2 ? { preset: 'email', ...mask } : k < 0.4 ? { preset: 'phone', ...mask } : { first: randomInt(rand, 0, 6), last: randomInt(rand, 0, 6), ...mask });
    }
    const fromSql = await batch(db.client, 'pgmask.partial(t.a1, t.a2)', [values, opts.map((o) => JSON.stringify(o))], ['text', 'jsonb']);
    expect(fromSql).toEqual(values.map((v, i) => partialJs(v, opts[i]!)));
  });

  it('counts code points, keeps the length, and never shows a short value whole', () => {
    expect(partialJs('😀🏥𝔘x', { first: 1, last: 1 })).toBe('😀**x');
    expect(partialJs('abc', { first: 2, last: 2 })).toBe('***');
    expect(partialJs('john.doe@example.com', { preset: 'email' })).toBe('j*******@example.com');
    expect(partialJs('+1 (555) 123-4567', { preset: 'phone', mask: '#' })).toBe('+# (###) ###-4567');
    expect(partialJs('ext 1234', { preset: 'phone' })).toBe('ext ****');
  });
});

describe('partial: metadata and render', () => {
  const col = column('card', 'text', 'text', 'text');
  it('renders exact SQL and validates params', () => {
    const r = renderTransform(partial, { value: sql`src.${ident('card')}`, column: col, table: table('t', [col], null), params: partial.params.parse({ last: 4, mask: '#' }), key: sql`NULL`, subject: null, rowKey: null });
    expect(r.text).toBe(`pgmask.partial(src."card"::text, '{"last":4,"mask":"#"}'::jsonb)`);
    expect(partial.params.safeParse({ mask: '**' }).success).toBe(false);
    expect(partial.params.safeParse({ mask: '😀' }).success).toBe(true);
    expect(partial.params.safeParse({ preset: 'email', first: 2 }).success).toBe(false);
  });
});
