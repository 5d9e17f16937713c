import type { JsonValue } from '../../../src/transforms/json-path.ts';

/** JSON path edge cases: a document and the paths listed for it (test/vectors/json/paths.json is generated from these). */
export const jsonCases: { readonly name: string; readonly doc: JsonValue; readonly paths: readonly string[] }[] = [
  { name: 'missing paths', doc: { a: 1 }, paths: ['$.b', '$.c.d', '$.e[*].f', '$.a'] },
  { name: 'null values and null containers', doc: { a: null, b: { c: null }, d: [null, { e: null }] }, paths: ['$.a', '$.b.c', '$.d[*].e', '$.a.x'] },
  {
    name: 'arrays of objects',
    doc: { name: [{ family: 'A', given: ['x', 'y'] }, 'not an object', { given: ['z'] }, { family: 'B' }] },
    paths: ['$.name[*].family', '$.name[*].given[*]'],
  },
  { name: 'index paths', doc: { id: [10, 20, 30] }, paths: ['$.id[2]', '$.id[0]', '$.id[7]'] },
  { name: 'unicode keys', doc: { 'prénom': 'Zoë', '名前': { 'фамилия': '山田' }, 'emoji 😀': 1 }, paths: ['$.prénom', '$.名前.фамилия', '$."emoji 😀"'] },
  { name: 'quoted keys', doc: { 'a.b': 1, 'c d': { "e'f": 2 }, $: 3, '0': 4 }, paths: ['$."a.b"', "$['c d']['e\\'f']", '$."$"', '$."0"'] },
  { name: 'deep nesting', doc: { a: { b: [{ c: { d: [[{ e: { f: 'deep' } }]] } }] } }, paths: ['$.a.b[*].c.d[*][*].e.f'] },
  { name: 'shape mismatch: key of an array, element of an object, key of a string', doc: { a: [1, 2], b: { c: 1 }, s: 'text' }, paths: ['$.a.x', '$.b[*]', '$.s.t'] },
  { name: 'scalar document', doc: 'just a string', paths: ['$.a'] },
  { name: 'array document', doc: [{ a: 1 }, { a: 2, b: 3 }], paths: ['$[*].a'] },
  { name: 'empty containers', doc: { a: [], b: {} }, paths: ['$.a[*]', '$.b.c'] },
  { name: 'objects and arrays as values', doc: { code: { coding: [{ system: 's', code: 'c' }] }, list: [1, [2, 3]] }, paths: ['$.code', '$.list'] },
  { name: 'numbers kept exactly', doc: { v: 98.6, w: 1e-7, i: 1234567890123456, big: 1e300 }, paths: ["$.v", "$.w", "$.i", "$.big"] },
];
