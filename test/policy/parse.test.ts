import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PgmaskError, type ErrorDetail } from '../../src/errors.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { DESIGN_EXAMPLE, testRegistry } from './fixtures.ts';

function problems(text: string, file = 'p.yaml'): ErrorDetail[] {
  try {
    parsePolicy(text, file, testRegistry);
  } catch (e) {
    expect(e).toBeInstanceOf(PgmaskError);
    const err = e as PgmaskError;
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.exitCode).toBe(3);
    return [...err.details];
  }
  throw new Error('the policy parsed without problems');
}

function only(text: string): ErrorDetail {
  const details = problems(text);
  expect(details.map((d) => d.message)).toHaveLength(1);
  return details[0]!;
}

/** `line:column code` plus the excerpt, the way a user sees a problem */
function shown(d: ErrorDetail): string {
  return `${d.location!.line}:${d.location!.column} ${d.code}\n${d.location!.excerpt}`;
}

const policy = (tables: string, head = '') => `version: 1\n${head}tables:\n${tables}`;

describe('parsePolicy: the README example', () => {
  it('is accepted exactly as written (test transforms for fake, shift_date, zip3, noise)', () => {
    const p = parsePolicy(DESIGN_EXAMPLE, 'pgmask.yaml', testRegistry);
    expect(p.version).toBe(1);
    expect(p.sourceSchema).toBe('public');
    expect(p.maskedSchema).toBe('masked');
    expect(p.runtime).toBe('auto');
    expect(p.unlistedColumns).toBe('error');
    expect(p.subject).toBe('patient_id');
    expect(p.keys).toEqual(['default']);
    expect(p.roles).toEqual([{ name: 'analyst', members: ['metabase_reader'], position: { line: 9, column: 3 } }]);
    expect(p.transformsDir).toBeNull();
    expect(p.file).toBe('pgmask.yaml');
    expect(p.text).toBe(DESIGN_EXAMPLE);
    expect(p.hash).toBe(createHash('sha256').update(Buffer.from(DESIGN_EXAMPLE, 'utf8')).digest('hex'));

    expect(p.tables.map((t) => [t.name, t.filter, t.subject, t.position])).toEqual([
      ['patients', 'NOT research_opt_out', null, { line: 12, column: 3 }],
      ['encounters', null, null, { line: 24, column: 3 }],
    ]);
    const patients = p.tables[0]!;
    expect(patients.columns.map((c) => [c.name, c.rule.transform, c.rule.params, c.rule.key, c.rule.display, c.position.line, c.position.column])).toEqual([
      ['patient_id', 'pseudonymize', {}, 'default', 'pseudonymize', 15, 7],
      ['mrn', 'pseudonymize', { prefix: 'MRN-' }, 'default', '{ pseudonymize: { prefix: "MRN-" } }', 16, 7],
      ['first_name', 'fake', { kind: 'first_name' }, 'default', '{ fake: { kind: "first_name" } }', 17, 7],
      ['last_name', 'redact', {}, 'default', 'redact', 18, 7],
      ['birth_date', 'shift_date', { max_days: 30 }, 'default', '{ shift_date: { max_days: 30 } }', 19, 7],
      ['zip', 'zip3', {}, 'default', 'zip3', 20, 7],
      ['sex', 'keep', {}, 'default', 'keep', 21, 7],
      ['weight_kg', 'noise', { relative: 0.05, decimals: 1 }, 'default', '{ noise: { relative: 0.05, decimals: 1 } }', 22, 7],
      ['research_opt_out', 'keep', {}, 'default', 'keep', 23, 7],
    ]);
    expect(p.tables[1]!.columns.map((c) => `${c.name}: ${c.rule.display}`)).toEqual([
      'encounter_id: pseudonymize',
      'patient_id: pseudonymize',
      'admitted_at: { shift_date: { max_days: 30 } }',
      'reason: keep',
    ]);
  });

  // Depends on fake, shift_date, zip3 and noise being in the real registry (the transform library).
  it('is accepted with the real transform registry', () => {
    const p = parsePolicy(DESIGN_EXAMPLE, 'pgmask.yaml', registry);
    expect(p.tables.flatMap((t) => t.columns).map((c) => c.rule.transform)).toEqual([
      'pseudonymize', 'pseudonymize', 'fake', 'redact', 'shift_date', 'zip3', 'keep', 'noise', 'keep',
      'pseudonymize', 'pseudonymize', 'shift_date', 'keep',
    ]);
  });

  it('is deeply frozen', () => {
    const p = parsePolicy(DESIGN_EXAMPLE, 'pgmask.yaml', testRegistry);
    const mrn = p.tables[0]!.columns[1]!;
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.tables)).toBe(true);
    expect(Object.isFrozen(mrn.rule.params)).toBe(true);
    expect(Object.isFrozen(p.roles[0]!.members)).toBe(true);
    expect(() => {
      (mrn.rule.params as Record<string, unknown>).prefix = 'X';
    }).toThrow(TypeError);
    expect(() => (p.keys as string[]).push('other')).toThrow(TypeError);
  });
});

describe('parsePolicy: defaults and forms', () => {
  it('fills the documented defaults', () => {
    const p = parsePolicy(policy('  t:\n    columns:\n      a: keep\n'), 'p.yaml', testRegistry);
    expect({ ...p, tables: undefined, text: undefined, hash: undefined }).toEqual({
      version: 1,
      sourceSchema: 'public',
      maskedSchema: 'masked',
      schemas: [{ source: 'public', masked: 'masked', path: ['source_schema'] }],
      runtime: 'auto',
      unlistedColumns: 'error',
      subject: null,
      keys: ['default'],
      roles: [],
      brokers: [],
      citus: null,
      transformsDir: null,
      file: 'p.yaml',
      tables: undefined,
      text: undefined,
      hash: undefined,
    });
  });

  it('resolves `transforms:` against the policy file directory', () => {
    const p = parsePolicy(policy('  t: { columns: { a: keep } }\n', 'transforms: ./custom\n'), '/srv/clinic/pgmask.yaml', testRegistry);
    expect(p.transformsDir).toBe('/srv/clinic/custom');
  });

  it('takes `key:` out of the parameters of keyed transforms; the first key is the default', () => {
    const p = parsePolicy(
      policy(
        [
          '  t:',
          '    subject: pid',
          '    columns:',
          '      a: { pseudonymize: { key: study2, prefix: "S-" } }',
          '      b: { pseudonymize: { key: study2 } }',
          '      c: pseudonymize',
          '      d: { shift_date: { max_days: 10, key: study1 } }',
          '      e: { pseudonymize: }',
          '      f: { pseudonymize: {} }',
          '      g: { redact: { value: "n/a" } }',
          '      h: { zip3: { restricted: ["036", "059"] } }',
          '',
        ].join('\n'),
        'keys: [study1, study2]\nruntime: sql\nunlisted_columns: redact\nsubject: patient_id\n',
      ),
      'p.yaml',
      testRegistry,
    );
    expect(p.keys).toEqual(['study1', 'study2']);
    expect(p.runtime).toBe('sql');
    expect(p.unlistedColumns).toBe('redact');
    expect(p.tables[0]!.subject).toBe('pid');
    expect(p.tables[0]!.columns.map((c) => [c.name, c.rule.key, c.rule.params, c.rule.display])).toEqual([
      ['a', 'study2', { prefix: 'S-' }, '{ pseudonymize: { key: "study2", prefix: "S-" } }'],
      ['b', 'study2', {}, '{ pseudonymize: { key: "study2" } }'],
      ['c', 'study1', {}, 'pseudonymize'],
      ['d', 'study1', { max_days: 10 }, '{ shift_date: { max_days: 10, key: "study1" } }'],
      ['e', 'study1', {}, 'pseudonymize'],
      ['f', 'study1', {}, 'pseudonymize'],
      ['g', 'study1', { value: 'n/a' }, '{ redact: { value: "n/a" } }'],
      ['h', 'study1', { restricted: ['036', '059'] }, '{ zip3: { restricted: ["036", "059"] } }'],
    ]);
  });

  it('accepts roles without members, block style and anchors', () => {
    const p = parsePolicy(
      [
        'version: 1',
        'roles:',
        '  analyst:',
        '  auditor: {}',
        '  bi:',
        '    members:',
        '      - metabase',
        '      - superset',
        'tables:',
        '  t:',
        '    columns:',
        '      a: &study { pseudonymize: { prefix: "P-" } }',
        '      b: *study',
        '',
      ].join('\n'),
      'p.yaml',
      testRegistry,
    );
    expect(p.roles.map((r) => [r.name, r.members])).toEqual([
      ['analyst', []],
      ['auditor', []],
      ['bi', ['metabase', 'superset']],
    ]);
    expect(p.tables[0]!.columns.map((c) => c.rule.display)).toEqual(['{ pseudonymize: { prefix: "P-" } }', '{ pseudonymize: { prefix: "P-" } }']);
  });

  it('hashes the exact bytes, so a changed comment changes the hash', () => {
    const a = parsePolicy(DESIGN_EXAMPLE, 'p.yaml', testRegistry);
    const b = parsePolicy(DESIGN_EXAMPLE.replace('# where the raw tables are', '# raw'), 'p.yaml', testRegistry);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).not.toBe(a.hash);
    const unicode = policy('  pätient: { columns: { naïve: keep } }\n');
    expect(parsePolicy(unicode, 'p.yaml', testRegistry).hash).toBe(createHash('sha256').update(Buffer.from(unicode, 'utf8')).digest('hex'));
  });
});

describe('parsePolicy: hostile identifiers', () => {
  const names = ['we"ird', "it's", '$$x$$', 'with space', 'pätient', '患者', '__proto__', 'constructor', 'a.b', 'back\\slash', 'DROP TABLE x; --', '😀'];

  it('round-trips table and column names exactly', () => {
    const text = policy(names.map((n) => `  ${JSON.stringify(n)}:\n    columns:\n${names.map((c) => `      ${JSON.stringify(c)}: keep\n`).join('')}`).join(''));
    const p = parsePolicy(text, 'p.yaml', testRegistry);
    expect(p.tables.map((t) => t.name)).toEqual(names);
    for (const t of p.tables) expect(t.columns.map((c) => c.name)).toEqual(names);
    expect(Object.getPrototypeOf(p.tables[0])).toBe(Object.prototype);
  });

  it('reads numeric and boolean keys as the name written', () => {
    const p = parsePolicy(policy('  007:\n    columns:\n      1.50: keep\n      true: keep\n      2024: keep\n'), 'p.yaml', testRegistry);
    expect(p.tables[0]!.name).toBe('007');
    expect(p.tables[0]!.columns.map((c) => c.name)).toEqual(['1.50', 'true', '2024']);
  });

  it('quotes odd names in problem paths', () => {
    const d = only(policy('  "my table":\n    columns:\n      "a.b": nope\n'));
    expect(d.path).toBe('tables["my table"].columns["a.b"]');
  });

  it('refuses empty, null, NUL and overlong names, and non-scalar keys', () => {
    const long = 'x'.repeat(64);
    const details = problems(policy(`  "": { columns: { a: keep } }\n  ~: { columns: { a: keep } }\n  "a\\0b": { columns: { a: keep } }\n  ${long}: { columns: { a: keep } }\n  t:\n    columns:\n      [a, b]: keep\n      "é${'e'.repeat(62)}": keep\n`));
    expect(details.map(shown)).toEqual([
      '3:3 POLICY_BAD_KEY\n  "": { columns: { a: keep } }\n  ^^',
      '4:3 POLICY_BAD_KEY\n  ~: { columns: { a: keep } }\n  ^',
      '5:3 POLICY_BAD_NAME\n  "a\\0b": { columns: { a: keep } }\n  ^^^^^^',
      `6:3 POLICY_BAD_NAME\n  ${long}: { columns: { a: keep } }\n  ${'^'.repeat(64)}`,
      '9:7 POLICY_BAD_KEY\n      [a, b]: keep\n      ^^^^^^',
      `10:7 POLICY_BAD_NAME\n      "é${'e'.repeat(62)}": keep\n      ${'^'.repeat(65)}`,
    ]);
    expect(details[2]!.message).toBe('table name `a\u0000b` must not contain a NUL character');
    expect(details[3]!.message).toBe('table name `' + long + '` is 64 bytes long; PostgreSQL names are at most 63 bytes');
  });
});

describe('parsePolicy: every problem with file:line:column and a caret', () => {
  it('YAML syntax errors', () => {
    const d = problems('version: 1\ntables:\n  t:\n    columns: { a: keep\n');
    expect(d[0]!.code).toBe('POLICY_YAML_SYNTAX');
    expect(d[0]!.location!.file).toBe('p.yaml');
    expect(d[0]!.message).toMatch(/^YAML: /);
    expect(d[0]!.location!.line).toBeGreaterThanOrEqual(4);

    const tab = only('version: 1\ntables:\n\tt: {}\n');
    expect(shown(tab)).toBe('3:1 POLICY_YAML_SYNTAX\n\tt: {}\n^');
  });

  it('a key written twice', () => {
    const d = only(policy('  t: { columns: { a: keep } }\n  t: { columns: { b: keep } }\n'));
    expect(shown(d)).toBe('4:3 POLICY_YAML_SYNTAX\n  t: { columns: { b: keep } }\n  ^');
    expect(d.message).toBe('YAML: Map keys must be unique');
  });

  it('a misspelt top-level key, with a suggestion', () => {
    const d = only(policy('  t: { columns: { a: keep } }\n', 'unlisted_colums: redact\n'));
    expect(shown(d)).toBe('2:1 POLICY_UNKNOWN_KEY\nunlisted_colums: redact\n^^^^^^^^^^^^^^^');
    expect(d.message).toBe('unknown key `unlisted_colums`');
    expect(d.hint).toBe('did you mean `unlisted_columns`?');
    expect(d.path).toBe('unlisted_colums');
    expect(d.severity).toBe('error');
  });

  it('unknown keys in a table and a role, with suggestions; no suggestion lists what is allowed', () => {
    const details = problems('version: 1\nroles:\n  analyst: { member: [a] }\ntables:\n  t:\n    colums: { a: keep }\n    zzz: 1\n');
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      ['3:14 POLICY_UNKNOWN_KEY\n  analyst: { member: [a] }\n             ^^^^^^', 'unknown key `member` in `roles.analyst`', 'did you mean `members`?'],
      ['5:3 POLICY_MISSING_KEY\n  t:\n  ^', '`tables.t` needs `columns`', 'add `columns:` with one rule per column of the table'],
      ['6:5 POLICY_UNKNOWN_KEY\n    colums: { a: keep }\n    ^^^^^^', 'unknown key `colums` in `tables.t`', 'did you mean `columns`?'],
      ['7:5 POLICY_UNKNOWN_KEY\n    zzz: 1\n    ^^^', 'unknown key `zzz` in `tables.t`', 'allowed here: filter, subject, columns, materialize, quasi_identifiers, sensitive, filter_applies_to, subject_via, row_order'],
    ]);
  });

  it('missing version and tables; an empty file; a list', () => {
    expect(problems('source_schema: clinic\n').map((d) => [shown(d), d.message])).toEqual([
      ['1:1 POLICY_MISSING_KEY\nsource_schema: clinic\n^^^^^^^^^^^^^', 'missing required key `version`'],
      ['1:1 POLICY_MISSING_KEY\nsource_schema: clinic\n^^^^^^^^^^^^^', 'missing required key `tables`'],
    ]);
    expect(shown(only(''))).toBe('1:1 POLICY_EMPTY\n\n^');
    expect(only('# nothing yet\n').message).toBe('the policy file is empty');
    expect(shown(only('- version: 1\n'))).toBe('1:1 POLICY_INVALID_VALUE\n- version: 1\n^^^^^^^^^^^^');
  });

  it('a wrong version, runtime and unlisted_columns', () => {
    const details = problems('version: 2\nruntime: fast\nunlisted_columns: keep\ntables: { t: { columns: { a: keep } } }\n');
    expect(details.map((d) => [shown(d), d.message])).toEqual([
      ['1:10 POLICY_INVALID_VALUE\nversion: 2\n         ^', '`version` must be 1: this pgmask reads policy format version 1'],
      ['2:10 POLICY_INVALID_VALUE\nruntime: fast\n         ^^^^', '`runtime` must be one of auto, plv8, sql'],
      ['3:19 POLICY_INVALID_VALUE\nunlisted_columns: keep\n                  ^^^^', '`unlisted_columns` must be error or redact'],
    ]);
  });

  it('wrong types are named in words', () => {
    const details = problems('version: 1\nkeys: default\nsubject: [a]\ntables:\n  t:\n    filter: 42\n    columns: [a]\n');
    expect(details.map((d) => [`${d.location!.line}:${d.location!.column}`, d.message])).toEqual([
      ['2:7', '`keys` must be a list, not the string "default"'],
      ['3:10', '`subject` must be a string, not a list'],
      ['6:13', '`tables.t.filter` must be a string, not the number 42'],
      ['7:14', '`tables.t.columns` must be a map, not a list'],
    ]);
  });

  it('bad, duplicate and undeclared key names', () => {
    const details = problems(policy('  t:\n    columns:\n      a: { pseudonymize: { key: studyy } }\n      b: { redact: { key: study } }\n', 'keys: [study, Study2, study]\n'));
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      ['2:15 POLICY_INVALID_VALUE\nkeys: [study, Study2, study]\n              ^^^^^^', '`keys[1]` must be lowercase letters, digits and _, starting with a letter', undefined],
      ['2:23 POLICY_DUPLICATE_NAME\nkeys: [study, Study2, study]\n                      ^^^^^', 'key `study` is listed twice in `keys`', 'list each key name once'],
      ['6:33 POLICY_UNDECLARED_KEY\n      a: { pseudonymize: { key: studyy } }\n                                ^^^^^^', 'key `studyy` is not declared in `keys`', 'did you mean `study`?'],
      ['7:22 POLICY_KEY_NOT_ALLOWED\n      b: { redact: { key: study } }\n                     ^^^', '`redact` takes no key', 'remove `key:` from this rule'],
    ]);
  });

  it('an unknown transform, with the closest name', () => {
    const details = problems(policy('  t:\n    columns:\n      a: pseudonymise\n      b: { shiftdate: { max_days: 3 } }\n      c: scramble\n'));
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      ['5:10 POLICY_UNKNOWN_TRANSFORM\n      a: pseudonymise\n         ^^^^^^^^^^^^', 'unknown transform `pseudonymise`', 'did you mean `pseudonymize`?'],
      ['6:12 POLICY_UNKNOWN_TRANSFORM\n      b: { shiftdate: { max_days: 3 } }\n           ^^^^^^^^^', 'unknown transform `shiftdate`', 'did you mean `shift_date`?'],
      [
        '7:10 POLICY_UNKNOWN_TRANSFORM\n      c: scramble\n         ^^^^^^^^',
        'unknown transform `scramble`',
        'the transforms are: keep, redact, pseudonymize, fake, shift_date, zip3, noise, round_weight',
      ],
    ]);
  });

  it('malformed rules', () => {
    const details = problems(policy('  t:\n    columns:\n      a:\n      b: { keep: , redact: }\n      c: 3\n      d: {}\n      e: [keep]\n'));
    expect(details.map((d) => [shown(d), d.message])).toEqual([
      ['5:7 POLICY_MISSING_RULE\n      a:\n      ^', 'column `a` has no rule'],
      ['6:10 POLICY_INVALID_RULE\n      b: { keep: , redact: }\n         ^^^^^^^^^^^^^^^^^^^', 'a rule map has exactly one key, the transform name; this one has 2 (keep, redact)'],
      ['7:10 POLICY_INVALID_RULE\n      c: 3\n         ^', 'a rule must be a transform name or a one-key map, not the number 3'],
      ['8:10 POLICY_INVALID_RULE\n      d: {}\n         ^^', 'an empty map is not a rule'],
      ['9:10 POLICY_INVALID_RULE\n      e: [keep]\n         ^^^^^^', 'a rule must be a transform name or a one-key map, not a list'],
    ]);
  });

  it('parameter problems point at the parameter', () => {
    const details = problems(
      policy(
        [
          '  t:',
          '    columns:',
          '      a: { shift_date: 30 }',
          '      b: { pseudonymize: { prefx: "MRN-" } }',
          '      c: { shift_date: { max_days: "30" } }',
          '      d: fake',
          '      e: { fake: { kind: nickname } }',
          '      f: { noise: { relative: -1, decimals: 2.5 } }',
          '      g: { keep: { really: true } }',
          '      h: { zip3: { restricted: ["036", 59] } }',
          '',
        ].join('\n'),
      ),
    );
    expect(details.map((d) => [shown(d), d.message, d.hint])).toEqual([
      ['5:24 POLICY_INVALID_PARAMS\n      a: { shift_date: 30 }\n                       ^^', 'the parameters of `shift_date` must be a map, not the number 30', 'write `{ shift_date: { parameter: value } }` (parameters: max_days, keep_weekday, key)'],
      ['6:28 POLICY_UNKNOWN_PARAM\n      b: { pseudonymize: { prefx: "MRN-" } }\n                           ^^^^^', '`pseudonymize` has no parameter `prefx`', 'did you mean `prefix`?'],
      ['7:36 POLICY_INVALID_PARAMS\n      c: { shift_date: { max_days: "30" } }\n                                   ^^^^', '`shift_date` parameter `max_days` must be a number, not the string "30"', undefined],
      ['8:10 POLICY_MISSING_PARAM\n      d: fake\n         ^^^^', '`fake` needs parameter `kind`', '`kind`: what to generate'],
      ['9:26 POLICY_INVALID_PARAMS\n      e: { fake: { kind: nickname } }\n                         ^^^^^^^^', '`fake` parameter `kind` must be one of first_name, last_name, full_name, city, email, not the string "nickname"', undefined],
      ['10:31 POLICY_INVALID_PARAMS\n      f: { noise: { relative: -1, decimals: 2.5 } }\n                              ^^', '`noise` parameter `relative` must be more than 0', undefined],
      ['10:45 POLICY_INVALID_PARAMS\n      f: { noise: { relative: -1, decimals: 2.5 } }\n                                            ^^^', '`noise` parameter `decimals` must be an integer, not the number 2.5', undefined],
      ['11:20 POLICY_UNKNOWN_PARAM\n      g: { keep: { really: true } }\n                   ^^^^^^', '`keep` has no parameter `really`', '`keep` takes no parameters'],
      ['12:40 POLICY_INVALID_PARAMS\n      h: { zip3: { restricted: ["036", 59] } }\n                                       ^^', '`zip3` parameter `restricted.1` must be a string, not the number 59', undefined],
    ]);
  });

  it('row filters that could escape WHERE (…)', () => {
    const details = problems(
      policy(
        [
          '  a: { filter: "true); DROP TABLE x; --", columns: { c: keep } }',
          '  b: { filter: "consent -- always", columns: { c: keep } }',
          "  c: { filter: \"name = 'x' /* */\", columns: { c: keep } }",
          '  d: { filter: "(consent", columns: { c: keep } }',
          "  e: { filter: \"name = 'it''s\", columns: { c: keep } }",
          '  f: { filter: "x = 1 ; ", columns: { c: keep } }',
          '',
        ].join('\n'),
      ),
    );
    expect(details.map((d) => [shown(d), d.message])).toEqual([
      ["3:21 POLICY_BAD_FILTER\n  a: { filter: \"true); DROP TABLE x; --\", columns: { c: keep } }\n                    ^", "the row filter of `a` closes a parenthesis it did not open (at character 5)"],
      ["4:25 POLICY_BAD_FILTER\n  b: { filter: \"consent -- always\", columns: { c: keep } }\n                        ^^", "the row filter of `b` contains a comment (`--`) (at character 9)"],
      ["5:28 POLICY_BAD_FILTER\n  c: { filter: \"name = 'x' /* */\", columns: { c: keep } }\n                           ^^", "the row filter of `c` contains a comment (`/*`) (at character 12)"],
      ["6:17 POLICY_BAD_FILTER\n  d: { filter: \"(consent\", columns: { c: keep } }\n                ^", "the row filter of `d` opens a parenthesis it does not close (at character 1)"],
      ["7:24 POLICY_BAD_FILTER\n  e: { filter: \"name = 'it''s\", columns: { c: keep } }\n                       ^^^^^^", "the row filter of `e` has a string literal that is never closed (at character 8)"],
      ["8:23 POLICY_BAD_FILTER\n  f: { filter: \"x = 1 ; \", columns: { c: keep } }\n                      ^", "the row filter of `f` contains `;`: a filter is one expression, not statements (at character 7)"],
    ]);
  });

  it('a filter written with escapes is marked as a whole; a plain one at the offending character', () => {
    const details = problems(policy('  a:\n    filter: "x = \\"y\\"; --"\n    columns: { c: keep }\n  b:\n    filter: x = 1; y\n    columns: { c: keep }\n'));
    expect(details.map(shown)).toEqual([
      '4:13 POLICY_BAD_FILTER\n    filter: "x = \\"y\\"; --"\n            ^^^^^^^^^^^^^^^',
      '7:18 POLICY_BAD_FILTER\n    filter: x = 1; y\n                 ^',
    ]);
  });

  it('schema and role names pgmask or PostgreSQL reserve', () => {
    const details = problems(
      [
        'version: 1',
        'source_schema: pgmask_private',
        'masked_schema: pg_temp',
        'roles:',
        '  pgmask_owner:',
        '  PUBLIC:',
        '  pg_monitor2:',
        '  analyst: { members: [public, analyst, bob, bob] }',
        'tables: {}',
        '',
      ].join('\n'),
    );
    expect(details.map((d) => [`${d.location!.line}:${d.location!.column}`, d.code, d.message])).toEqual([
      ['2:16', 'POLICY_RESERVED_NAME', 'schema `pgmask_private` belongs to pgmask and cannot be a source schema'],
      ['3:16', 'POLICY_RESERVED_NAME', 'schema name `pg_temp` is reserved by PostgreSQL'],
      ['5:3', 'POLICY_RESERVED_NAME', 'role name `pgmask_owner` is the role that owns the masked views'],
      ['6:3', 'POLICY_RESERVED_NAME', 'role name `PUBLIC` reads as the SQL keyword PUBLIC in GRANT statements'],
      ['7:3', 'POLICY_RESERVED_NAME', 'role name `pg_monitor2` starts with pg_, which PostgreSQL reserves'],
      ['8:24', 'POLICY_RESERVED_NAME', 'member `public` is reserved by PostgreSQL'],
      ['8:32', 'POLICY_INVALID_VALUE', 'role `analyst` cannot be a member of itself'],
      ['8:46', 'POLICY_DUPLICATE_NAME', 'member `bob` is listed twice'],
      ['9:1', 'POLICY_NO_TABLES', '`tables` lists no table, so nothing would be masked'],
    ]);
  });

  it('masked_schema equal to source_schema, written or defaulted', () => {
    expect(shown(only(policy('  t: { columns: { a: keep } }\n', 'source_schema: clinic\nmasked_schema: clinic\n')))).toBe(
      '3:16 POLICY_SAME_SCHEMA\nmasked_schema: clinic\n               ^^^^^^',
    );
    expect(shown(only(policy('  t: { columns: { a: keep } }\n', 'source_schema: masked\n')))).toBe('2:16 POLICY_SAME_SCHEMA\nsource_schema: masked\n               ^^^^^^');
    expect(shown(only(policy('  t: { columns: { a: keep } }\n', 'masked_schema: public\n')))).toBe('2:16 POLICY_SAME_SCHEMA\nmasked_schema: public\n               ^^^^^^');
  });

  it('positions survive CRLF line ends and tabs inside a line', () => {
    const d = only('version: 1\r\ntables:\r\n  t:\r\n    columns:\r\n      a:\t"nope"\r\n');
    expect(shown(d)).toBe('5:10 POLICY_UNKNOWN_TRANSFORM\n      a:\t"nope"\n        \t^^^^^^');
  });

  it('a parameter named __proto__ is an unknown parameter, not a prototype', () => {
    const d = only(policy('  t:\n    columns:\n      a: { pseudonymize: { __proto__: { prefix: "X" } } }\n'));
    expect([d.code, d.message]).toEqual(['POLICY_UNKNOWN_PARAM', '`pseudonymize` has no parameter `__proto__`']);
  });

  it('YAML merge keys are refused, not read as a column named <<', () => {
    const d = only(policy('  t:\n    columns:\n      <<: { a: keep }\n      b: keep\n'));
    expect([shown(d), d.message]).toEqual(['5:7 POLICY_BAD_KEY\n      <<: { a: keep }\n      ^^', 'YAML merge keys (`<<`) are not supported']);
    expect(parsePolicy(policy('  t:\n    columns:\n      "<<": keep\n'), 'p.yaml', testRegistry).tables[0]!.columns[0]!.name).toBe('<<');
  });

  it('alias bombs are cut off', () => {
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    // 10^9 nodes if expanded: the parser must refuse it by counting aliases, not by running out of time
    const details = problems(`version: 1\nbomb:\n  ${levels.join('\n  ')}\ntables: { t: { columns: { a: keep } } }\n`);
    expect(details.map((d) => d.code)).toContain('POLICY_TOO_LARGE');
  });

  it('deep nesting is refused, not a stack overflow', () => {
    const d = only(`version: 1\ntables: { t: { columns: { a: { redact: { value: ${'['.repeat(100)}${']'.repeat(100)} } } } } }\n`);
    expect([d.code, d.message]).toEqual(['POLICY_TOO_LARGE', 'the policy nests more than 64 levels deep']);
  });

  it('several problems are reported at once, in file order', () => {
    const text = [
      'version: 1',
      'runtime: plv9',
      'tables:',
      '  patients:',
      '    filter: "1=1; select"',
      '    columns:',
      '      mrn: pseudonymise',
      '      dob: { shift_date: { max_dayz: 3 } }',
      '  encounters:',
      '    colums: {}',
      'unlisted_colums: redact',
      '',
    ].join('\n');
    const details = problems(text);
    expect(details.map((d) => `${d.location!.file}:${d.location!.line}:${d.location!.column} ${d.code} ${d.path}`)).toEqual([
      'p.yaml:2:10 POLICY_INVALID_VALUE runtime',
      'p.yaml:5:17 POLICY_BAD_FILTER tables.patients.filter',
      'p.yaml:7:12 POLICY_UNKNOWN_TRANSFORM tables.patients.columns.mrn',
      'p.yaml:8:28 POLICY_UNKNOWN_PARAM tables.patients.columns.dob.shift_date.max_dayz',
      'p.yaml:9:3 POLICY_MISSING_KEY tables.encounters.columns',
      'p.yaml:10:5 POLICY_UNKNOWN_KEY tables.encounters.colums',
      'p.yaml:11:1 POLICY_UNKNOWN_KEY unlisted_colums',
    ]);
    try {
      parsePolicy(text, 'p.yaml', testRegistry);
    } catch (e) {
      expect((e as PgmaskError).message).toBe('invalid policy p.yaml: 7 problems');
      expect((e as PgmaskError).hint).toBe('fix the policy file and run again');
    }
  });

  it('one problem is named in the error message itself', () => {
    expect(() => parsePolicy(policy('  t: { columns: { a: kep } }\n'), 'clinic.yaml', testRegistry)).toThrow('invalid policy clinic.yaml: unknown transform `kep`');
  });
});
