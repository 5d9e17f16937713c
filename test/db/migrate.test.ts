import { readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { applyMigrations, ownMigrations, type PolicyMigration } from '../../src/db/migrate.ts';
import { PgmaskError } from '../../src/errors.ts';
import { createTestDatabase, queryAs, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { untilWaitingForLock } from '../support/locks.ts';

const version = '0.0.0-test';
const databases: TestDatabase[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('pgmask_migrate');
  databases.push(db);
  return db;
}

afterAll(async () => {
  for (const db of databases) await db.drop();
});

/** A policy migration whose every execution leaves a row behind, so a re-run that executes it is visible. */
function countingPolicy(tag: string): PolicyMigration {
  return {
    hash: `hash-${tag}`,
    schemas: [{ source: 'public', masked: 'masked' }],
    sql: `CREATE TABLE IF NOT EXISTS public.policy_runs (tag text);\nINSERT INTO public.policy_runs VALUES ('${tag}');\n`,
  };
}

async function exists(db: TestDatabase, regclassOrSchema: string, kind: 'class' | 'schema'): Promise<boolean> {
  const fn = kind === 'class' ? 'to_regclass' : 'to_regnamespace';
  const { rows } = await db.query<{ ok: boolean }>(`SELECT ${fn}($1) IS NOT NULL AS ok`, [regclassOrSchema]);
  return rows[0]!.ok;
}

async function caught(p: Promise<unknown>): Promise<PgmaskError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PgmaskError);
    return err as PgmaskError;
  }
  throw new Error('expected the promise to reject');
}

const allApplied = () => ownMigrations().map((m) => ({ name: m.name, status: 'applied' }));
const allUnchanged = () => ownMigrations().map((m) => ({ name: m.name, status: 'unchanged' }));

describe('ownMigrations', () => {
  it('reads migrations/*.sql sorted by name, with the sha256 of each file', () => {
    const dir = new URL('../../migrations/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
    const own = ownMigrations();
    expect(own.map((m) => m.name)).toEqual(files);
    expect(own[0]!.name).toBe('0001_init.sql');
    for (const m of own) {
      const text = readFileSync(new URL(m.name, dir), 'utf8');
      expect(m.sql).toBe(text);
      expect(m.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    }
    expect(Object.isFrozen(own)).toBe(true);
  });
});

describe('applyMigrations', () => {
  it('applies own migrations and the policy once; a re-run executes nothing', async () => {
    const db = await freshDatabase();
    const policy = countingPolicy('v1');
    const first = await applyMigrations(db.pool, { pgmaskVersion: version, policy });
    expect(first.own).toEqual(allApplied());
    expect(first.policy).toBe('applied');
    for (const m of ownMigrations()) expect(first.sql).toContain(m.sql.trimEnd());
    expect(first.sql).toContain(policy.sql.trimEnd());

    const before = await db.query('SELECT name, sha256, applied_at::text FROM pgmask.schema_migrations ORDER BY name');
    expect(before.rows.map((r) => [r.name, r.sha256])).toEqual(ownMigrations().map((m) => [m.name, m.sha256]));
    const recorded = await db.query('SELECT policy_hash, sql_sha256, pgmask_version, masked_schema, applied_by FROM pgmask.applied_policies');
    expect(recorded.rows).toEqual([
      {
        policy_hash: 'hash-v1',
        sql_sha256: createHash('sha256').update(policy.sql).digest('hex'),
        pgmask_version: version,
        masked_schema: 'masked',
        applied_by: 'postgres',
      },
    ]);

    const again = await applyMigrations(db.pool, { pgmaskVersion: version, policy });
    expect(again).toEqual({ own: allUnchanged(), policy: 'unchanged', sql: '', ownerRoleGrantedTo: null });
    const after = await db.query('SELECT name, sha256, applied_at::text FROM pgmask.schema_migrations ORDER BY name');
    expect(after.rows).toEqual(before.rows);
    expect((await db.query('SELECT tag FROM public.policy_runs')).rows).toEqual([{ tag: 'v1' }]);
    expect((await db.query('SELECT count(*)::int AS n FROM pgmask.applied_policies')).rows[0].n).toBe(1);

    // a changed policy runs again and is recorded as the newest; own migrations stay untouched
    const v2 = await applyMigrations(db.pool, { pgmaskVersion: version, policy: countingPolicy('v2') });
    expect(v2.own).toEqual(allUnchanged());
    expect(v2.policy).toBe('applied');
    expect((await db.query('SELECT tag FROM public.policy_runs ORDER BY tag')).rows).toEqual([{ tag: 'v1' }, { tag: 'v2' }]);
    // going back to v1 is a change again (the newest row is v2)
    expect((await applyMigrations(db.pool, { pgmaskVersion: version, policy: countingPolicy('v1') })).policy).toBe('applied');

    // no policy: own migrations only
    expect(await applyMigrations(db.pool, { pgmaskVersion: version })).toEqual({ own: allUnchanged(), policy: 'none', sql: '', ownerRoleGrantedTo: null });
  });

  it("creates pgmask's schema with the privileges the security model needs", async () => {
    const db = await freshDatabase();
    await applyMigrations(db.pool, { pgmaskVersion: version });
    const analyst = `mig_analyst_${uniqueSuffix()}`;
    const url = await db.createLoginRole(analyst);

    const { rows } = await db.query(
      `SELECT has_schema_privilege('public', 'pgmask', 'USAGE') AS pgmask_usage,
              has_schema_privilege('public', 'pgmask_private', 'USAGE') AS private_usage,
              has_schema_privilege('pgmask_owner', 'pgmask_private', 'USAGE') AS owner_private_usage,
              has_table_privilege('pgmask_owner', 'pgmask_private.keys', 'SELECT') AS owner_keys,
              has_table_privilege('pgmask_owner', 'pgmask_private.keys', 'INSERT') AS owner_keys_insert,
              (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'pgmask_owner') AS owner_login`,
    );
    expect(rows[0]).toEqual({
      pgmask_usage: true,
      private_usage: false,
      owner_private_usage: true,
      owner_keys: true,
      owner_keys_insert: false,
      owner_login: false,
    });
    await expect(queryAs(url, 'SELECT * FROM pgmask_private.keys')).rejects.toThrow(/permission denied/);
    await expect(queryAs(url, 'SELECT * FROM pgmask.applied_policies')).rejects.toThrow(/permission denied/);
    await expect(queryAs(url, 'SELECT * FROM pgmask.schema_migrations')).rejects.toThrow(/permission denied/);
    // USAGE on pgmask, nothing else: the analyst can resolve names there
    expect(await queryAs(url, "SELECT to_regclass('pgmask.applied_policies') IS NOT NULL AS ok")).toEqual([{ ok: true }]);

    await expect(db.query("INSERT INTO pgmask_private.keys (name, key) VALUES ('short', '\\x00'::bytea)")).rejects.toThrow(/check constraint/);
    await db.query("INSERT INTO pgmask_private.keys (name, key) VALUES ('ok', decode(repeat('ab', 32), 'hex'))");
  });

  it('refuses an own migration whose recorded checksum differs, and changes nothing', async () => {
    const db = await freshDatabase();
    await applyMigrations(db.pool, { pgmaskVersion: version });
    const first = ownMigrations()[0]!;
    await db.query("UPDATE pgmask.schema_migrations SET sha256 = 'edited' WHERE name = $1", [first.name]);
    const err = await caught(applyMigrations(db.pool, { pgmaskVersion: version, policy: countingPolicy('v1') }));
    expect(err.code).toBe('MIGRATION_CHANGED');
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain(first.name);
    expect(err.message).toContain(first.sha256);
    expect(err.hint).toMatch(/append-only.*different pgmask version/);
    expect(await exists(db, 'public.policy_runs', 'class')).toBe(false);
    // a dry run refuses it the same way
    expect((await caught(applyMigrations(db.pool, { pgmaskVersion: version, dryRun: true }))).code).toBe('MIGRATION_CHANGED');
  });

  describe('history chained like graphile-migrate', () => {
    const own = (name: string, text: string) => ({ name, sql: text, sha256: createHash('sha256').update(text).digest('hex') });
    const chain = async (db: TestDatabase) =>
      (await db.query<{ name: string; sha256: string; previous_sha256: string | null }>('SELECT name, sha256, previous_sha256 FROM pgmask.schema_migrations ORDER BY name')).rows;

    it('records with each own migration the previous one\'s hash, and chains an appended file to the last applied one', async () => {
      const db = await freshDatabase();
      await applyMigrations(db.pool, { pgmaskVersion: version });
      const shipped = ownMigrations();
      expect(await chain(db)).toEqual(shipped.map((m, i) => ({ name: m.name, sha256: m.sha256, previous_sha256: i === 0 ? null : shipped[i - 1]!.sha256 })));
      const appended = own('9999_appended.sql', 'CREATE TABLE public.appended (x int);\n');
      const r = await applyMigrations(db.pool, { pgmaskVersion: version, migrations: [...shipped, appended] });
      expect(r.own.at(-1)).toEqual({ name: appended.name, status: 'applied' });
      expect((await chain(db)).at(-1)).toEqual({ name: appended.name, sha256: appended.sha256, previous_sha256: shipped.at(-1)!.sha256 });
    });

    it('refuses a file inserted before an applied one, and a reordered history, with a coded error and changes nothing', async () => {
      const db = await freshDatabase();
      await applyMigrations(db.pool, { pgmaskVersion: version });
      const shipped = ownMigrations();
      const before = await chain(db);
      const inserted = own('0001a_inserted.sql', 'CREATE TABLE public.inserted (x int);\n');
      const err = await caught(applyMigrations(db.pool, { pgmaskVersion: version, migrations: [shipped[0]!, inserted, ...shipped.slice(1)], policy: countingPolicy('v1') }));
      expect(err.code).toBe('MIGRATION_INSERTED');
      expect(err.exitCode).toBe(4);
      expect(err.message).toContain(`${inserted.name} comes before ${shipped[1]!.name}`);
      expect(err.hint).toMatch(/append-only.*rename it to a later number/);
      expect(await exists(db, 'public.inserted', 'class')).toBe(false);
      expect(await exists(db, 'public.policy_runs', 'class')).toBe(false);
      expect((await caught(applyMigrations(db.pool, { pgmaskVersion: version, dryRun: true, migrations: [shipped[0]!, inserted, ...shipped.slice(1)] }))).code).toBe('MIGRATION_INSERTED');

      const swapped = [shipped[1]!, shipped[0]!, ...shipped.slice(2)];
      const reordered = await caught(applyMigrations(db.pool, { pgmaskVersion: version, migrations: swapped }));
      expect(reordered.code).toBe('MIGRATION_REORDERED');
      expect(reordered.message).toContain(`${shipped[0]!.name} was applied as number 1 but this pgmask ships it as number 2`);
      expect(await chain(db)).toEqual(before);
    });

    it('refuses a history whose chain was edited, and one recorded by a newer pgmask', async () => {
      const db = await freshDatabase();
      await applyMigrations(db.pool, { pgmaskVersion: version });
      const shipped = ownMigrations();
      await db.query("UPDATE pgmask.schema_migrations SET previous_sha256 = 'edited' WHERE name = $1", [shipped[1]!.name]);
      expect((await caught(applyMigrations(db.pool, { pgmaskVersion: version }))).code).toBe('MIGRATION_CHAIN_BROKEN');
      await db.query('UPDATE pgmask.schema_migrations SET previous_sha256 = $1 WHERE name = $2', [shipped[0]!.sha256, shipped[1]!.name]);
      expect((await applyMigrations(db.pool, { pgmaskVersion: version })).own).toEqual(allUnchanged());
      const newer = await caught(applyMigrations(db.pool, { pgmaskVersion: version, migrations: shipped.slice(0, -1) }));
      expect(newer.code).toBe('MIGRATION_UNKNOWN');
      expect(newer.hint).toMatch(/newer pgmask/);
    });
  });

  it('rolls back everything, own migrations included, when the policy SQL fails, and says where', async () => {
    const db = await freshDatabase();
    const policy: PolicyMigration = {
      hash: 'hash-bad',
      schemas: [{ source: 'public', masked: 'masked' }],
      sql: 'CREATE TABLE public.half_done (id int);\nSELECT 1;\n  SELEC oops;\n',
    };
    const err = await caught(applyMigrations(db.pool, { pgmaskVersion: version, policy }));
    expect(err.exitCode).toBe(4);
    expect(err.code).toBe('DB_42601');
    expect(err.message).toMatch(/^policy migration \(policy hash-bad\) failed at line 3, column 3: syntax error/);
    expect(err.details[0]?.location).toEqual({ file: 'policy migration', line: 3, column: 3, excerpt: '  SELEC oops;\n  ^' });
    expect(await exists(db, 'pgmask', 'schema')).toBe(false);
    expect(await exists(db, 'pgmask_private', 'schema')).toBe(false);
    expect(await exists(db, 'public.half_done', 'class')).toBe(false);

    // a runtime error (no position) is reported too, and the next run starts from scratch
    const runtime = await caught(
      applyMigrations(db.pool, { pgmaskVersion: version, policy: { ...policy, sql: 'CREATE TABLE public.half_done (id int);\nSELECT 1/0;' } }),
    );
    expect(runtime.code).toBe('DB_22012');
    expect(runtime.message).toMatch(/^policy migration \(policy hash-bad\) failed: division by zero/);
    expect(await exists(db, 'pgmask', 'schema')).toBe(false);
    const ok = await applyMigrations(db.pool, { pgmaskVersion: version, policy: countingPolicy('v1') });
    expect(ok.own).toEqual(allApplied());
  });

  it('names the own migration that failed', async () => {
    const db = await freshDatabase();
    // someone else's pgmask_private must not be adopted: whoever owns it could read the keys
    await db.query('CREATE SCHEMA pgmask_private');
    const err = await caught(applyMigrations(db.pool, { pgmaskVersion: version, policy: countingPolicy('v1') }));
    expect(err.code).toBe('DB_42P06');
    expect(err.message).toMatch(/^pgmask migration 0001_init\.sql failed: schema "pgmask_private" already exists/);
    expect(await exists(db, 'pgmask', 'schema')).toBe(false);
    expect(await exists(db, 'public.policy_runs', 'class')).toBe(false);
  });

  it('reports where inside a DO block the policy SQL failed', async () => {
    const db = await freshDatabase();
    const err = await caught(
      applyMigrations(db.pool, {
        pgmaskVersion: version,
        policy: { hash: 'h', schemas: [{ source: 'public', masked: 'm' }], sql: 'DO $$\nBEGIN\n  PERFORM 1/0;\nEND\n$$;' },
      }),
    );
    expect(err.message).toMatch(/failed: division by zero \[.*PL\/pgSQL function inline_code_block line 3 at PERFORM\]$/);
    expect(err.details).toHaveLength(1);
    expect(await exists(db, 'pgmask', 'schema')).toBe(false);
  });

  it('runs as a non-superuser database owner once pgmask_owner exists (no CREATEROLE needed)', async () => {
    const db = await freshDatabase();
    // pgmask_owner exists cluster-wide after any earlier migration
    await applyMigrations(db.pool, { pgmaskVersion: version });
    const other = await freshDatabase();
    const dba = `mig_dba_${uniqueSuffix()}`;
    const url = await other.createLoginRole(dba);
    await other.query(`ALTER DATABASE "${other.name}" OWNER TO "${dba}"`);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const r = await applyMigrations(pool, { pgmaskVersion: version, policy: countingPolicy('v1') });
      expect(r.own).toEqual(allApplied());
      expect((await other.query("SELECT nspowner::regrole::text AS o FROM pg_namespace WHERE nspname = 'pgmask_private'")).rows[0].o).toBe(dba);
    } finally {
      await pool.end();
    }
  });

  it('serializes two concurrent runs on one database: both succeed, everything applied once', async () => {
    const db = await freshDatabase();
    const policy = countingPolicy('v1');
    const results = await Promise.all([
      applyMigrations(db.pool, { pgmaskVersion: version, policy }),
      applyMigrations(db.pool, { pgmaskVersion: version, policy }),
      applyMigrations(db.pool, { pgmaskVersion: version, policy }),
    ]);
    expect(results.map((r) => r.policy).sort()).toEqual(['applied', 'unchanged', 'unchanged']);
    expect(results.map((r) => r.own[0]!.status).sort()).toEqual(['applied', 'unchanged', 'unchanged']);
    expect((await db.query('SELECT count(*)::int AS n FROM public.policy_runs')).rows[0].n).toBe(1);
    expect((await db.query('SELECT count(*)::int AS n FROM pgmask.applied_policies')).rows[0].n).toBe(1);
    expect((await db.query('SELECT count(*)::int AS n FROM pgmask.schema_migrations')).rows[0].n).toBe(ownMigrations().length);
  });

  it('runs concurrently on two databases of one cluster (the cluster-wide role is created race-safely)', async () => {
    const [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
    const results = await Promise.all([
      applyMigrations(a.pool, { pgmaskVersion: version }),
      applyMigrations(b.pool, { pgmaskVersion: version }),
    ]);
    expect(results.map((r) => r.own)).toEqual([allApplied(), allApplied()]);
  });

  it("survives the cluster-wide role race: the loser's CREATE ROLE waits for the winner, then gets unique_violation", async () => {
    const [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
    // the role-creation block exactly as shipped, for a role nobody else uses (pgmask_owner exists by now)
    const block = /DO \$pgmask\$[\s\S]*?\$pgmask\$;/.exec(ownMigrations()[0]!.sql)?.[0];
    expect(block).toContain("CREATE ROLE pgmask_owner NOLOGIN");
    const role = `mig_race_${uniqueSuffix()}`;
    a.trackRole(role);
    const raced = block!.replaceAll('pgmask_owner', role);
    const winner = await a.pool.connect();
    const loser = await b.pool.connect();
    try {
      await winner.query('BEGIN');
      await winner.query(raced);
      await loser.query('BEGIN');
      const loserPid = (await loser.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const blocked = loser.query(raced);
      // the loser waits on the winner's uncommitted pg_authid row: seen in pg_locks before the winner commits
      await untilWaitingForLock(a.pool, loserPid);
      await winner.query('COMMIT');
      await blocked;
      await loser.query('COMMIT');
    } finally {
      winner.release();
      loser.release();
    }
    expect((await a.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [role])).rows[0].n).toBe(1);
  });

  it('dry run returns the SQL that would run and changes nothing', async () => {
    const db = await freshDatabase();
    const policy = countingPolicy('v1');
    const dry = await applyMigrations(db.pool, { pgmaskVersion: version, policy, dryRun: true });
    expect(dry.own).toEqual(allApplied());
    expect(dry.policy).toBe('applied');
    expect(dry.sql).toBe(
      [...ownMigrations().map((m) => `-- pgmask migration ${m.name}\n${m.sql.trimEnd()}\n`), `-- pgmask policy migration (policy hash-v1)\n${policy.sql.trimEnd()}\n`].join('\n'),
    );
    expect(await exists(db, 'pgmask', 'schema')).toBe(false);
    expect(await exists(db, 'public.policy_runs', 'class')).toBe(false);

    const real = await applyMigrations(db.pool, { pgmaskVersion: version, policy });
    expect(real.sql).toBe(dry.sql);

    expect(await applyMigrations(db.pool, { pgmaskVersion: version, policy, dryRun: true })).toEqual({ own: allUnchanged(), policy: 'unchanged', sql: '', ownerRoleGrantedTo: null });
    const changed = countingPolicy('v2');
    const dry2 = await applyMigrations(db.pool, { pgmaskVersion: version, policy: changed, dryRun: true });
    expect(dry2.policy).toBe('applied');
    expect(dry2.sql).toContain("INSERT INTO public.policy_runs VALUES ('v2')");
    expect((await db.query('SELECT tag FROM public.policy_runs')).rows).toEqual([{ tag: 'v1' }]);
    expect((await db.query('SELECT count(*)::int AS n FROM pgmask.applied_policies')).rows[0].n).toBe(1);
  });

  it('works on a single client and leaves it usable', async () => {
    const db = await freshDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect((await applyMigrations(client, { pgmaskVersion: version, policy: countingPolicy('v1') })).policy).toBe('applied');
      await expect(applyMigrations(client, { pgmaskVersion: version, policy: { ...countingPolicy('v2'), sql: 'SELEC 1' } })).rejects.toThrow(PgmaskError);
      // the failed run rolled back: the client is out of any transaction
      // (inside a still-open transaction now() would be that transaction's start, not this statement's)
      expect((await client.query('SELECT now() = statement_timestamp() AS fresh')).rows[0].fresh).toBe(true);
      expect((await applyMigrations(client, { pgmaskVersion: version, policy: countingPolicy('v1') })).policy).toBe('unchanged');
    } finally {
      await client.end();
    }
  });

  it('detects migration text that ends the transaction', async () => {
    const db = await freshDatabase();
    const err = await caught(
      applyMigrations(db.pool, { pgmaskVersion: version, policy: { hash: 'h', schemas: [{ source: 'public', masked: 'm' }], sql: 'COMMIT;\nSELECT 1;' } }),
    );
    expect(err.code).toBe('MIGRATION_TRANSACTION_ENDED');
    expect(err.exitCode).toBe(4);
  });
});
