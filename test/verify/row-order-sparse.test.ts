import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { applyPolicy, loadPolicyText } from '../../src/cli/pipeline.ts';
import { verify } from '../../src/verify/verify.ts';
import { rowOrderThreshold } from '../../src/verify/row-order-attacks.ts';

/**
 * The row-order attack judges each comparison against chance for its own number of
 * pairs. A date column that is mostly NULL (a death date) pairs a few dozen rows
 * whose ρ varies far more than the key's over every row: judged at the key's
 * threshold, a correct keyed order was reported as a leak about half the time
 * (scan drafts of the ehr fixture, `deceased_date`, ρ = -0.24 over "600 rows").
 *
 * 600 notes with random (md5) keys; 30 carry a date, ascending in insertion order.
 */
const s = uniqueSuffix();
const role = `rs_analyst_${s}`;
const member = `rs_reader_${s}`;
let db: TestDatabase;

function policy(rowOrder: 'keyed' | 'storage'): string {
  return `version: 1
runtime: sql
roles:
  ${role}:
    members: [${member}]
tables:
  notes:
    row_order: ${rowOrder}
    columns:
      note_id: pseudonymize
      signed_on: { generalize_date: { to: month } }
      body: redact
`;
}

async function rowOrder(text: string) {
  const { policy: p } = await loadPolicyText(text, 'policy.yaml');
  const report = await verify(db.url, p, { role: member, only: ['row-order'] });
  return report.subjects[0]!.attacks.find((a) => a.id === 'row-order')!;
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_row_order_sparse');
  db.trackRole(role);
  await db.createLoginRole(member);
  await db.query(`
    CREATE TABLE notes (note_id text PRIMARY KEY, signed_on date, body text);
    INSERT INTO notes SELECT md5(g::text), CASE WHEN g % 20 = 0 THEN date '2020-01-01' + g END, 'note ' || g FROM generate_series(1, 600) g;
    ANALYZE notes;`);
}, 120_000);
afterAll(async () => {
  await db?.query(`DROP OWNED BY "${role}"`).catch(() => {});
  await db?.drop();
});

describe('row order on a mostly-NULL date column', () => {
  it('chance is judged per comparison: 30 pairs allow far more than 600', () => {
    expect(rowOrderThreshold(30)).toBeGreaterThan(0.7);
    expect(rowOrderThreshold(600)).toBeLessThan(0.17);
  });

  it('storage order: the 30 dated rows come in date order and the attack names the date column', async () => {
    await applyPolicy(db.url, policy('storage'), { file: 'policy.yaml' });
    const r = await rowOrder(policy('keyed'));
    expect(r.status).toBe('leaked');
    expect(r.evidence).toMatch(/masked\.notes: ρ\(position, raw signed_on\) = 1\.000 over 30 rows/);
  });

  it('keyed order: held under each of eight keys (a per-key ρ over 30 pairs, not 600)', async () => {
    await applyPolicy(db.url, policy('keyed'), { file: 'policy.yaml' });
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      await db.query(`UPDATE pgmask_private.keys SET key = decode(md5(random()::text) || md5(random()::text), 'hex')`);
      const r = await rowOrder(policy('keyed'));
      expect(r.status, r.evidence).toBe('held');
      seen.push(...[...r.evidence.matchAll(/over (\d+) rows/g)].map((m) => m[1]!));
    }
    expect(seen.length).toBeGreaterThan(0);
  });
});
