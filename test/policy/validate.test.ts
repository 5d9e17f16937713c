import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogSnapshot } from '../../src/catalog/catalog-snapshot.ts';
import { introspect } from '../../src/db/introspect.ts';
import { PgmaskError, type ErrorDetail } from '../../src/errors.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/policy.ts';
import { assertValid, validatePolicy } from '../../src/policy/validate.ts';
import { checkRowFilter } from '../../src/sql/row-filter.ts';
import { registry } from '../../src/transforms/registry.ts';
import type { Runtime } from '../../src/transforms/transform.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/db.ts';
import { DESIGN_EXAMPLE, designSnapshot, table, testRegistry } from './fixtures.ts';

function check(text: string, snapshot: CatalogSnapshot = designSnapshot(), runtime: Runtime = 'sql'): ErrorDetail[] {
  return validatePolicy(parsePolicy(text, 'pgmask.yaml', testRegistry), snapshot, testRegistry, runtime);
}

function shown(d: ErrorDetail): string {
  return `${d.location!.line}:${d.location!.column} ${d.severity} ${d.code}\n${d.location!.excerpt}`;
}

/** DESIGN's example with one line replaced (the replaced text must occur exactly once) */
function designWith(from: string, to: string): string {
  expect(DESIGN_EXAMPLE.split(from)).toHaveLength(2);
  return DESIGN_EXAMPLE.replace(from, to);
}

describe('validatePolicy against a catalog snapshot', () => {
  it('accepts the DESIGN example on a matching catalog, on both runtimes', () => {
    expect(check(DESIGN_EXAMPLE, designSnapshot(), 'sql')).toEqual([]);
    expect(check(DESIGN_EXAMPLE, designSnapshot(), 'plv8')).toEqual([]);
  });

  // depends on the transform library (fake, shift_date, zip3, noise and their checks)
  it('accepts the DESIGN example with the real registry on a matching catalog', () => {
    const policy = parsePolicy(DESIGN_EXAMPLE, 'pgmask.yaml', registry);
    expect(validatePolicy(policy, designSnapshot(), registry, 'sql')).toEqual([]);
    expect(validatePolicy(policy, designSnapshot(), registry, 'plv8')).toEqual([]);
  });

  it('a missing source schema, with the closest existing one', () => {
    const details = check(designWith('source_schema: public ', 'source_schema: clinc  '), designSnapshot({ schemas: ['clinic', 'public'] }));
    expect(details.map((d) => [shown(d), d.message, d.hint, d.path])).toEqual([
      [
        '2:16 error POLICY_UNKNOWN_SCHEMA\nsource_schema: clinc           # where the raw tables are\n               ^^^^^',
        'source schema `clinc` does not exist in database clinic',
        'did you mean `clinic`?',
        'source_schema',
      ],
    ]);
  });

  it('warns when shift_date rules of one key disagree (a subject would move by different offsets)', () => {
    const d = check(designWith('admitted_at: { shift_date: { max_days: 30 } }', 'admitted_at: { shift_date: { max_days: 60 } }'));
    expect(d.map(shown)).toEqual([expect.stringMatching(/^\d+:\d+ warning POLICY_SHIFT_OFFSETS_DIFFER\n {6}admitted_at/)]);
    expect(d[0]!.message).toMatch(/max_days 60 but patients\.birth_date with max_days 30/);
  });

  it('an unknown table: the closest name, or the schema that has it', () => {
    const snapshot = designSnapshot();
    const withArchive = designSnapshot({ tables: [...snapshot.tables, table('archive', 'visits', [['id', 'int4']])] });
    const details = check(designWith('  encounters:\n', '  encounter:\n'), withArchive);
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      ['24:3 error POLICY_UNKNOWN_TABLE\n  encounter:\n  ^^^^^^^^^', 'table `encounter` does not exist in schema `public`', 'did you mean `encounters`?'],
    ]);
    const elsewhere = check(designWith('  encounters:\n', '  visits:\n'), withArchive);
    expect(elsewhere.map((d) => d.hint)).toEqual(['it exists in schema `archive`; set source_schema to it']);
  });

  it('an unknown column, with the closest name', () => {
    const details = check(designWith('      sex: keep\n', '      gender: keep\n      sexx: keep\n'));
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      ['14:5 error POLICY_UNCLASSIFIED_COLUMN\n    columns:\n    ^^^^^^^', 'column `sex` of public.patients has no rule', 'add a rule for each (`redact`, `keep` or a transform), or set `unlisted_columns: redact`'],
      ['21:7 error POLICY_UNKNOWN_COLUMN\n      gender: keep\n      ^^^^^^', 'column `gender` does not exist in public.patients', 'its columns are: patient_id, mrn, first_name, last_name, birth_date, zip, sex, weight_kg, research_opt_out'],
      ['22:7 error POLICY_UNKNOWN_COLUMN\n      sexx: keep\n      ^^^^', 'column `sexx` does not exist in public.patients', 'did you mean `sex`?'],
    ]);
  });

  it('quasi_identifiers and sensitive name existing columns; materialize is inherited by tables', () => {
    const text = designWith('    filter: "NOT research_opt_out"', '    quasi_identifiers: [sex, zipp]\n    sensitive: [weight_kg]\n    filter: "NOT research_opt_out"');
    const details = check(text);
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      ['13:30 error POLICY_UNKNOWN_COLUMN\n    quasi_identifiers: [sex, zipp]\n                             ^^^^', 'quasi_identifiers column `zipp` does not exist in public.patients', 'did you mean `zip`?'],
    ]);
    const policy = parsePolicy(designWith('source_schema: public ', 'materialize: true\nsource_schema: public ').replace('  encounters:\n', '  encounters:\n    materialize: false\n'), 'p.yaml', testRegistry);
    expect(policy.tables.map((t) => [t.name, t.materialize])).toEqual([
      ['patients', true],
      ['encounters', false],
    ]);
    expect(parsePolicy(text, 'p.yaml', testRegistry).tables[0]).toMatchObject({ quasiIdentifiers: ['sex', 'zipp'], sensitive: ['weight_kg'], materialize: false });
  });

  it('warns when a foreign key and its target are masked so that the masked join matches nothing', () => {
    const fk = { name: 'enc_patient', columns: ['patient_id'], refSchema: 'public', refTable: 'patients', refColumns: ['patient_id'] };
    const base = designSnapshot();
    const withFk = (encPatientType: 'text' | 'int8', patientType: 'text' | 'int4') => ({
      ...base,
      tables: [
        table('public', 'encounters', [['encounter_id', 'text'], ['patient_id', encPatientType], ['admitted_at', 'timestamptz'], ['reason', 'text']], { foreignKeys: [fk] }),
        table('public', 'patients', [['patient_id', patientType], ...base.tables[1]!.columns.slice(1).map((c) => [c.name, c.typeName] as [string, 'text'])]),
      ],
    });
    const codes = (text: string, snap: CatalogSnapshot) => check(text, snap).map((d) => [d.severity, d.code, d.message]);
    expect(codes(DESIGN_EXAMPLE, withFk('text', 'text'))).toEqual([]);
    expect(codes(designWith('      patient_id: pseudonymize\n      admitted_at', '      patient_id: keep\n      admitted_at'), withFk('text', 'text'))).toEqual([
      ['warning', 'POLICY_BROKEN_JOIN', 'encounters.patient_id references patients.patient_id, but only one of them is pseudonymized: the masked join matches nothing'],
    ]);
    expect(codes(DESIGN_EXAMPLE, withFk('int8', 'int4'))).toEqual([
      ['warning', 'POLICY_BROKEN_JOIN', 'encounters.patient_id (int8) references patients.patient_id (int4): integer pseudonyms of different widths differ, so the masked join matches nothing'],
    ]);
  });

  it('a transform that does not take the column type says which families it takes', () => {
    const details = check(designWith('      zip: zip3\n', '      zip: { noise: { relative: 0.1 } }\n').replace('birth_date: { shift_date: { max_days: 30 } }', 'birth_date: zip3'));
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      [
        '19:19 error POLICY_TRANSFORM_TYPE\n      birth_date: zip3\n                  ^^^^',
        '`zip3` cannot mask patients.birth_date: the column is date (date), and `zip3` takes text columns',
        'transforms for date columns: keep, redact, shift_date',
      ],
      [
        '20:14 error POLICY_TRANSFORM_TYPE\n      zip: { noise: { relative: 0.1 } }\n             ^^^^^',
        '`noise` cannot mask patients.zip: the column is text (text), and `noise` takes integer, numeric or float columns',
        'transforms for text columns: keep, redact, pseudonymize, fake, zip3',
      ],
    ]);
  });

  it('a transform missing on the chosen runtime names the transform and the runtime', () => {
    const text = designWith('      weight_kg: { noise: { relative: 0.05, decimals: 1 } }\n', '      weight_kg: round_weight\n');
    const details = check(text, designSnapshot(), 'sql');
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      [
        '22:18 error POLICY_TRANSFORM_RUNTIME\n      weight_kg: round_weight\n                 ^^^^^^^^^^^^',
        'transform `round_weight` (patients.weight_kg) is not available on the sql runtime; it runs on plv8',
        'install PLV8 on the server (runtime plv8 runs every transform, custom ones too), or pick another transform',
      ],
    ]);
    expect(check(text, designSnapshot(), 'plv8')).toEqual([]);
  });

  it("a transform's own checks get the subject column in effect, and report at the rule", () => {
    const noSubject = designWith('subject: patient_id            # default subject column for per-subject transforms\n', '');
    expect(check(noSubject).map((d) => [`${d.location!.line}:${d.location!.column}`, d.code, d.message])).toEqual([
      ['18:21', 'SHIFT_DATE_NO_SUBJECT', 'patients.birth_date: table patients has no subject column'],
      ['27:22', 'SHIFT_DATE_NO_SUBJECT', 'encounters.admitted_at: table encounters has no subject column'],
    ]);
    // a per-table subject overrides the default; one that does not exist is itself an error
    const perTable = noSubject.replace('    filter: "NOT research_opt_out"', '    subject: mrn\n    filter: "NOT research_opt_out"').replace('  encounters:\n', '  encounters:\n    subject: patient\n');
    expect(check(perTable).map((d) => [`${d.location!.line}:${d.location!.column}`, d.code, d.message, d.hint])).toEqual([
      ['25:14', 'POLICY_UNKNOWN_COLUMN', 'subject column `patient` does not exist in public.encounters', 'did you mean `patient_id`?'],
      ['29:22', 'SHIFT_DATE_NO_SUBJECT', 'encounters.admitted_at: table encounters has no subject column', 'set `subject:`'],
    ]);
  });

  it('uses the real pseudonymize check (a token that does not fit the column)', () => {
    const snapshot = designSnapshot();
    const patients = snapshot.tables.find((t) => t.name === 'patients')!;
    const narrow = { ...patients, columns: patients.columns.map((c) => (c.name === 'mrn' ? { ...c, sqlType: 'character varying(12)', typeName: 'varchar' } : c)) };
    const details = check(DESIGN_EXAMPLE, { ...snapshot, tables: snapshot.tables.map((t) => (t === patients ? narrow : t)) });
    expect(details.map((d) => [`${d.location!.line}:${d.location!.column}`, d.code])).toEqual([['16:14', 'PSEUDONYM_TOO_LONG']]);
    expect(details[0]!.message).toMatch(/^patients\.mrn: a pseudonym is 24 characters but column mrn is character varying\(12\)/);
  });

  it('lists every unclassified column of a table in one problem, unless unlisted columns are redacted', () => {
    const text = designWith('      sex: keep\n', '').replace('      zip: zip3\n', '').replace('      reason: keep\n', '');
    const details = check(text);
    expect(details.map((d) => [shown(d), d.message, d.path])).toEqual([
      ['14:5 error POLICY_UNCLASSIFIED_COLUMN\n    columns:\n    ^^^^^^^', '2 columns of public.patients have no rule: `zip`, `sex`', 'tables.patients.columns'],
      ['23:5 error POLICY_UNCLASSIFIED_COLUMN\n    columns:\n    ^^^^^^^', 'column `reason` of public.encounters has no rule', 'tables.encounters.columns'],
    ]);
    expect(check(text.replace('unlisted_columns: error ', 'unlisted_columns: redact'))).toEqual([]);
  });

  it('masking roles and their members', () => {
    const snapshot = designSnapshot();
    const base = designSnapshot({
      roles: [
        { name: 'postgres', canLogin: true, superuser: true, memberOf: [] },
        { name: 'metabase_reader', canLogin: true, superuser: false, memberOf: [] },
        { name: 'analyst', canLogin: true, superuser: false, memberOf: [] },
      ],
    });
    const missing = check(DESIGN_EXAMPLE, { ...snapshot, roles: snapshot.roles.filter((r) => r.name !== 'metabase_reader') });
    expect(missing.map((d) => [shown(d), d.message, d.hint])).toEqual([
      [
        '10:15 error POLICY_UNKNOWN_ROLE\n    members: [metabase_reader] # existing login roles granted the masking role\n              ^^^^^^^^^^^^^^^',
        'member `metabase_reader` of masking role `analyst` does not exist',
        'run `CREATE ROLE "metabase_reader" LOGIN PASSWORD \'…\'` first',
      ],
    ]);
    const typo = check(designWith('[metabase_reader]', '[metabase_readr] '));
    expect(typo.map((d) => d.hint)).toEqual(['did you mean `metabase_reader`? If not, run `CREATE ROLE "metabase_readr" LOGIN PASSWORD \'…\'` first']);

    expect(check(DESIGN_EXAMPLE, base).map((d) => [shown(d), d.message])).toEqual([
      ['9:3 warning POLICY_LOGIN_MASKING_ROLE\n  analyst:                     # a masking role (NOLOGIN), created if missing\n  ^^^^^^^', 'masking role `analyst` already exists and can log in'],
    ]);
    const superuser = check(designWith('  analyst: ', '  postgres:'), base);
    expect(superuser.map((d) => [d.severity, d.code, d.message])).toEqual([
      ['error', 'POLICY_UNSAFE_ROLE', 'masking role `postgres` is a superuser and reads every source table'],
      ['error', 'POLICY_UNSAFE_ROLE', 'masking role `postgres` owns source tables public.encounters, public.patients and reads the raw data'],
    ]);
    const owner = check(designWith('[metabase_reader]', '[postgres]       '), { ...base, tables: base.tables.map((t) => ({ ...t, owner: 'analyst' })) });
    expect(owner.map((d) => [d.severity, d.code, d.message])).toEqual([
      ['warning', 'POLICY_LOGIN_MASKING_ROLE', 'masking role `analyst` already exists and can log in'],
      ['error', 'POLICY_UNSAFE_ROLE', 'masking role `analyst` owns source tables public.encounters, public.patients and reads the raw data'],
      ['warning', 'POLICY_SUPERUSER_MEMBER', 'member `postgres` is a superuser: it reads the raw tables whatever the masking role allows'],
    ]);
  });

  it('a masked view name taken by a table in the masked schema', () => {
    const snapshot = designSnapshot();
    const details = check(DESIGN_EXAMPLE, { ...snapshot, schemas: ['masked', 'public'], tables: [table('masked', 'patients', [['x', 'int4']]), ...snapshot.tables] });
    expect(details.map((d) => [`${d.location!.line}:${d.location!.column}`, d.code, d.message])).toEqual([
      ['12:3', 'POLICY_MASKED_NAME_TAKEN', 'masked.patients already exists as a table that pgmask did not create, so its masked view cannot be created'],
    ]);
    // a view or materialized view pgmask made on an earlier migrate (its comment says so): fine
    for (const kind of ['view', 'materialized view'] as const) {
      expect(check(DESIGN_EXAMPLE, { ...snapshot, tables: [table('masked', 'patients', [['x', 'int4']], { kind, comment: 'pgmask: masked view of public.patients' }), ...snapshot.tables] })).toEqual([]);
    }
    // someone else's view of the same name is not replaced
    const foreign = check(DESIGN_EXAMPLE, { ...snapshot, tables: [table('masked', 'patients', [['x', 'int4']], { kind: 'view' }), ...snapshot.tables] });
    expect(foreign.map((d) => d.code)).toEqual(['POLICY_MASKED_NAME_TAKEN']);
  });

  it('warns about a default subject that no table has', () => {
    const details = check(designWith('subject: patient_id ', 'subject: patientid  '));
    expect(details.filter((d) => d.code === 'POLICY_UNUSED_SUBJECT').map((d) => [shown(d), d.hint])).toEqual([
      ['6:10 warning POLICY_UNUSED_SUBJECT\nsubject: patientid             # default subject column for per-subject transforms\n         ^^^^^^^^^', 'did you mean `patient_id`?'],
    ]);
  });

  it('locates problems of a policy object built without a source map from its recorded positions', () => {
    const parsed = parsePolicy(designWith('      sex: keep\n', '      sexx: keep\n'), 'pgmask.yaml', testRegistry);
    const copy: Policy = { ...parsed, tables: parsed.tables.map((t) => ({ ...t })) };
    const details = validatePolicy(copy, designSnapshot(), testRegistry, 'sql');
    expect(details.map((d) => [`${d.location!.line}:${d.location!.column}`, d.code, d.location!.excerpt])).toEqual([
      ['12:3', 'POLICY_UNCLASSIFIED_COLUMN', '  patients:\n  ^^^^^^^^'],
      ['21:7', 'POLICY_UNKNOWN_COLUMN', '      sexx: keep\n      ^^^^'],
    ]);
  });

  it('assertValid throws every detail with exit code 3, and lets warnings alone pass', () => {
    const policy = parsePolicy(designWith('      sex: keep\n', '      sexx: keep\n'), 'pgmask.yaml', testRegistry);
    const details = validatePolicy(policy, designSnapshot(), testRegistry, 'sql');
    let thrown: unknown;
    try {
      assertValid(details, policy);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PgmaskError);
    expect((thrown as PgmaskError).exitCode).toBe(3);
    expect((thrown as PgmaskError).code).toBe('POLICY_INVALID');
    expect((thrown as PgmaskError).message).toBe('policy pgmask.yaml does not fit the database: 2 problems');
    expect((thrown as PgmaskError).details).toEqual(details);

    const warningOnly: ErrorDetail[] = [{ code: 'X', severity: 'warning', message: 'just so you know' }];
    expect(() => assertValid(warningOnly, policy)).not.toThrow();
  });
});

describe('validatePolicy against a real database', () => {
  let db: TestDatabase;
  let snapshot: CatalogSnapshot;
  const reader = `metabase_reader_${uniqueSuffix()}`;
  const hostileTable = 'pa"ti\'ents $$ ü';

  beforeAll(async () => {
    db = await createTestDatabase('pgmask_policy');
    await db.createLoginRole(reader);
    await db.query(`
      CREATE TABLE public.patients (
        patient_id text PRIMARY KEY, mrn varchar(40), first_name text, last_name text, birth_date date,
        zip text, sex char(1), weight_kg numeric(5,1), research_opt_out boolean NOT NULL DEFAULT false);
      CREATE TABLE public.encounters (encounter_id text PRIMARY KEY, patient_id text REFERENCES public.patients, admitted_at timestamptz, reason text);
      CREATE TABLE public."pa""ti'ents $$ ü" ("wé""ird col" int8, "note; --" text);
    `);
    snapshot = await introspect(db.pool, ['public', 'masked']);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('accepts the DESIGN example (member renamed to a role of this test) on the live catalog', () => {
    const text = DESIGN_EXAMPLE.replace('[metabase_reader]', `[${reader}]`) + `  ${JSON.stringify(hostileTable)}:\n    columns:\n      "wé\\"ird col": { noise: { absolute: 3 } }\n      "note; --": redact\n`;
    expect(check(text, snapshot, 'sql')).toEqual([]);
  });

  it('finds the problems of a policy that does not fit the live catalog', () => {
    const text = DESIGN_EXAMPLE.replace('[metabase_reader]', `[${reader}, nobody_${uniqueSuffix()}]`)
      .replace('      weight_kg: { noise: { relative: 0.05, decimals: 1 } }\n', '      weight_kg: { fake: { kind: city } }\n')
      .replace('      reason: keep\n', '      reasons: keep\n') + `  ${JSON.stringify(hostileTable)}:\n    columns:\n      "wé\\"ird col": zip3\n`;
    const details = check(text, snapshot, 'sql');
    expect(details.map((d) => [d.location!.line, d.code])).toEqual([
      [10, 'POLICY_UNKNOWN_ROLE'],
      [22, 'POLICY_TRANSFORM_TYPE'],
      [25, 'POLICY_UNCLASSIFIED_COLUMN'],
      [29, 'POLICY_UNKNOWN_COLUMN'],
      [31, 'POLICY_UNCLASSIFIED_COLUMN'],
      [32, 'POLICY_TRANSFORM_TYPE'],
    ]);
    expect(details.map((d) => d.message)).toEqual([
      expect.stringMatching(/^member `nobody_[0-9a-f]{8}` of masking role `analyst` does not exist$/),
      '`fake` cannot mask patients.weight_kg: the column is numeric(5,1) (numeric), and `fake` takes text columns',
      'column `reason` of public.encounters has no rule',
      'column `reasons` does not exist in public.encounters',
      `column \`note; --\` of public.${hostileTable} has no rule`,
      `\`zip3\` cannot mask ${hostileTable}.wé"ird col: the column is bigint (integer), and \`zip3\` takes text columns`,
    ]);
    expect(details[3]!.hint).toBe('did you mean `reason`?');
    expect(details[4]!.path).toBe(`tables[${JSON.stringify(hostileTable)}].columns`);
  });

  // the lexer must end literals exactly where PostgreSQL does, or an accepted filter could hide a second statement
  it('row filters the lexer accepts are one expression to PostgreSQL', async () => {
    const filters = [
      "NOT research_opt_out AND sex <> ';'",
      "first_name = 'it''s; -- not a comment'",
      "first_name = E'it\\'s ) still a string'",
      'last_name = $$ ; ) -- $$',
      'last_name = $x$ $$ ; $x$',
      '"first_name" IS NOT NULL AND (zip LIKE \'1%\' OR zip IS NULL)',
      "patient_id IN (SELECT patient_id FROM public.encounters WHERE reason <> '/* x */')",
    ];
    for (const filter of filters) {
      expect(checkRowFilter(filter), filter).toBeNull();
      // a parameterized query is parsed by PostgreSQL as a single command or refused
      await expect(db.query(`EXPLAIN SELECT 1 FROM public.patients AS src WHERE (${filter}) AND $1::int = 1`, [1]), filter).resolves.toBeDefined();
    }
  });
});
