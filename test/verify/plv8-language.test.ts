import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';

/**
 * A masking role that may run its own PLV8 code could plant a runtime that receives the
 * key. PLV8 is not installed here, so a trusted stand-in language named plv8 (its handler
 * is never called) gives the catalog the same privilege shape as CREATE EXTENSION plv8.
 */
const s = uniqueSuffix();
const ROLE = `plv8_analyst_${s}`;
const policyText = `version: 1
runtime: sql
roles:
  ${ROLE}: {}
tables:
  people:
    columns:
      id: pseudonymize
      note: redact
`;

describe('verify: PLV8 code in the context that receives the key', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    db.trackRole(ROLE);
    await db.query(`CREATE TABLE people (id text PRIMARY KEY, note text); INSERT INTO people VALUES ('a', 'x')`);
    await applyPolicy(db.url, policyText, { file: 'p.yaml' });
  });
  afterAll(async () => {
    await db?.query(`DROP OWNED BY "${ROLE}"`).catch(() => {});
    await db?.drop();
  });

  const attack = async () => {
    const { policy } = await loadPolicyText(policyText, 'p.yaml');
    const report = await verify(db.url, policy, { only: ['plv8-own-code'] });
    return report.subjects.find((x) => x.role === ROLE)!.attacks[0]!;
  };

  it('holds when plv8 is not installed', async () => {
    expect(await attack()).toMatchObject({ id: 'plv8-own-code', status: 'held' });
  });

  it('leaks when the masking role may use the language, holds once it is revoked', async () => {
    await db.query('CREATE TRUSTED LANGUAGE plv8 HANDLER plpgsql_call_handler');
    expect(await attack()).toMatchObject({ status: 'leaked', objects: ['language plv8'] });
    await db.query('REVOKE USAGE ON LANGUAGE plv8 FROM PUBLIC');
    expect(await attack()).toMatchObject({ status: 'held' });
    await db.query(`GRANT USAGE ON LANGUAGE plv8 TO "${ROLE}"`);
    expect((await attack()).status).toBe('leaked');
    await db.query('DROP LANGUAGE plv8');
  });
});
