import type { VectorArg, VectorCase } from '../vector-case.ts';

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const key = (hex: string | null): VectorArg => ({ type: 'bytea', value: hex });
const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });
const kinds = ['first_name', 'last_name', 'full_name', 'street_address', 'city', 'phone', 'email'];

const values: [string, string | null][] = [
  ['null', null],
  ['empty', ''],
  ['ascii', 'Alice'],
  ['ascii 2', 'Bob'],
  ['combining', 'Zoe\u0308'],
  ['astral', '😀🏥'],
  ['long', 'name '.repeat(800)],
];

export const cases: VectorCase[] = [
  ...kinds.flatMap((kind) => values.map(([vname, v]): VectorCase => ({ name: `${kind} ${vname}`, fn: 'fake', args: [{ type: 'text', value: v }, key(KEY), opts({ kind })] }))),
  ...kinds.map((kind): VectorCase => ({ name: `${kind} one-byte key`, fn: 'fake', args: [{ type: 'text', value: 'Alice' }, key('7f'), opts({ kind })] })),
  ...Array.from({ length: 30 }, (_, i): VectorCase => ({ name: `email spread ${i}`, fn: 'fake', args: [{ type: 'text', value: `person ${i}` }, key(KEY), opts({ kind: 'email' })] })),
  { name: 'null key', fn: 'fake', args: [{ type: 'text', value: 'Alice' }, key(null), opts({ kind: 'city' })] },
];
