import { renderTransform } from '../support/render-transform.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident, sql } from '../../src/sql/index.ts';
import { encrypt } from '../../src/transforms/encrypt.ts';
import { decryptFpe, decryptText, encryptFpe, encryptText } from '../../src/transforms/js/encrypt.ts';
import type { VectorFile } from '../vectors/vector-case.ts';
import { NIST_FF1 } from '../vectors/cases/encrypt.ts';
import { batch, column, KEY, KEY_HEX, randomText, seededRandom, table, twinDatabase, type TwinDatabase } from './twin.ts';

let db: TwinDatabase;
beforeAll(async () => {
  db = await twinDatabase(['encrypt.sql']);
});
afterAll(async () => {
  await db?.drop();
});

describe('encrypt: FF1 is NIST SP 800-38G FF1', () => {
  it('the committed vectors give the published ciphertexts of samples 1-9 (AES-128/192/256), which every runtime is checked against', () => {
    const file = JSON.parse(readFileSync(fileURLToPath(new URL('../vectors/encrypt.json', import.meta.url)), 'utf8')) as VectorFile;
    for (const s of NIST_FF1) {
      expect(file.vectors.find((v) => v.name === `NIST FF1 sample ${s.sample} encrypt`)?.expected).toBe(s.ct);
      expect(file.vectors.find((v) => v.name === `NIST FF1 sample ${s.sample} decrypt`)?.expected).toBe(s.pt);
    }
  });
});

describe('encrypt: JavaScript and SQL agree and round-trip', () => {
  const rand = seededRandom(15);
  const values = Array.from({ length: 300 }, () => randomText(rand, rand() < 0.1 ? 80 : 16));
  const mrns = Array.from({ length: 300 }, () => String(Math.floor(rand() * 1e10)).padStart(10, '0'));

  it('authenticated tokens: same bytes as the TypeScript reference, and decrypt gives the value back', async () => {
    const tokens = await batch(db.client, 'pgmask.encrypt(t.a1, $2, 3)', [values], ['text'], [KEY]);
    expect(tokens).toEqual(values.map((v) => encryptText(v, KEY, 3)));
    expect(await batch(db.client, 'pgmask.decrypt(t.a1, $2)', [tokens], ['text'], [KEY])).toEqual(values);
    expect(tokens.map((t) => decryptText(t!, KEY))).toEqual(values);
    expect(new Set(tokens).size).toBe(new Set(values).size);
  });

  it('a format-preserving token of a 10-digit MRN is 10 digits and round-trips', async () => {
    const tokens = await batch(db.client, 'pgmask.encrypt_fpe(t.a1, $2)', [mrns], ['text'], [KEY]);
    expect(tokens).toEqual(mrns.map((v) => encryptFpe(v, KEY)));
    for (const t of tokens) expect(t).toMatch(/^[0-9]{10}$/);
    expect(tokens.filter((t, i) => t === mrns[i]).length).toBeLessThan(3);
    expect(await batch(db.client, 'pgmask.decrypt_fpe(t.a1, $2)', [tokens], ['text'], [KEY])).toEqual(mrns);
    expect(new Set(tokens).size).toBe(new Set(mrns).size);
  });

  it('format-preserving tokens keep the shape of mixed identifiers and round-trip', async () => {
    const tokens = await batch(db.client, 'pgmask.encrypt_fpe(t.a1, $2)', [values], ['text'], [KEY]);
    expect(tokens).toEqual(values.map((v) => encryptFpe(v, KEY)));
    const shape = (s: string) => s.replace(/[0-9]/g, '9').replace(/[A-Z]/g, 'A').replace(/[a-z]/g, 'a');
    expect(tokens.map((t) => shape(t!))).toEqual(values.map(shape));
    expect(await batch(db.client, 'pgmask.decrypt_fpe(t.a1, $2)', [tokens], ['text'], [KEY])).toEqual(values);
    expect(tokens.map((t) => decryptFpe(t!, KEY))).toEqual(values);
  });

  it('a token does not decrypt under another key or after one changed character', async () => {
    const token = encryptText('MRN-0012345678', KEY, 1);
    const other = new Uint8Array(32).fill(7);
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    const r = await db.client.query<{ a: string | null; b: string | null; c: string | null }>(
      'SELECT pgmask.decrypt($1, $2) AS a, pgmask.decrypt($1, $3) AS b, pgmask.decrypt($4, $2) AS c',
      [token, KEY, other, flipped],
    );
    expect(r.rows[0]).toEqual({ a: 'MRN-0012345678', b: null, c: null });
  });

  it('the encryption subkeys are not the key pseudonymize uses (domain separation)', async () => {
    const r = await db.client.query<{ same: boolean }>(
      `SELECT substr(hmac(convert_to('0012345678', 'UTF8'), $1::bytea, 'sha256'), 1, 16) = substr(decode(translate(split_part(pgmask.encrypt('0012345678', $1::bytea, 1), '.', 2), '-_', '+/') || '=', 'base64'), 1, 16) AS same`,
      [`\\x${KEY_HEX}`],
    );
    expect(r.rows[0]!.same).toBe(false);
  });
});

describe('encrypt: metadata and render', () => {
  const col = column('mrn', 'text', 'character varying(12)', 'varchar');
  const render = (params: unknown, keyVersion?: number) =>
    renderTransform(encrypt, { value: sql`src.${ident('mrn')}`, column: col, table: table('t', [col], null), params: encrypt.params.parse(params), key: sql`K`, keyVersion, subject: null, rowKey: null }).text;
  it('renders the versioned token or the format-preserving call', () => {
    expect(render({}, 4)).toBe(`pgmask.encrypt(src."mrn"::text, K, 4)`);
    expect(render({ preserve_format: true })).toBe(`pgmask.encrypt_fpe(src."mrn"::text, K)`);
    expect(encrypt.outputType?.(col, {})).toBe('text');
    expect(encrypt.outputType?.(col, { preserve_format: true })).toBeNull();
    expect(encrypt.params.safeParse({ preserve_format: 'yes' }).success).toBe(false);
  });
});
