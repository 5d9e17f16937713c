import { describe, expect, it } from 'vitest';
import { checkRowFilter } from '../../src/sql/row-filter.ts';
import { closestName } from '../../src/policy/closest-name.ts';

describe('checkRowFilter', () => {
  it.each([
    'NOT research_opt_out',
    "consent_status = 'given' AND (withdrawn_at IS NULL OR withdrawn_at > now())",
    "note <> 'a; b -- c /* d */ (e'",
    "note = 'it''s (fine)'",
    "note = E'it\\'s; -- (fine)'",
    'note = $$ ; -- ) $$',
    'note = $tag$ $$ ; ) $tag$',
    '"weird;--(" IS NOT NULL',
    '"a""b" = 1',
    'patient_id IN (SELECT patient_id FROM consent WHERE scope = \'research\')',
    'x$y = 1',
    'a - -1 > 0',
    "name = 'x' 'y'",
    'arr[1] = 2',
  ])('accepts %s', (filter) => {
    expect(checkRowFilter(filter)).toBeNull();
  });

  it.each([
    ['', 'is empty', 0, 1],
    ['  \n ', 'is empty', 0, 4],
    ['true) OR (1=1', 'closes a parenthesis it did not open', 4, 1],
    ['true); DELETE FROM patients; SELECT (1', 'closes a parenthesis it did not open', 4, 1],
    ['(true', 'opens a parenthesis it does not close', 0, 1],
    ['true; SELECT 1', 'contains `;`: a filter is one expression, not statements', 4, 1],
    ['true -- )', 'contains a comment (`--`)', 5, 2],
    ['true /* ) */', 'contains a comment (`/*`)', 5, 2],
    ['true */', 'contains `*/`', 5, 2],
    ["name = 'open", 'has a string literal that is never closed', 7, 5],
    ["name = E'esc\\'", 'has a string literal that is never closed', 8, 6],
    ['"open = 1', 'has a quoted identifier that is never closed', 0, 9],
    ['x = $q$ never', 'has a dollar-quoted string $q$ that is never closed', 4, 9],
    ["x = 'a\\') OR true OR ('", "has \\' inside a string literal, which reads differently when standard_conforming_strings is off; write '' for a quote", 6, 2],
    ['a\u0000b', 'contains a NUL character', 1, 1],
  ])('refuses %j', (filter, message, offset, length) => {
    expect(checkRowFilter(filter)).toEqual({ message, offset, length });
  });
});

describe('closestName', () => {
  const keys = ['version', 'source_schema', 'masked_schema', 'runtime', 'unlisted_columns', 'subject', 'keys', 'roles', 'tables', 'transforms'];
  it.each([
    ['unlisted_colums', 'unlisted_columns'],
    ['Tables', 'tables'],
    ['tabels', 'tables'],
    ['sourceschema', 'source_schema'],
    ['runtim', 'runtime'],
    ['key', 'keys'],
    ['transfrom', 'transforms'],
  ])('%s → %s', (input, expected) => {
    expect(closestName(input, keys)).toBe(expected);
  });

  it('suggests nothing for an unrelated name', () => {
    expect(closestName('colour', keys)).toBeUndefined();
    expect(closestName('x', keys)).toBeUndefined();
  });

  it('finds transforms by prefix and by typo', () => {
    const transforms = ['keep', 'redact', 'pseudonymize', 'shift_date', 'generalize_date', 'zip3'];
    expect(closestName('pseudonymise', transforms)).toBe('pseudonymize');
    expect(closestName('pseudo', transforms)).toBe('pseudonymize');
    expect(closestName('zip', transforms)).toBe('zip3');
    expect(closestName('kep', transforms)).toBe('keep');
    expect(closestName('shiftdate', transforms)).toBe('shift_date');
  });
});
