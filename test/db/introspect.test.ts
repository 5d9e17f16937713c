import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { introspect } from '../../src/db/introspect.ts';
import { findTable, type CatalogSnapshot, type CatalogTable } from '../../src/catalog/catalog-snapshot.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { ident, join, literal, sql } from '../../src/sql/index.ts';

const suffix = uniqueSuffix();
const reader = `intro_reader_${suffix}`;
const auditor = `intro_auditor ${suffix} "q"`;
const group = `intro_group_${suffix}`;
// hostile names: quote, apostrophe, dollar quotes, spaces, non-ASCII
const hostileSchema = `clin "ic" 'x' $$ ü`;
const hostileTable = `pa"ti'ents $$ ñ`;
const hostileColumn = `na"me' $$ é`;

let db: TestDatabase;
let snapshot: CatalogSnapshot;
/** file_fdw ships with the embedded server; a DATABASE_URL server may lack it */
let fdw = false;

function table(schema: string, name: string): CatalogTable {
  const t = findTable(snapshot, schema, name);
  if (!t) throw new Error(`table ${schema}.${name} missing from snapshot`);
  return t;
}

beforeAll(async () => {
  db = await createTestDatabase('pgmask_introspect');
  db.trackRole(reader);
  db.trackRole(auditor);
  db.trackRole(group);
  const q = (s: ReturnType<typeof sql>) => db.query(s);
  await q(sql`CREATE ROLE ${ident(group)} NOLOGIN`);
  await q(sql`CREATE ROLE ${ident(reader)} LOGIN IN ROLE ${ident(group)}`);
  await q(sql`CREATE ROLE ${ident(auditor)} NOLOGIN`);
  await q(sql`CREATE SCHEMA clinic`);
  await q(sql`CREATE SCHEMA ref`);
  await q(sql`CREATE SCHEMA ${ident(hostileSchema)}`);
  await q(sql`CREATE DOMAIN clinic.mrn AS varchar(20) CHECK (VALUE <> '')`);
  await q(sql`CREATE DOMAIN clinic.short_mrn AS clinic.mrn`);
  await q(sql`CREATE TYPE clinic.sex AS ENUM ('f', 'm', 'x')`);
  await q(sql`CREATE TABLE ref.sites (region text, site_no int4, name text, PRIMARY KEY (region, site_no))`);
  await q(sql`CREATE TABLE clinic.patients (
      patient_id int8 PRIMARY KEY,
      mrn clinic.mrn NOT NULL,
      alt_mrn clinic.short_mrn,
      first_name varchar(40),
      initials char(3),
      age int2,
      visits int4,
      weight_kg numeric(5,1),
      height_m float4,
      score float8,
      birth_date date,
      admitted_at timestamp(3),
      updated_at timestamptz,
      wake_time time,
      stay interval,
      token uuid,
      opt_out boolean NOT NULL DEFAULT false,
      extra jsonb,
      raw_json json,
      photo bytea,
      tags text[],
      sex clinic.sex,
      ip inet,
      region text,
      site_no int4,
      FOREIGN KEY (region, site_no) REFERENCES ref.sites (region, site_no)
    )`);
  await q(sql`ALTER TABLE clinic.patients DROP COLUMN age`);
  await q(sql`COMMENT ON TABLE clinic.patients IS 'people ''treated'' here'`);
  await q(sql`COMMENT ON COLUMN clinic.patients.mrn IS 'medical record number'`);
  await q(sql`CREATE TABLE clinic.encounters (
      patient_id int8 REFERENCES clinic.patients,
      seq int4,
      admitted_at timestamptz,
      PRIMARY KEY (seq, patient_id)
    ) PARTITION BY RANGE (seq)`);
  await q(sql`CREATE TABLE clinic.encounters_2024 PARTITION OF clinic.encounters FOR VALUES FROM (0) TO (1000)`);
  await q(sql`CREATE TABLE clinic.encounters_2025 PARTITION OF clinic.encounters FOR VALUES FROM (1000) TO (2000)`);
  // a foreign key that points to a partitioned table: PostgreSQL clones it per referenced partition
  await q(sql`CREATE TABLE clinic.notes (id int4 PRIMARY KEY, seq int4, patient_id int8, body text,
      FOREIGN KEY (seq, patient_id) REFERENCES clinic.encounters (seq, patient_id))`);
  await q(sql`CREATE VIEW clinic.adults AS SELECT patient_id, birth_date FROM clinic.patients`);
  await q(sql`CREATE MATERIALIZED VIEW clinic.counts AS SELECT count(*) AS n FROM clinic.patients`);
  await q(sql`GRANT SELECT ON clinic.adults TO PUBLIC`);
  await q(sql`GRANT SELECT (first_name, birth_date), UPDATE (first_name) ON clinic.patients TO ${ident(reader)}`);
  await q(sql`GRANT INSERT ON clinic.patients TO ${ident(auditor)}`);
  await q(sql`CREATE TABLE ${ident(hostileSchema, hostileTable)} (
      ${ident(hostileColumn)} text PRIMARY KEY,
      "ünïcödé 列" int4 REFERENCES clinic.notes (id),
      "O'Brien" date
    )`);
  await q(sql`COMMENT ON COLUMN ${ident(hostileSchema, hostileTable, hostileColumn)} IS ${literal("it's $$ \"odd\"")}`);
  await q(sql`GRANT SELECT (${ident(hostileColumn)}) ON ${ident(hostileSchema, hostileTable)} TO ${ident(auditor)}`);
  await q(sql`CREATE TABLE clinic.analyzed (id int4)`);
  await q(sql`INSERT INTO clinic.analyzed SELECT generate_series(1, 1000)`);
  await q(sql`ANALYZE clinic.analyzed`);
  await q(sql`CREATE SCHEMA ext`);
  await q(sql`CREATE EXTENSION citext WITH SCHEMA ext`);
  await q(sql`CREATE DOMAIN clinic.codes AS int4[]`);
  await q(sql`CREATE TABLE clinic.extras (email ext.citext, sexes clinic.sex[], codes clinic.codes)`);
  fdw = (await db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'file_fdw'")).rowCount === 1;
  if (fdw) {
    await q(sql`CREATE EXTENSION file_fdw WITH SCHEMA ext`);
    await q(sql`CREATE SERVER files FOREIGN DATA WRAPPER file_fdw`);
    await q(sql`CREATE FOREIGN TABLE clinic.imported (id int4, label text) SERVER files OPTIONS (filename '/dev/null')`);
  }
  // a table outside the requested schemas must not show up
  await q(sql`CREATE TABLE public.outside (id int4)`);

  snapshot = await introspect(db.pool, ['clinic', hostileSchema, 'missing_schema']);
});

afterAll(async () => {
  await db?.drop();
});

describe('introspect', () => {
  it('lists the relations of the requested schemas, partitions excluded, sorted', () => {
    // code point order: 'clin "ic"…' sorts before 'clinic' (space < 'i')
    expect(snapshot.tables.map((t) => [t.schema, t.name, t.kind])).toEqual([
      [hostileSchema, hostileTable, 'table'],
      ['clinic', 'adults', 'view'],
      ['clinic', 'analyzed', 'table'],
      ['clinic', 'counts', 'materialized view'],
      ['clinic', 'encounters', 'partitioned table'],
      ['clinic', 'extras', 'table'],
      ...(fdw ? [['clinic', 'imported', 'foreign table']] : []),
      ['clinic', 'notes', 'table'],
      ['clinic', 'patients', 'table'],
    ]);
  });

  it('reads every column in table order with exact types, families, nullability and comments', () => {
    const cols = table('clinic', 'patients').columns.map((c) => [c.name, c.position, c.sqlType, c.typeName, c.typeSchema, c.family, c.nullable]);
    expect(cols).toEqual([
      ['patient_id', 1, 'bigint', 'int8', 'pg_catalog', 'integer', false],
      ['mrn', 2, 'clinic.mrn', 'varchar', 'clinic', 'text', false],
      ['alt_mrn', 3, 'clinic.short_mrn', 'varchar', 'clinic', 'text', true],
      ['first_name', 4, 'character varying(40)', 'varchar', 'pg_catalog', 'text', true],
      ['initials', 5, 'character(3)', 'bpchar', 'pg_catalog', 'text', true],
      // attnum 6 (age) was dropped
      ['visits', 7, 'integer', 'int4', 'pg_catalog', 'integer', true],
      ['weight_kg', 8, 'numeric(5,1)', 'numeric', 'pg_catalog', 'numeric', true],
      ['height_m', 9, 'real', 'float4', 'pg_catalog', 'float', true],
      ['score', 10, 'double precision', 'float8', 'pg_catalog', 'float', true],
      ['birth_date', 11, 'date', 'date', 'pg_catalog', 'date', true],
      ['admitted_at', 12, 'timestamp(3) without time zone', 'timestamp', 'pg_catalog', 'timestamp', true],
      ['updated_at', 13, 'timestamp with time zone', 'timestamptz', 'pg_catalog', 'timestamptz', true],
      ['wake_time', 14, 'time without time zone', 'time', 'pg_catalog', 'time', true],
      ['stay', 15, 'interval', 'interval', 'pg_catalog', 'time', true],
      ['token', 16, 'uuid', 'uuid', 'pg_catalog', 'uuid', true],
      ['opt_out', 17, 'boolean', 'bool', 'pg_catalog', 'boolean', false],
      ['extra', 18, 'jsonb', 'jsonb', 'pg_catalog', 'json', true],
      ['raw_json', 19, 'json', 'json', 'pg_catalog', 'json', true],
      ['photo', 20, 'bytea', 'bytea', 'pg_catalog', 'bytea', true],
      ['tags', 21, 'text[]', '_text', 'pg_catalog', 'array', true],
      ['sex', 22, 'clinic.sex', 'sex', 'clinic', 'other', true],
      ['ip', 23, 'inet', 'inet', 'pg_catalog', 'other', true],
      ['region', 24, 'text', 'text', 'pg_catalog', 'text', true],
      ['site_no', 25, 'integer', 'int4', 'pg_catalog', 'integer', true],
    ]);
    const patients = table('clinic', 'patients');
    expect(patients.comment).toBe("people 'treated' here");
    expect(patients.columns.find((c) => c.name === 'mrn')?.comment).toBe('medical record number');
    expect(patients.columns.find((c) => c.name === 'first_name')?.comment).toBeNull();
    expect(patients.owner).toBe(snapshot.currentUser);
  });

  it('resolves extension types, enum arrays and domains over arrays', () => {
    expect(table('clinic', 'extras').columns.map((c) => [c.name, c.sqlType, c.typeName, c.typeSchema, c.family])).toEqual([
      ['email', 'ext.citext', 'citext', 'ext', 'text'],
      ['sexes', 'clinic.sex[]', '_sex', 'clinic', 'array'],
      ['codes', 'clinic.codes', '_int4', 'clinic', 'array'],
    ]);
    expect(snapshot.installedExtensions.citext).toEqual({ schema: 'ext', version: expect.stringMatching(/^\d+\.\d+$/) });
    if (fdw) {
      expect(table('clinic', 'imported').columns.map((c) => [c.name, c.sqlType])).toEqual([
        ['id', 'integer'],
        ['label', 'text'],
      ]);
    }
  });

  it('reads primary keys in key order and foreign keys across schemas', () => {
    expect(table('clinic', 'patients').primaryKey).toEqual(['patient_id']);
    expect(table('clinic', 'encounters').primaryKey).toEqual(['seq', 'patient_id']);
    expect(table('clinic', 'adults').primaryKey).toBeNull();
    expect(table('clinic', 'patients').foreignKeys).toEqual([
      { name: 'patients_region_site_no_fkey', columns: ['region', 'site_no'], refSchema: 'ref', refTable: 'sites', refColumns: ['region', 'site_no'] },
    ]);
    // one foreign key, not one per referenced partition
    expect(table('clinic', 'notes').foreignKeys).toEqual([
      { name: 'notes_seq_patient_id_fkey', columns: ['seq', 'patient_id'], refSchema: 'clinic', refTable: 'encounters', refColumns: ['seq', 'patient_id'] },
    ]);
    expect(table('clinic', 'encounters').foreignKeys).toEqual([
      { name: 'encounters_patient_id_fkey', columns: ['patient_id'], refSchema: 'clinic', refTable: 'patients', refColumns: ['patient_id'] },
    ]);
  });

  it('reads table and column privileges, PUBLIC included', () => {
    const me = snapshot.currentUser;
    const ownerAll = ['DELETE', 'INSERT', 'MAINTAIN', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE']
      .filter((p) => p !== 'MAINTAIN' || snapshot.serverVersionNum >= 170000)
      .map((privilege) => ({ grantee: me, privilege, column: null }));
    expect(table('clinic', 'adults').privileges).toEqual(
      [...ownerAll, { grantee: 'PUBLIC', privilege: 'SELECT', column: null }].sort((a, b) => (a.grantee < b.grantee ? -1 : a.grantee > b.grantee ? 1 : a.privilege < b.privilege ? -1 : 1)),
    );
    const patients = table('clinic', 'patients').privileges;
    expect(patients.filter((p) => p.grantee !== me)).toEqual([
      { grantee: auditor, privilege: 'INSERT', column: null },
      { grantee: reader, privilege: 'SELECT', column: 'birth_date' },
      { grantee: reader, privilege: 'SELECT', column: 'first_name' },
      { grantee: reader, privilege: 'UPDATE', column: 'first_name' },
    ]);
    // no grant ever made: the owner's default privileges are still reported
    expect(table('clinic', 'notes').privileges).toEqual(ownerAll);
  });

  it('round-trips hostile identifiers and comments', () => {
    const t = table(hostileSchema, hostileTable);
    expect(t.columns.map((c) => c.name)).toEqual([hostileColumn, 'ünïcödé 列', "O'Brien"]);
    expect(t.primaryKey).toEqual([hostileColumn]);
    expect(t.columns[0]!.comment).toBe("it's $$ \"odd\"");
    expect(t.foreignKeys.map((f) => [f.columns, f.refSchema, f.refTable, f.refColumns])).toEqual([[['ünïcödé 列'], 'clinic', 'notes', ['id']]]);
    expect(t.privileges.filter((p) => p.column !== null)).toEqual([{ grantee: auditor, privilege: 'SELECT', column: hostileColumn }]);
  });

  it('reports the planner row estimate, -1 when never analyzed', () => {
    expect(table('clinic', 'analyzed').estimatedRows).toBe(1000);
    expect(table('clinic', 'patients').estimatedRows).toBe(-1);
  });

  it('reads roles with direct memberships, extensions, schemas and the session', () => {
    const r = snapshot.roles.find((x) => x.name === reader);
    expect(r).toEqual({ name: reader, canLogin: true, superuser: false, memberOf: [group] });
    expect(snapshot.roles.find((x) => x.name === auditor)).toEqual({ name: auditor, canLogin: false, superuser: false, memberOf: [] });
    const names = snapshot.roles.map((x) => x.name);
    expect(names).toEqual([...names].sort());
    expect(snapshot.availableExtensions).toContain('plpgsql');
    expect(snapshot.availableExtensions).toContain('pgcrypto');
    expect(snapshot.installedExtensions.plpgsql).toEqual({ schema: 'pg_catalog', version: expect.any(String) });
    expect(snapshot.schemas).toEqual(expect.arrayContaining(['clinic', 'ref', 'public', hostileSchema, 'pg_catalog']));
    expect(snapshot.schemas).not.toContain('missing_schema');
    expect(snapshot.currentUser).toBe('postgres');
    expect(snapshot.isSuperuser).toBe(true);
    expect(snapshot.database).toBe(db.name);
    expect(snapshot.serverVersionNum).toBeGreaterThanOrEqual(140000);
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.isFrozen(snapshot.tables[0]!.columns[0])).toBe(true);
    expect(Object.isFrozen(snapshot.installedExtensions.plpgsql)).toBe(true);
    expect(() => (snapshot.tables as CatalogTable[]).push(snapshot.tables[0]!)).toThrow();
  });

  /** the roles this file made and the built-in ones, not those of test files running concurrently */
  const ownRoles = (roles: CatalogSnapshot['roles']) => roles.filter((r) => r.name.startsWith('pg_') || r.name === 'postgres' || r.name.includes(suffix));

  it('works on a single client and gives the same snapshot as on a pool', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const again = await introspect(client, ['clinic', hostileSchema, 'missing_schema']);
      // roles are cluster-wide: test files running at the same time create and drop their own
      expect({ ...again, roles: ownRoles(again.roles) }).toEqual({ ...snapshot, roles: ownRoles(snapshot.roles) });
      // the client is still usable: introspect does not close what it did not open
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it("qualifies sqlType whatever the caller's search_path, and restores that search_path", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('SET search_path = clinic, ext, public');
      // on this search_path format_type() itself would print plain `mrn` and `citext`
      expect((await client.query("SELECT format_type('clinic.mrn'::regtype, NULL) AS t")).rows[0].t).toBe('mrn');
      const again = await introspect(client, ['clinic']);
      expect(findTable(again, 'clinic', 'patients')!.columns[1]!.sqlType).toBe('clinic.mrn');
      expect(findTable(again, 'clinic', 'extras')!.columns[0]!.sqlType).toBe('ext.citext');
      expect((await client.query('SHOW search_path')).rows[0].search_path).toBe('clinic, ext, public');
    } finally {
      await client.end();
    }
  });

  it('returns no tables, but every cluster fact, for no schemas', async () => {
    const none = await introspect(db.pool, []);
    expect(none.tables).toEqual([]);
    expect(ownRoles(none.roles)).toEqual(ownRoles(snapshot.roles));
    expect(none.schemas).toEqual(snapshot.schemas);
  });

  it('turns a broken connection into a database error (exit 4)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.end();
    await expect(introspect(client, ['clinic'])).rejects.toMatchObject({ name: 'PgmaskError', exitCode: 4 });
  });

  it('reads 200 tables x 20 columns with a constant number of queries (as many as for 2 tables)', async () => {
    const cols = join(Array.from({ length: 20 }, (_, i) => sql`${ident(`c${i}`)} text`));
    const stmts = Array.from({ length: 200 }, (_, i) => sql`CREATE TABLE wide.${ident(`t${String(i).padStart(3, '0')}`)} (${cols});`.text);
    await db.query(`CREATE SCHEMA wide; CREATE SCHEMA narrow; CREATE TABLE narrow.a (x int); CREATE TABLE narrow.b (y text); ${stmts.join('\n')}`);
    const client = await db.pool.connect();
    try {
      // every statement introspect sends goes through this client's query()
      let queries = 0;
      const send = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => (queries++, send(...args));
      const counted = async (schema: string) => {
        const before = queries;
        const snapshot = await introspect(client, [schema]);
        return { snapshot, queries: queries - before };
      };
      const narrow = await counted('narrow');
      const wide = await counted('wide');
      expect(narrow.snapshot.tables).toHaveLength(2);
      expect(wide.snapshot.tables).toHaveLength(200);
      expect(wide.snapshot.tables.every((t) => t.columns.length === 20)).toBe(true);
      expect(wide.snapshot.tables[0]!.name).toBe('t000');
      expect(narrow.queries).toBeGreaterThan(0);
      expect(wide.queries).toBe(narrow.queries);
    } finally {
      client.release();
    }
  });

});
