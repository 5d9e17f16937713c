/**
 * Honest brokers: a broker reveals 1,000 tokens (raw values back, one audit row per
 * call), an analyst is refused, the broker cannot change the audit log, and verify's
 * `reveal` attack holds — and leaks once EXECUTE is granted to PUBLIC.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { runPgmask } from '../support/cli.ts';
import { revealTokens } from '../../src/db/keys.ts';
import { loadPolicyFile } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import { keyPolicyYaml, PATIENT_ROWS, schemaSql, tempFile, type KeyPolicyNames } from './fixture.ts';

const s = uniqueSuffix();
const names: KeyPolicyNames = { analyst: `rv_analyst_${s}`, analystLogin: `rv_alice_${s}`, broker: `rv_broker_${s}`, brokerLogin: `rv_bob_${s}` };
let db: TestDatabase;
let policyFile: string;
let analystUrl: string;
let brokerUrl: string;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_reveal');
  await db.query(schemaSql());
  analystUrl = await db.createLoginRole(names.analystLogin);
  brokerUrl = await db.createLoginRole(names.brokerLogin);
  db.trackRole(names.analyst);
  db.trackRole(names.broker);
  policyFile = tempFile('pgmask.yaml', keyPolicyYaml(names));
  const r = await runPgmask(['migrate', '--policy', policyFile, '--database-url', db.url]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}, 240_000);
afterAll(async () => {
  await db?.drop();
});

const masked = async () => (await db.query<{ mrn: string; study_id: string }>('SELECT mrn, study_id FROM masked.patients ORDER BY patient_id')).rows;

describe('pgmask reveal', () => {
  it('a broker reveals 1,000 tokens through the CLI: raw values in order, one audit row saying who, which key and how many', async () => {
    // the tokens of the raw rows, computed as admin in patient order; the masked view shows exactly these (in its own row order)
    const pairs = (await db.query<{ study_id: string; token: string }>(`SELECT p.study_id, pgmask.encrypt(p.study_id, k.key, 1) AS token
       FROM public.patients AS p, pgmask_private.keys AS k WHERE k.name = 'reid' AND k.version = 1 ORDER BY p.patient_id`)).rows;
    const tokens = pairs.map((x) => x.token);
    const rawIds = pairs.map((x) => x.study_id);
    const shown = (await db.query<{ study_id: string }>('SELECT m.study_id FROM masked.patients AS m')).rows.map((r) => r.study_id);
    expect([...shown].sort()).toEqual([...tokens].sort());
    expect(tokens).toHaveLength(PATIENT_ROWS);
    expect(tokens.every((t) => /^v1\.[A-Za-z0-9_-]+$/.test(t))).toBe(true);
    const r = await runPgmask(['reveal', '--key', 'reid', '--database-url', brokerUrl, ...tokens]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(rawIds);
    const log = await db.query('SELECT session_user_name, role_name, key_name, key_versions, token_count, revealed_count, application_name FROM pgmask.reveal_log');
    expect(log.rows).toEqual([
      { session_user_name: names.brokerLogin, role_name: names.brokerLogin, key_name: 'reid', key_versions: [1], token_count: PATIENT_ROWS, revealed_count: PATIENT_ROWS, application_name: 'pgmask' },
    ]);
  }, 180_000);

  it('format-preserving MRN tokens (10 digits) reveal too, after SET ROLE the role is logged', async () => {
    const pairs = (await db.query<{ mrn: string; token: string }>(`SELECT p.mrn, pgmask.encrypt_fpe(p.mrn, k.key) AS token
       FROM public.patients AS p, pgmask_private.keys AS k WHERE k.name = 'reid' AND k.version = 1 ORDER BY p.patient_id LIMIT 20`)).rows;
    const fpe = pairs.map((x) => x.token);
    const rawMrns = pairs.map((x) => x.mrn);
    const shown = new Set((await db.query<{ mrn: string }>('SELECT m.mrn FROM masked.patients AS m')).rows.map((r) => r.mrn));
    expect(fpe.every((t) => shown.has(t))).toBe(true);
    expect(fpe.every((t) => /^[0-9]{10}$/.test(t))).toBe(true);
    expect(fpe).not.toEqual(rawMrns);
    const c = new pg.Client({ connectionString: brokerUrl, application_name: 'study-42' });
    await c.connect();
    try {
      await c.query(`SET ROLE ${names.broker}`);
      expect((await revealTokens(c, 'reid', fpe)).map((x) => x.value)).toEqual(rawMrns);
    } finally {
      await c.end();
    }
    const last = await db.query('SELECT session_user_name, role_name, application_name, token_count FROM pgmask.reveal_log ORDER BY id DESC LIMIT 1');
    expect(last.rows[0]).toEqual({ session_user_name: names.brokerLogin, role_name: names.broker, application_name: 'study-42', token_count: 20 });
  }, 180_000);

  it('a token that was changed does not reveal (exit 4, REVEAL_UNVERIFIED) and is counted as not revealed', async () => {
    const token = (await masked())[0]!.study_id;
    const changed = token.slice(0, 8) + (token[8] === 'A' ? 'B' : 'A') + token.slice(9);
    const r = await runPgmask(['reveal', '--key', 'reid', '--database-url', brokerUrl, changed]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error[REVEAL_UNVERIFIED]');
    const last = await db.query('SELECT token_count, revealed_count FROM pgmask.reveal_log ORDER BY id DESC LIMIT 1');
    expect(last.rows[0]).toEqual({ token_count: 1, revealed_count: 0 });
  }, 180_000);

  it('an analyst is refused, through the CLI and in SQL, and nothing is logged', async () => {
    const before = (await db.query('SELECT count(*)::int AS n FROM pgmask.reveal_log')).rows[0].n;
    const token = (await masked())[0]!.study_id;
    const r = await runPgmask(['reveal', '--key', 'reid', '--database-url', analystUrl, token]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error[REVEAL_NOT_ALLOWED]');
    await expect(queryAs(analystUrl, 'SELECT pgmask.reveal($1::text, $2::text)', [token, 'reid'])).rejects.toThrow(/permission denied for function reveal/);
    await expect(queryAs(analystUrl, 'SELECT pgmask.reveal(ARRAY[$1::text], $2::text)', [token, 'reid'])).rejects.toThrow(/permission denied for function reveal/);
    await expect(queryAs(analystUrl, 'SELECT * FROM pgmask.reveal_log')).rejects.toThrow(/permission denied/);
    expect((await db.query('SELECT count(*)::int AS n FROM pgmask.reveal_log')).rows[0].n).toBe(before);
  }, 180_000);

  it('the broker reads the audit log but cannot UPDATE, DELETE, TRUNCATE or INSERT into it', async () => {
    expect((await queryAs(brokerUrl, 'SELECT count(*)::int AS n FROM pgmask.reveal_log'))[0].n).toBeGreaterThan(0);
    for (const change of ['UPDATE pgmask.reveal_log SET token_count = 0', 'DELETE FROM pgmask.reveal_log', 'TRUNCATE pgmask.reveal_log', "INSERT INTO pgmask.reveal_log (session_user_name, role_name, key_name, key_versions, token_count, revealed_count) VALUES ('x', 'x', 'reid', '{}', 0, 0)"]) {
      await expect(queryAs(brokerUrl, change), change).rejects.toThrow(/permission denied for table reveal_log/);
    }
  }, 180_000);

  it('verify: the reveal attack holds for the analyst, and leaks when EXECUTE is granted to PUBLIC', async () => {
    const { policy } = await loadPolicyFile(policyFile);
    const held = await verify(db.url, policy, { only: ['reveal'], role: names.analyst });
    expect(held.subjects[0]!.attacks.map((a) => a.status)).toEqual(['held']);
    await db.query('GRANT EXECUTE ON FUNCTION pgmask.reveal(text[], text, int4), pgmask.reveal(text, text) TO PUBLIC');
    try {
      const leaked = await verify(db.url, policy, { only: ['reveal'], role: names.analyst });
      expect(leaked.subjects[0]!.attacks[0]!.status).toBe('leaked');
      expect(leaked.subjects[0]!.attacks[0]!.evidence).toContain('pgmask.reveal');
    } finally {
      await db.query('REVOKE EXECUTE ON FUNCTION pgmask.reveal(text[], text, int4), pgmask.reveal(text, text) FROM PUBLIC');
    }
  }, 180_000);
});
