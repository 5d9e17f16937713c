/**
 * Two PostgreSQL servers (the test server as site A, a second embedded server as site B):
 * keys exported at A (passphrase, or B's OpenPGP public key) and imported at B give
 * byte-identical masked tables for every keyed transform — on the sql runtime at both
 * sites, and on the plv8 runtime (the compiled PLV8 install in the sandbox, fed B's
 * imported keys). A wrong passphrase, a changed file or a clashing key changes nothing.
 * Rotation: new tokens and pseudonyms for the rotated key only; old tokens still reveal.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.ts';
import { withDatabase } from '../../src/db/connection.ts';
import { listKeys, revealTokens } from '../../src/db/keys.ts';
import { registry } from '../../src/transforms/registry.ts';
import { plv8RuntimeInstall } from '../../src/runtime/runtime-install.ts';
import { createPlv8Sandbox } from '../support/plv8-sandbox.ts';
import { keyPolicyYaml, schemaSql, tempFile, type KeyPolicyNames } from './fixture.ts';

const ROWS = 200;
const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/keys/${f}`, import.meta.url));
const s = uniqueSuffix();
const names: KeyPolicyNames = { analyst: `ts_analyst_${s}`, analystLogin: `ts_alice_${s}`, broker: `ts_broker_${s}`, brokerLogin: `ts_bob_${s}` };

let siteA: TestDatabase;
let serverB: EmbeddedServer;
let urlB: string;
let policyFile: string;
let brokerUrlA: string;

async function query<R extends pg.QueryResultRow = any>(url: string, text: string, params?: unknown[]): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** The masked table as text, one line per row, sorted: what "byte-identical" compares. */
const maskedTable = async (url: string) => (await query<{ r: string }>(url, 'SELECT m::text AS r FROM masked.patients AS m ORDER BY 1')).map((x) => x.r);
const fingerprints = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await listKeys(c)).map((k) => `${k.name}/${k.version}/${k.fingerprint}`);
  } finally {
    await c.end();
  }
};

beforeAll(async () => {
  siteA = await createTestDatabase('pgmask_site_a');
  await siteA.query(schemaSql(ROWS));
  await siteA.createLoginRole(names.analystLogin);
  brokerUrlA = await siteA.createLoginRole(names.brokerLogin);
  siteA.trackRole(names.analyst);
  siteA.trackRole(names.broker);
  serverB = await startEmbeddedPostgres();
  await query(serverB.url, 'CREATE DATABASE site_b');
  urlB = withDatabase(serverB.url, 'site_b');
  await query(urlB, schemaSql(ROWS));
  await query(urlB, `CREATE ROLE ${names.analystLogin} LOGIN; CREATE ROLE ${names.brokerLogin} LOGIN`);
  policyFile = tempFile('pgmask.yaml', keyPolicyYaml(names));
  for (const url of [siteA.url, urlB]) {
    const r = await runPgmask(['migrate', '--policy', policyFile, '--database-url', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
}, 480_000);
afterAll(async () => {
  await siteA?.drop();
  await serverB?.stop();
});

describe('keys shared by two sites', () => {
  it('independent keys give different masked tables; export at A, import at B, migrate: byte-identical', async () => {
    expect(await maskedTable(urlB)).not.toEqual(await maskedTable(siteA.url));
    const pass = tempFile('pass', 'correct horse battery staple\n');
    const wrong = tempFile('wrong', 'incorrect horse battery staple\n');
    const defaultFile = tempFile('default.asc', '');
    const reidFile = tempFile('reid.asc', '');
    expect((await runPgmask(['keys', 'export', 'default', '--out', defaultFile, '--passphrase-file', pass, '--database-url', siteA.url])).code).toBe(0);
    expect((await runPgmask(['keys', 'export', 'reid', '--out', reidFile, '--recipient-key', fixture('site-b.pub.asc'), '--database-url', siteA.url])).code).toBe(0);
    const armored = readFileSync(defaultFile, 'utf8');
    expect(armored).toContain('-----BEGIN PGP MESSAGE-----');
    // the key bytes are nowhere in the file
    for (const fp of await query<{ hex: string }>(siteA.url, "SELECT encode(key, 'hex') AS hex FROM pgmask_private.keys")) expect(armored.toLowerCase()).not.toContain(fp.hex.slice(0, 16));

    const before = await fingerprints(urlB);
    const refused = async (args: string[], code: string) => {
      const r = await runPgmask([...args, '--database-url', urlB]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error[${code}]`);
      expect(await fingerprints(urlB)).toEqual(before);
    };
    await refused(['keys', 'import', defaultFile, '--passphrase-file', wrong, '--replace'], 'KEY_IMPORT_UNREADABLE');
    const lines = armored.split('\n');
    const mid = lines.findIndex((l, i) => i > 2 && l.length > 40);
    lines[mid] = lines[mid]!.slice(0, 10) + (lines[mid]![10] === 'A' ? 'B' : 'A') + lines[mid]!.slice(11);
    const tampered = tempFile('tampered.asc', lines.join('\n'));
    await refused(['keys', 'import', tampered, '--passphrase-file', pass, '--replace'], 'KEY_IMPORT_UNREADABLE');
    await refused(['keys', 'import', defaultFile, '--passphrase-file', pass], 'KEY_CONFLICT');
    await refused(['keys', 'import', reidFile, '--passphrase-file', pass, '--replace'], 'KEY_IMPORT_UNREADABLE');

    expect((await runPgmask(['keys', 'import', defaultFile, '--passphrase-file', pass, '--replace', '--database-url', urlB])).code).toBe(0);
    const r = await runPgmask(['keys', 'import', reidFile, '--secret-key', fixture('site-b.sec.asc'), '--replace', '--database-url', urlB, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, name: 'reid', imported: [1], unchanged: [] });
    expect(await fingerprints(urlB)).toEqual(await fingerprints(siteA.url));
    const list = await runPgmask(['keys', 'list', '--json', '--database-url', urlB]);
    expect(JSON.parse(list.stdout).keys.map((k: { name: string; fingerprint: string }) => `${k.name}/${k.fingerprint}`)).toEqual((await fingerprints(siteA.url)).map((f) => f.replace(/\/\d+\//, '/')));

    expect((await runPgmask(['migrate', '--policy', policyFile, '--database-url', urlB])).code).toBe(0);
    const a = await maskedTable(siteA.url);
    expect(a).toHaveLength(ROWS);
    expect(await maskedTable(urlB)).toEqual(a);
  }, 300_000);

  it('the plv8 runtime at B (compiled install in the sandbox, with B\'s imported keys) gives the same masked rows as the sql runtime at A', async () => {
    const sandbox = createPlv8Sandbox(await plv8RuntimeInstall(registry));
    const keys = new Map((await query<{ name: string; key: Buffer }>(urlB, 'SELECT name, key FROM pgmask_private.keys WHERE version = 1')).map((k) => [k.name, new Uint8Array(k.key)]));
    const def = keys.get('default')!;
    const reid = keys.get('reid')!;
    const raw = await query<{ patient_id: number; mrn: string; study_id: string; birth_date: string; weight_kg: number; email: string }>(urlB, "SELECT patient_id, mrn, study_id, to_char(birth_date, 'YYYY-MM-DD') AS birth_date, weight_kg, email FROM public.patients");
    const call = (fn: string, args: unknown[], types: string[]) => sandbox.call(`pgmask.${fn}`, args, { types });
    const viaPlv8 = raw.map((p) => {
      const days = call('shift_date_days', [String(p.patient_id), def, { max_days: 30 }], ['text', 'bytea', 'jsonb']) as number;
      const shifted = new Date(Date.parse(`${p.birth_date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
      // noise is keyed by column, raw value and subject: a float's identity is the hex of its 8 IEEE bytes, ':', the subject
      const ieee = Buffer.alloc(8);
      ieee.writeDoubleBE(p.weight_kg);
      const identity = `${ieee.toString('hex')}:${p.patient_id}`;
      const noisy = call('noise', [p.weight_kg, identity, def, { column: 'weight_kg', relative: 0.05 }], ['float8', 'text', 'bytea', 'jsonb']) as number;
      return [
        call('pseudonymize_int4', [p.patient_id, def, {}], ['int4', 'bytea', 'jsonb']),
        call('encrypt_fpe', [p.mrn, reid], ['text', 'bytea']),
        call('encrypt', [p.study_id, reid, 1], ['text', 'bytea', 'int4']),
        shifted,
        Math.floor(noisy * 10 + 0.5) / 10,
        call('fake', [p.email, def, { kind: 'email' }], ['text', 'bytea', 'jsonb']),
      ].map(String);
    });
    const viaSql = await query<{ r: string[] }>(siteA.url, 'SELECT ARRAY[patient_id::text, mrn, study_id, birth_date::text, weight_kg::text, email] AS r FROM masked.patients');
    const sortRows = (rows: string[][]) => rows.map((r) => r.join('|')).sort();
    expect(sortRows(viaPlv8)).toEqual(sortRows(viaSql.map((x) => x.r)));
  }, 300_000);

  it('rotation at A: after keys rotate and migrate, the rotated key\'s tokens change, everything else stays, old tokens still reveal', async () => {
    const before = await query<{ patient_id: number; mrn: string; study_id: string; birth_date: string; weight_kg: number; email: string }>(siteA.url, 'SELECT * FROM masked.patients ORDER BY patient_id');
    const r = await runPgmask(['keys', 'rotate', 'reid', '--database-url', siteA.url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).key).toMatchObject({ name: 'reid', version: 2, current: true });
    // views keep version 1 until the next migrate
    expect(await query(siteA.url, 'SELECT * FROM masked.patients ORDER BY patient_id')).toEqual(before);
    expect((await runPgmask(['migrate', '--policy', policyFile, '--database-url', siteA.url])).code).toBe(0);
    const after = await query<(typeof before)[number]>(siteA.url, 'SELECT * FROM masked.patients ORDER BY patient_id');
    expect(after.map(({ mrn, study_id, ...rest }) => rest)).toEqual(before.map(({ mrn, study_id, ...rest }) => rest));
    expect(after.every((x, i) => x.study_id.startsWith('v2.') && x.study_id !== before[i]!.study_id)).toBe(true);
    expect(after.filter((x, i) => x.mrn === before[i]!.mrn).length).toBeLessThan(5);
    const raw = (await query<{ study_id: string; mrn: string }>(siteA.url, 'SELECT study_id, mrn FROM public.patients')).map((x) => x.study_id).sort();
    const c = new pg.Client({ connectionString: brokerUrlA });
    await c.connect();
    try {
      const old = await revealTokens(c, 'reid', before.map((x) => x.study_id));
      expect(old.map((x) => x.value).sort()).toEqual(raw);
      const fresh = await revealTokens(c, 'reid', after.map((x) => x.study_id));
      expect(fresh.map((x) => x.value).sort()).toEqual(raw);
      // format-preserving tokens name no version: the old ones reveal with --key-version 1
      const oldFpe = await revealTokens(c, 'reid', before.slice(0, 10).map((x) => x.mrn), 1);
      const rawMrn = await query<{ mrn: string }>(siteA.url, 'SELECT mrn FROM public.patients');
      expect(oldFpe.every((x) => rawMrn.some((m) => m.mrn === x.value))).toBe(true);
    } finally {
      await c.end();
    }
  }, 300_000);
});
