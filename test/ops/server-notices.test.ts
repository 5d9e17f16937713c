import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy } from '../../src/cli/pipeline.ts';
import type { ServerNotice } from '../../src/db/connection.ts';
import { runPgmask } from '../support/cli.ts';
import { uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { patientsDatabase, patientsPolicy, type PatientsFixture } from '../support/patients-fixture.ts';

/**
 * The server's WARNING and NOTICE messages reach the user during migrate and refresh (Citus,
 * for one, warns that a view will be created only locally). An event trigger stands in for
 * such an extension here; pgmask's own "already exists, skipping" stays quiet.
 */
const s = uniqueSuffix();
const ANALYST = `notice_analyst_${s}`;
const READER = `notice_reader_${s}`;
const policy = (noise: number) => patientsPolicy({ role: ANALYST, members: [READER], weight: `{ noise: { relative: ${noise} } }`, materialize: true });

let fixture: PatientsFixture;
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  fixture = await patientsDatabase('pgmask_notices');
  ({ db, dir } = fixture);
  await db.createLoginRole(READER);
  db.trackRole(ANALYST);
});

afterAll(async () => {
  await fixture?.drop();
});

function cli(command: string, noise: number) {
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, policy(noise));
  return runPgmask([command, '--policy', file, '--database-url', db.url]);
}

describe('server messages during migrate and refresh', () => {
  it('a migrate with nothing to say passes on no message (pgmask\'s own "…, skipping" stays quiet)', async () => {
    const notices: ServerNotice[] = [];
    for (const noise of [0.05, 0.05, 0.06]) await applyPolicy(db.url, policy(noise), { onNotice: (n) => notices.push(n) });
    expect(notices).toEqual([]);
  });

  it('a WARNING and a NOTICE raised by the server are printed on stderr, with their detail', async () => {
    await db.query(`CREATE FUNCTION public.remark() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'materialized view will be created only locally' USING DETAIL = 'it depends on a table not in the metadata';
  RAISE WARNING 'remark from an extension (%)', tg_tag;
END $$;
CREATE EVENT TRIGGER remark ON ddl_command_end WHEN TAG IN ('CREATE MATERIALIZED VIEW', 'REFRESH MATERIALIZED VIEW') EXECUTE FUNCTION public.remark();`);
    try {
      const m = await cli('migrate', 0.07);
      expect(m.code, m.stderr).toBe(0);
      // the policy migration runs with client_min_messages = warning (a re-GRANT says NOTICE every time): its WARNINGs show, as Citus's do
      expect(m.stderr).toBe('server WARNING: remark from an extension (CREATE MATERIALIZED VIEW)\n');
      const r = await cli('refresh', 0.07);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe(
        'server NOTICE: materialized view will be created only locally\n  detail: it depends on a table not in the metadata\nserver WARNING: remark from an extension (REFRESH MATERIALIZED VIEW)\n',
      );
    } finally {
      await db.query('DROP EVENT TRIGGER remark');
    }
  });
});
