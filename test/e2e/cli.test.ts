import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPgmask } from '../support/cli.ts';
import { registry } from '../../src/transforms/registry.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';

const pgmask = (args: string[], env: Record<string, string> = {}) => runPgmask(args, { env });

const s = uniqueSuffix();
const ROLE = `cli_analyst_${s}`;

const goodPolicy = `version: 1
runtime: sql
roles:
  ${ROLE}: {}
tables:
  people:
    columns:
      id: keep
      name: pseudonymize
      note: redact
`;

describe('pgmask CLI', () => {
  let db: TestDatabase;
  let dir: string;
  const snapshotState = async () =>
    (
      await db.query(`SELECT (SELECT count(*) FROM pg_namespace WHERE nspname IN ('pgmask','pgmask_private','masked'))::int AS schemas,
                             (SELECT count(*) FROM pg_class WHERE relname = 'people')::int AS tables`)
    ).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase();
    db.trackRole(ROLE);
    await db.query(`CREATE TABLE people (id int PRIMARY KEY, name text, note text); INSERT INTO people VALUES (1, 'Ann', 'x')`);
    dir = mkdtempSync(join(tmpdir(), 'pgmask-cli-'));
  });
  afterAll(async () => {
    await db?.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
    await db?.drop();
  });

  it('prints help with the exit codes, and exits 2 on a usage error', async () => {
    const help = await pgmask(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 ok/);
    // bin/pgmask.js itself, as a clone runs it (TypeScript through tsx): the same help, the same usage exit
    const viaBin = await runPgmask(['--help'], { viaBin: true });
    expect(viaBin.stdout).toBe(help.stdout);
    expect((await runPgmask(['migrate', '--no-such-flag'], { viaBin: true })).code).toBe(2);
    const bad = await pgmask(['migrate', '--no-such-flag']);
    expect(bad.code).toBe(2);
    const noUrl = await pgmask(['migrate', '--policy', 'x.yaml'], { DATABASE_URL: '' });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/error\[NO_DATABASE_URL\]/);
  });

  it('exits 3 naming file:line for an unknown column, an unknown transform and an unclassified column, and changes nothing', async () => {
    const before = await snapshotState();
    const cases: [string, RegExp][] = [
      [goodPolicy.replace('note: redact', 'note: redact\n      nope: keep'), /bad\.yaml:11:7: column `nope` does not exist/],
      [goodPolicy.replace('name: pseudonymize', 'name: pseudonymise'), /bad\.yaml:9:13: unknown transform `pseudonymise`[\s\S]*did you mean `pseudonymize`/],
      [goodPolicy.replace('      note: redact\n', ''), /note/],
    ];
    for (const [text, pattern] of cases) {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, text);
      const r = await pgmask(['migrate', '--policy', file, '--database-url', db.url]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).toMatch(/^error\[/);
    }
    expect(await snapshotState()).toEqual(before);
  });

  it('exits 4 with a hint when the database refuses', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, goodPolicy);
    const r = await pgmask(['migrate', '--policy', file, '--database-url', 'postgres://nobody:x@127.0.0.1:1/none']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/hint:/);
  });

  it('generate prints deterministic SQL; migrate --dry-run changes nothing; migrate applies once', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, goodPolicy);
    const a = await pgmask(['generate', '--policy', file, '--database-url', db.url]);
    const b = await pgmask(['generate', '--policy', file, '--database-url', db.url]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/^-- pgmask \d+\.\d+\.\d+ migration/);
    expect(a.stdout).toContain('WITH (security_barrier)');

    const before = await snapshotState();
    const dry = await pgmask(['migrate', '--dry-run', '--policy', file, '--database-url', db.url]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('CREATE OR REPLACE VIEW "masked"."people"');
    expect(await snapshotState()).toEqual(before);

    const out = join(dir, 'out.sql');
    expect((await pgmask(['generate', '--policy', file, '--database-url', db.url, '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(a.stdout);

    const m1 = await pgmask(['migrate', '--policy', file, '--database-url', db.url, '--json']);
    expect(m1.code, m1.stderr).toBe(0);
    expect(JSON.parse(m1.stdout)).toMatchObject({ ok: true, policy: 'applied', runtime: 'sql', views: ['masked.people'] });
    const m2 = await pgmask(['migrate', '--policy', file, '--database-url', db.url]);
    expect(m2.stdout).toMatch(/up to date/);
  });

  it('transforms lists every registered transform with its parameters', async () => {
    const r = await pgmask(['transforms', '--json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout).transforms as { name: string; params: string[]; keyed: boolean }[];
    expect(listed.map((t) => t.name)).toEqual(registry.names());
    expect(listed.find((t) => t.name === 'shift_date')).toMatchObject({ keyed: true, params: expect.arrayContaining(['max_days', 'keep_weekday']) });
    const text = await pgmask(['transforms']);
    expect(text.stdout).toMatch(/^noise \(keyed\)\n {2}.+\n {2}types: integer, numeric, float\n/m);
  });

  it('schema prints a JSON Schema naming every transform', async () => {
    const r = await pgmask(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    const text = JSON.stringify(schema);
    for (const name of ['keep', 'redact', 'pseudonymize']) expect(text).toContain(name);
  });
});
