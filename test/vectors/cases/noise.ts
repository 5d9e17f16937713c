import type { VectorArg, VectorCase } from '../vector-case.ts';

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const f8 = (value: number | string | null): VectorArg => ({ type: 'float8', value });
const text = (value: string | null): VectorArg => ({ type: 'text', value });
const key = (hex: string | null): VectorArg => ({ type: 'bytea', value: hex });
const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });

const values: (number | string | null)[] = [null, 0, '-0', 1, -1, 72.4, -72.4, 0.1, 1e-9, 1e-270, 9.9e-271, 5e-324, 1e15, 123456789.123, -2147483648, 9007199254740993, 1.7976931348623157e308, 1e280, 9.9e279, 'NaN', 'Infinity', '-Infinity'];

const settings: [string, unknown][] = [
  ['relative', { column: 'weight_kg', relative: 0.05 }],
  ['relative 3', { column: 'income', relative: 3 }],
  ['absolute', { column: 'weight_kg', absolute: 2.5 }],
  ['absolute tiny', { column: 'score', absolute: 1e-9 }],
];

const rowKeys: [string, string | null][] = [
  ['null', null],
  ['empty', ''],
  ['int', '42'],
  ['composite', '[1, "a"]'],
  ['unicode', 'Zoe\u0308 😀'],
  ['long', 'k'.repeat(3000)],
];

export const cases: VectorCase[] = ['noise', 'noise_laplace'].flatMap((fn) => [
  ...settings.flatMap(([sname, o]) => values.map((v): VectorCase => ({ name: `${fn} ${sname} value ${String(v)}`, fn, args: [f8(v), text('42'), key(KEY), opts(o)] }))),
  ...rowKeys.map(([rname, rk]): VectorCase => ({ name: `${fn} row key ${rname}`, fn, args: [f8(72.4), text(rk), key(KEY), opts({ column: 'weight_kg', relative: 0.05 })] })),
  { name: `${fn} other column`, fn, args: [f8(72.4), text('42'), key(KEY), opts({ column: 'height_cm', relative: 0.05 })] },
  { name: `${fn} unicode column`, fn, args: [f8(72.4), text('42'), key(KEY), opts({ column: 'Gewicht_ä😀', relative: 0.05 })] },
  { name: `${fn} null key`, fn, args: [f8(72.4), text('42'), key(null), opts({ column: 'weight_kg', relative: 0.05 })] },
  { name: `${fn} null opts`, fn, args: [f8('NaN'), text('42'), key(KEY), opts(null)] },
  ...Array.from({ length: 40 }, (_, i): VectorCase => ({ name: `${fn} row ${i}`, fn, args: [f8(100), text(String(i)), key(KEY), opts({ column: 'x', absolute: 1 })] })),
]);
