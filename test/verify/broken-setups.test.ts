import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createVerifyFixture, dropVerifyFixture, type VerifyFixture } from './verify-fixture.ts';
import { verify } from '../../src/verify/verify.ts';
import type { AttackResult, VerifyReport } from '../../src/verify/verify-report.ts';
import { ident, literal } from '../../src/sql/index.ts';
import { uniqueSuffix } from '../support/db.ts';

/**
 * Issue "pgmask verify and pgmask check": deliberately broken setups, each caught
 * by verify with a specific finding. One database is shared: each test breaks the
 * setup, runs the attacks it is about (as the role it concerns), then repairs it;
 * the last test checks the repaired setup verifies clean again.
 */
let f: VerifyFixture;

beforeAll(async () => {
  f = await createVerifyFixture();
}, 120_000);
afterAll(async () => {
  await dropVerifyFixture(f);
});

async function run(only: string[], role?: string): Promise<VerifyReport> {
  return verify(f.db.url, f.policy, { only, role: role ?? f.role });
}

function attack(report: VerifyReport, id: string): AttackResult {
  const a = report.subjects[0]!.attacks.find((x) => x.id === id);
  if (!a) throw new Error(`attack ${id} did not run`);
  return a;
}

/** Breaks the setup, runs `check`, and repairs it even when `check` fails. */
async function broken(breakSql: string, repairSql: string, check: () => Promise<void>): Promise<void> {
  await f.db.query(breakSql);
  try {
    await check();
  } finally {
    await f.db.query(repairSql);
  }
}

const keyHex = async () => (await f.db.query(`SELECT encode(key, 'hex') AS hex FROM pgmask_private.keys WHERE name = 'default'`)).rows[0].hex as string;
const viewDef = async (name: string) => (await f.db.query(`SELECT pg_get_viewdef($1::regclass) AS d`, [`masked.${name}`])).rows[0].d as string;
const functionDef = async (signature: string) => (await f.db.query(`SELECT pg_get_functiondef($1::regprocedure) AS d`, [signature])).rows[0].d as string;

describe('verify catches deliberately broken setups', () => {
  it('1. GRANT SELECT on a source table to PUBLIC', async () => {
    await broken('GRANT SELECT ON public.patients TO PUBLIC', 'REVOKE SELECT ON public.patients FROM PUBLIC', async () => {
      const r = await run(['source-read', 'source-grants-public']);
      expect(r.ok).toBe(false);
      expect(attack(r, 'source-read')).toMatchObject({ status: 'leaked', evidence: expect.stringMatching(/public\.patients: SELECT \* succeeded/) });
      expect(attack(r, 'source-grants-public')).toMatchObject({ status: 'leaked', objects: ['PUBLIC has public.patients: SELECT'] });
    });
  });

  it('2. a column-level grant to the masking role', async () => {
    await broken(`GRANT SELECT (mrn) ON public.patients TO ${ident(f.role).text}`, `REVOKE SELECT (mrn) ON public.patients FROM ${ident(f.role).text}`, async () => {
      const r = await run(['source-read', 'source-grants-column']);
      expect(attack(r, 'source-read')).toMatchObject({ status: 'leaked', objects: ['public.patients.mrn: SELECT succeeded'] });
      expect(attack(r, 'source-grants-column')).toMatchObject({ status: 'leaked', objects: [`public.patients.mrn: SELECT to ${f.role}`] });
    });
  });

  it('3. the masking role is a member of a role that reads the source (caught for the login member through the chain)', async () => {
    const reader = `v_src_reader_${uniqueSuffix()}`;
    f.db.trackRole(reader);
    await broken(
      `CREATE ROLE ${reader} NOLOGIN; GRANT SELECT ON public.encounters TO ${reader}; GRANT ${reader} TO ${ident(f.role).text}`,
      `REVOKE ALL ON public.encounters FROM ${reader}; DROP ROLE ${reader}`,
      async () => {
        const r = await run(['source-read', 'source-grants-roles'], f.member);
        expect(attack(r, 'source-read')).toMatchObject({ status: 'leaked', evidence: expect.stringContaining('public.encounters: SELECT * succeeded') });
        expect(attack(r, 'source-grants-roles').status).toBe('leaked');
        expect(attack(r, 'source-grants-roles').objects).toContain(`public.encounters: SELECT via ${f.member} → ${f.role} → ${reader}`);
      },
    );
  });

  it('4. a key written into a view as a bytea literal', async () => {
    const original = await viewDef('encounters');
    const hex = await keyHex();
    // the key subquery, with or without a key version (migration 0003)
    const keyRef = /\(\s*SELECT k\.key\s+FROM pgmask_private\.keys k\s+WHERE \(*k\.name = 'default'::text\)?(?: AND \(k\.version = \d+\)\))?\s*\)/g;
    expect(original).toMatch(keyRef);
    const leaky = original.replace(keyRef, `'\\x${hex}'::bytea`);
    await broken(
      `CREATE OR REPLACE VIEW masked.encounters WITH (security_barrier) AS ${leaky}`,
      `CREATE OR REPLACE VIEW masked.encounters WITH (security_barrier) AS ${original}`,
      async () => {
        const r = await run(['key-material', 'explain-verbose']);
        expect(attack(r, 'key-material')).toMatchObject({ status: 'leaked', objects: expect.arrayContaining(['key default in view masked.encounters']) });
        expect(attack(r, 'explain-verbose')).toMatchObject({ status: 'leaked', objects: ['key default in the plan of masked.encounters'] });
      },
    );
  });

  it('5. a key written into a function body', async () => {
    const hex = await keyHex();
    await broken(
      `CREATE FUNCTION pgmask.default_key() RETURNS bytea LANGUAGE sql IMMUTABLE AS ${literal(`SELECT '\\x${hex}'::bytea`).text}`,
      'DROP FUNCTION pgmask.default_key()',
      async () => {
        const r = await run(['key-material']);
        expect(attack(r, 'key-material')).toMatchObject({ status: 'leaked', objects: ['key default in function pgmask.default_key()'] });
      },
    );
  });

  it('6. a view over a filtered table without security_barrier', async () => {
    await broken('ALTER VIEW masked.patients RESET (security_barrier)', 'ALTER VIEW masked.patients SET (security_barrier)', async () => {
      const r = await run(['security-barrier', 'leaky-function', 'row-filter']);
      expect(attack(r, 'security-barrier')).toMatchObject({ status: 'leaked', objects: ['masked.patients'] });
      // the role's cheap function saw the two opted-out patients
      expect(attack(r, 'leaky-function')).toMatchObject({ status: 'leaked', evidence: expect.stringMatching(/masked\.patients: the function saw 5 rows, the view returns 3/) });
      expect(attack(r, 'row-filter').status).toBe('held');
    });
  });

  it('7. a transform that reads the key itself (SECURITY DEFINER, pgmask_private in its body)', async () => {
    const original = await functionDef('pgmask.pseudonymize(text, bytea, jsonb)');
    await broken(
      `CREATE OR REPLACE FUNCTION pgmask.pseudonymize(value text, key bytea, opts jsonb) RETURNS text
         LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pgmask AS $$
         SELECT coalesce(opts ->> 'prefix', '') || encode(substr(hmac(convert_to(value, 'UTF8'),
                (SELECT k.key FROM pgmask_private.keys k WHERE k.name = 'default'), 'sha256'), 1, 10), 'hex') $$`,
      original,
      async () => {
        const r = await run(['oracle', 'transform-self-keyed']);
        const self = attack(r, 'transform-self-keyed');
        expect(self.status).toBe('leaked');
        expect(self.objects).toEqual(
          expect.arrayContaining([
            'pgmask.pseudonymize(text,bytea,jsonb) mentions pgmask_private in its body',
            'pgmask.pseudonymize(text,bytea,jsonb) is SECURITY DEFINER (runs with its owner\'s rights, which may read the keys)',
            expect.stringMatching(/^pgmask\.pseudonymize\(text,bytea,jsonb\) returns .* ignores its key argument$/),
          ]),
        );
        // and the role recomputes what the view shows from a raw MRN without any key
        const oracle = attack(r, 'oracle');
        expect(oracle.status).toBe('leaked');
        // 3 sampled rows and the made-up probes: 27 distinct inputs, far beyond chance
        expect(oracle.objects).toContain('masked.patients.mrn reproduced for 27 distinct input(s) with key = NULL');
      },
    );
  });

  it('8. a noise-like transform using random() (VOLATILE): values change between reads', async () => {
    const original = await functionDef('pgmask.pseudonymize(text, bytea, jsonb)');
    await broken(
      `CREATE OR REPLACE FUNCTION pgmask.pseudonymize(value text, key bytea, opts jsonb) RETURNS text
         LANGUAGE sql VOLATILE AS $$ SELECT coalesce(opts ->> 'prefix', '') || substr(md5(random()::text), 1, 20) $$`,
      original,
      async () => {
        const r = await run(['averaging', 'volatile-functions']);
        expect(attack(r, 'averaging')).toMatchObject({ status: 'leaked', evidence: expect.stringMatching(/masked\.(patients|encounters): (the row with key .* read as|\d+ of \d+ row\(s\) of one read are missing from the other)/) });
        const vol = attack(r, 'volatile-functions');
        expect(vol.status).toBe('leaked');
        expect(vol.objects).toEqual(expect.arrayContaining(['pgmask.pseudonymize(text,bytea,jsonb) is VOLATILE and a masked view calls it', 'pgmask.pseudonymize(text,bytea,jsonb) calls random()']));
      },
    );
  });

  it("9. a writable schema first in the login member's search_path", async () => {
    const member = ident(f.member).text;
    await broken(
      `CREATE SCHEMA scratch; GRANT USAGE, CREATE ON SCHEMA scratch TO ${member}; ALTER ROLE ${member} IN DATABASE ${ident(f.db.name).text} SET search_path = scratch, masked`,
      `ALTER ROLE ${member} IN DATABASE ${ident(f.db.name).text} SET search_path = masked; DROP SCHEMA scratch CASCADE`,
      async () => {
        const r = await run(['search-path-config', 'search-path-hijack'], f.member);
        expect(r.subjects[0]!.searchPath).toBe('scratch, masked');
        expect(attack(r, 'search-path-config')).toMatchObject({ status: 'leaked', objects: [`scratch (${f.member} can CREATE in it)`] });
        // the views and the sql runtime bind names at creation: the look-alikes are never called
        expect(attack(r, 'search-path-hijack')).toMatchObject({ status: 'held', evidence: expect.stringMatching(/in writable schema scratch, first on search_path: never called/) });
      },
    );
  });

  it('10. a transform whose body resolves names at run time, hijacked through a writable schema', async () => {
    const original = await functionDef('pgmask.pseudonymize(text, bytea, jsonb)');
    await broken(
      `CREATE SCHEMA scratch2; GRANT USAGE, CREATE ON SCHEMA scratch2 TO ${ident(f.role).text};
       CREATE OR REPLACE FUNCTION pgmask.pseudonymize(value text, key bytea, opts jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
         SELECT coalesce(opts ->> 'prefix', '') || encode(substr(pgmask.hmac(convert_to(value, 'UTF8'), key, 'sha256'), 1, 10), 'hex') $$`,
      `${original}; DROP SCHEMA scratch2 CASCADE`,
      async () => {
        const r = await run(['search-path-hijack']);
        const h = attack(r, 'search-path-hijack');
        expect(h.status).toBe('leaked');
        expect(h.objects).toEqual(expect.arrayContaining([expect.stringMatching(/^scratch2\.(convert_to|substr|encode|coalesce|operator \|\||operator ->>) was called$/)]));
      },
    );
  });

  it('11. CREATE granted on the masked schema', async () => {
    await broken(`GRANT CREATE ON SCHEMA masked TO ${ident(f.role).text}`, `REVOKE CREATE ON SCHEMA masked FROM ${ident(f.role).text}`, async () => {
      const r = await run(['escalation']);
      expect(attack(r, 'escalation')).toMatchObject({ status: 'leaked', objects: ['CREATE TABLE in schema masked succeeded', 'CREATE FUNCTION in schema masked succeeded'] });
    });
  });

  it('12. the key in a database setting (ALTER DATABASE … SET pgmask.key)', async () => {
    const db = ident(f.db.name).text;
    await broken(`ALTER DATABASE ${db} SET pgmask.key = ${literal(await keyHex()).text}`, `ALTER DATABASE ${db} RESET pgmask.key`, async () => {
      const r = await run(['key-material']);
      expect(attack(r, 'key-material')).toMatchObject({ status: 'leaked', objects: expect.arrayContaining(['key default in role/database setting (pg_db_role_setting)']) });
    });
  });

  it('13. default privileges granting SELECT on future source tables to the masking role', async () => {
    const role = ident(f.role).text;
    await broken(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${role}`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM ${role}`,
      async () => {
        const r = await run(['default-privileges']);
        const d = attack(r, 'default-privileges');
        expect(d.status).toBe('leaked');
        expect(d.objects[0]).toMatch(new RegExp(`^ALTER DEFAULT PRIVILEGES FOR ROLE \\S+ IN SCHEMA public GRANT SELECT ON TABLES TO ${f.role}$`));
      },
    );
  });

  it('14. the masking role given LOGIN', async () => {
    const role = ident(f.role).text;
    await broken(`ALTER ROLE ${role} LOGIN`, `ALTER ROLE ${role} NOLOGIN`, async () => {
      const r = await run(['masking-role-login']);
      expect(attack(r, 'masking-role-login')).toMatchObject({ status: 'leaked', objects: [f.role] });
    });
  });

  it('15. the masking role made a member of pg_read_all_data', async () => {
    const role = ident(f.role).text;
    await broken(`GRANT pg_read_all_data TO ${role}`, `REVOKE pg_read_all_data FROM ${role}`, async () => {
      const r = await run(['privileged-roles', 'source-read', 'keys-read', 'oracle'], f.member);
      expect(attack(r, 'privileged-roles')).toMatchObject({ status: 'leaked', objects: [`member of pg_read_all_data (${f.member} → ${f.role} → pg_read_all_data)`] });
      expect(attack(r, 'source-read').status).toBe('leaked');
      expect(attack(r, 'keys-read').status).toBe('leaked');
      // with the key in hand, the oracle recomputes the view from raw values
      expect(attack(r, 'oracle').objects).toContain('masked.patients.mrn reproduced for 27 distinct input(s) with key = the key subquery on pgmask_private.keys');
    });
  });

  it('16. a view outside the masked schema, built on a source table, readable by PUBLIC', async () => {
    await broken(
      `CREATE SCHEMA reporting; GRANT USAGE ON SCHEMA reporting TO PUBLIC;
       CREATE VIEW reporting.patient_list AS SELECT mrn, first_name FROM public.patients;
       CREATE VIEW reporting.patient_names AS SELECT first_name FROM reporting.patient_list;
       GRANT SELECT ON reporting.patient_names TO PUBLIC`,
      'DROP SCHEMA reporting CASCADE',
      async () => {
        const r = await run(['source-through-views', 'source-read']);
        expect(attack(r, 'source-through-views')).toMatchObject({
          status: 'leaked',
          objects: ['reporting.patient_names (built on patients) is readable and returned 1 row'],
        });
        // the raw table itself stays closed: only the side door is open
        expect(attack(r, 'source-read').status).toBe('held');
      },
    );
  });

  it('17. a SECURITY DEFINER function that reads a source table, executable by everyone', async () => {
    await broken(
      `CREATE FUNCTION public.lookup_mrn(p text) RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
         AS $$ SELECT mrn FROM public.patients WHERE patient_id = p $$`,
      'DROP FUNCTION public.lookup_mrn(text)',
      async () => {
        const r = await run(['definer-functions']);
        const d = attack(r, 'definer-functions');
        expect(d.status).toBe('leaked');
        expect(d.objects).toEqual([expect.stringMatching(/^lookup_mrn\(text\) runs as \S+ \(a superuser\)$/)]);
      },
    );
  });

  it('18. a masked view that lost its row filter', async () => {
    const original = await viewDef('patients');
    // the last WHERE before the keyed ORDER BY is the filter's (the key subqueries have their own)
    const orderBy = original.lastIndexOf('ORDER BY');
    const unfiltered = `${original.slice(0, original.lastIndexOf('WHERE', orderBy))} ${original.slice(orderBy)}`;
    expect(unfiltered).not.toBe(original);
    await broken(
      `CREATE OR REPLACE VIEW masked.patients WITH (security_barrier) AS ${unfiltered}`,
      `CREATE OR REPLACE VIEW masked.patients WITH (security_barrier) AS ${original}`,
      async () => {
        const r = await run(['row-filter']);
        expect(attack(r, 'row-filter')).toMatchObject({
          status: 'leaked',
          objects: ['masked.patients returns 5 rows but only 3 pass research_opt_out IS DISTINCT FROM true'],
        });
      },
    );
  });

  it('19. a large object of raw data readable by the masking role', async () => {
    const oid = (await f.db.query(`SELECT lo_from_bytea(0, convert_to('Grace Hopper, opted out', 'UTF8'))::int8 AS oid`)).rows[0].oid as string;
    await broken(`GRANT SELECT ON LARGE OBJECT ${Number(oid)} TO ${ident(f.role).text}`, `SELECT lo_unlink(${Number(oid)})`, async () => {
      const r = await run(['large-objects']);
      expect(attack(r, 'large-objects')).toMatchObject({ status: 'leaked', objects: [`large object ${oid} is readable`] });
    });
  });

  it('19b. issue 13: a member added by hand, not in the policy, is attacked too (it reads a source table)', async () => {
    const extra = `v_extra_${uniqueSuffix()}`;
    f.db.trackRole(extra);
    await broken(
      `CREATE ROLE ${extra} LOGIN; GRANT ${ident(f.role).text} TO ${extra}; GRANT SELECT ON public.patients TO ${extra}`,
      `REVOKE ALL ON public.patients FROM ${extra}; DROP ROLE ${extra}`,
      async () => {
        const r = await verify(f.db.url, f.policy, { only: ['source-read'] });
        expect(r.subjects.map((s) => [s.role, s.kind])).toEqual([
          [f.role, 'masking role'],
          [f.member, `member of ${f.role}`],
          [extra, `member of ${f.role} (not in the policy)`],
        ]);
        expect(r.ok).toBe(false);
        expect(r.subjects[2]!.attacks[0]).toMatchObject({ status: 'leaked', evidence: expect.stringContaining('public.patients: SELECT * succeeded') });
      },
    );
  });

  it('19c. not leaks: an extension-owned relation in the source schema readable by PUBLIC (like pg_stat_statements, citus_tables), and a large object the role owns', async () => {
    const lo = (await f.db.query(`SELECT lo_from_bytea(0, convert_to('my own notes', 'UTF8'))::int8 AS oid`)).rows[0].oid as string;
    await broken(
      `CREATE TABLE public.ext_stats (query text); INSERT INTO public.ext_stats VALUES ('SELECT 1');
       ALTER EXTENSION plpgsql ADD TABLE public.ext_stats; GRANT SELECT ON public.ext_stats TO PUBLIC;
       ALTER LARGE OBJECT ${Number(lo)} OWNER TO ${ident(f.member).text}`,
      `ALTER EXTENSION plpgsql DROP TABLE public.ext_stats; DROP TABLE public.ext_stats; SELECT lo_unlink(${Number(lo)})`,
      async () => {
        const r = await run(['source-read', 'source-grants-public', 'copy', 'large-objects'], f.member);
        for (const id of ['source-read', 'source-grants-public', 'copy', 'large-objects']) expect(attack(r, id).status).toBe('held');
        expect(r.ok).toBe(true);
      },
    );
    // the same relation without the extension owning it is a source table, and a leak
    await broken(
      'CREATE TABLE public.ext_stats (query text); GRANT SELECT ON public.ext_stats TO PUBLIC',
      'DROP TABLE public.ext_stats',
      async () => {
        const r = await run(['source-read', 'source-grants-public'], f.member);
        expect(attack(r, 'source-grants-public')).toMatchObject({ status: 'leaked', objects: ['PUBLIC has public.ext_stats: SELECT'] });
      },
    );
  });

  describe('19d. averaging compares rows by key, not by position', () => {
    const wrap = (select: string) => `ALTER VIEW masked.patients RENAME TO patients_inner;
      CREATE VIEW masked.patients AS ${select};
      GRANT SELECT ON masked.patients TO ${ident(f.role).text}`;
    const unwrap = 'DROP VIEW masked.patients; ALTER VIEW masked.patients_inner RENAME TO patients';

    it('not a leak: the same rows in another order on every read (0.1 called it one)', async () => {
      await broken(wrap('SELECT * FROM masked.patients_inner ORDER BY random()'), unwrap, async () => {
        const r = await run(['averaging']);
        expect(attack(r, 'averaging')).toMatchObject({ status: 'held', evidence: expect.stringMatching(/identical row by row key/) });
      });
    });

    it('a leak: one column changes between reads under the same key', async () => {
      const columns = (await f.db.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'masked.patients'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)).rows.map((x) => x.attname as string);
      const select = columns.map((c) => (c === 'visits' ? `visits + (random() * 5)::int AS visits` : ident(c).text)).join(', ');
      await broken(wrap(`SELECT ${select} FROM masked.patients_inner`), unwrap, async () => {
        const r = await run(['averaging']);
        expect(attack(r, 'averaging')).toMatchObject({ status: 'leaked', evidence: expect.stringMatching(/masked\.patients: the row with key \[".*"\] read as .* then /) });
      });
    });
  });

  it('20. after every repair, the whole suite holds again for both roles', async () => {
    const r = await verify(f.db.url, f.policy);
    const leaks = r.subjects.flatMap((s) => s.attacks.filter((a) => a.status === 'leaked').map((a) => `${s.role} ${a.id}: ${a.evidence}`));
    expect(leaks).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
