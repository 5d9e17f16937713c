import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import type { Policy } from '../../src/policy/policy.ts';
import type { AttackResult, VerifyReport } from '../../src/verify/verify-report.ts';
import { policyHeader } from '../support/policy-header.ts';

/**
 * Issue 17: verify's oracle, averaging and cast-error attacks on array and JSON columns — held on
 * the masked setup, and each seen to succeed on a broken one (a guessable key; noise that
 * changes between reads; a helper that casts raw elements or raw JSON dates and quotes them in
 * its error).
 */
const s = uniqueSuffix();
const ROLE = `v17_${s}`;
const MEMBER = `v17_reader_${s}`;

const schemaSql = `
CREATE TABLE recordings (id int PRIMARY KEY, subject_id text NOT NULL, hidden boolean NOT NULL, lead real[], codes text[], doc jsonb);
INSERT INTO recordings
SELECT g, 'S' || g, g % 5 = 0,
  ARRAY(SELECT (sin(i / (3.0 + g)) + 0.1 * g)::real FROM generate_series(1, 64) i),
  ARRAY['A' || g, 'B' || (g * 7)],
  jsonb_build_object('identifier', jsonb_build_array(jsonb_build_object('value', 'MRN-' || g)), 'birthDate', CASE WHEN g = 3 THEN '2024-13-45' ELSE (date '1960-01-01' + g * 400)::text END, 'ssn', '000-00-' || g)
FROM generate_series(1, 16) g;
`;
const policyText = `${policyHeader(ROLE, MEMBER)}tables:
  recordings:
    filter: "NOT hidden"
    columns:
      id: keep
      subject_id: pseudonymize
      hidden: keep
      lead: { signal_noise: { snr_db: 20 } }
      codes: pseudonymize
      doc:
        json:
          paths:
            "$.identifier[*].value": pseudonymize
            "$.birthDate": { generalize_date: { to: year } }
`;

let db: TestDatabase;
let policy: Policy;
beforeAll(async () => {
  db = await createTestDatabase('pgmask_verify17');
  db.trackRole(ROLE);
  await db.query(schemaSql);
  await db.createLoginRole(MEMBER);
  await applyPolicy(db.url, policyText, { file: 'policy.yaml' });
  policy = (await loadPolicyText(policyText, 'policy.yaml')).policy;
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${ROLE}"`).catch(() => {});
  await db?.query(`DROP OWNED BY "${MEMBER}"`).catch(() => {});
  await db?.drop();
});

const run = (only: string[]): Promise<VerifyReport> => verify(db.url, policy, { only, role: ROLE });
function attack(report: VerifyReport, id: string): AttackResult {
  const a = report.subjects[0]!.attacks.find((x) => x.id === id);
  if (!a) throw new Error(`attack ${id} did not run`);
  return a;
}
/** replaces a function's body for one check, then puts the original back */
async function withFunction(signature: string, replacement: string, check: () => Promise<void>): Promise<void> {
  const original = (await db.query(`SELECT pg_get_functiondef($1::regprocedure) AS d`, [signature])).rows[0].d as string;
  await db.query(replacement);
  try {
    await check();
  } finally {
    await db.query(original);
  }
}

describe('verify on array and JSON columns', () => {
  it('holds: the oracle finds four keyed columns (a text array, a signal, a JSON document with keyed paths, the subject) and reproduces none; reads never change; cast errors quote only shown values', async () => {
    const r = await run(['oracle', 'averaging', 'cast-errors']);
    expect(attack(r, 'oracle')).toMatchObject({ status: 'held', evidence: expect.stringMatching(/^4 keyed column\(s\)/) });
    expect(attack(r, 'averaging').status).toBe('held');
    expect(attack(r, 'cast-errors')).toMatchObject({ status: 'held', evidence: expect.stringMatching(/^[1-9]\d* cast error/) });
  });

  it('broken: a guessable key (32 zero bytes) — the oracle reproduces the array, the signal and the JSON document', async () => {
    const [{ hex }] = (await db.query(`SELECT encode(key, 'hex') AS hex FROM pgmask_private.keys WHERE name = 'default'`)).rows;
    await db.query(`UPDATE pgmask_private.keys SET key = decode(repeat('00', 32), 'hex') WHERE name = 'default'`);
    try {
      const r = await run(['oracle']);
      const a = attack(r, 'oracle');
      expect(a.status).toBe('leaked');
      for (const col of ['codes', 'lead', 'doc']) expect(a.objects!.some((o) => o.startsWith(`masked.recordings.${col} reproduced`) && o.endsWith('key = 32 zero bytes')), col).toBe(true);
    } finally {
      await db.query(`UPDATE pgmask_private.keys SET key = decode($1, 'hex') WHERE name = 'default'`, [hex]);
    }
  });

  it('broken: noise that changes between reads (random() in signal_noise, in the JSON assembly) — averaging sees it', async () => {
    await withFunction(
      'pgmask.signal_noise(float8[], text, bytea, jsonb)',
      `CREATE OR REPLACE FUNCTION pgmask.signal_noise(value float8[], identity text, key bytea, opts jsonb) RETURNS float8[] LANGUAGE sql VOLATILE
         AS $$ SELECT array_agg(v + random() ORDER BY i) FROM unnest(value) WITH ORDINALITY AS u(v, i) $$`,
      async () => {
        const r = await run(['averaging']);
        expect(attack(r, 'averaging')).toMatchObject({ status: 'leaked', evidence: expect.stringContaining('masked.recordings') });
      },
    );
    await withFunction(
      'pgmask._json_assemble(jsonb, jsonb, jsonb, boolean)',
      `CREATE OR REPLACE FUNCTION pgmask._json_assemble(doc jsonb, paths jsonb, masked jsonb, keep_unlisted boolean) RETURNS jsonb LANGUAGE sql VOLATILE
         AS $$ SELECT jsonb_build_object('n', random()) $$`,
      async () => {
        expect(attack(await run(['averaging']), 'averaging').status).toBe('leaked');
      },
    );
    expect(attack(await run(['averaging']), 'averaging').status).toBe('held');
  });

  it('broken: helpers that cast raw values (array elements to integers, JSON dates to date) — their errors quote raw data, and cast-errors says so', async () => {
    await withFunction(
      'pgmask._array_shape(anyarray, anycompatiblearray)',
      `CREATE OR REPLACE FUNCTION pgmask._array_shape(flat anyarray, shape anycompatiblearray) RETURNS anyarray LANGUAGE plpgsql IMMUTABLE
         AS $$ BEGIN PERFORM shape::text::int[]; RETURN flat; END $$`,
      async () => {
        const a = attack(await run(['cast-errors']), 'cast-errors');
        expect(a.status).toBe('leaked');
        expect(a.objects).toContain('masked.recordings.codes: reading the column fails with an error quoting a value the view cannot show');
      },
    );
    await withFunction(
      'pgmask._json_date(text)',
      `CREATE OR REPLACE FUNCTION pgmask._json_date(s text) RETURNS date LANGUAGE plpgsql IMMUTABLE
         AS $$ BEGIN IF s !~ '^\\d{4}-\\d{2}-\\d{2}$' THEN RETURN NULL; END IF; RETURN s::date; END $$`,
      async () => {
        const a = attack(await run(['cast-errors']), 'cast-errors');
        expect(a.status).toBe('leaked');
        expect(a.objects).toContain('masked.recordings.doc: reading the column fails with an error quoting a value the view cannot show');
      },
    );
  });
});
