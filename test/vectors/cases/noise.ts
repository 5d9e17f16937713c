import type { VectorArg, VectorCase } from '../vector-case.ts';

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const f8 = (value: number | string | null): VectorArg => ({ type: 'float8', value });
const text = (value: string | null): VectorArg => ({ type: 'text', value });
const key = (hex: string | null): VectorArg => ({ type: 'bytea', value: hex });
const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });

const values: (number | string | null)[] = [null, 0, '-0', 1, -1, 72.4, -72.4, 0.1, 1e-9, 1e-270, 5e-324, 1e15, 123456789.123, -2147483648, 9007199254740993, 1.7976931348623157e308, 1e300, 9.9e299, 'NaN', 'Infinity', '-Infinity'];

const settings: [string, unknown][] = [
  ['relative uniform', { column: 'weight_kg', relative: 0.05 }],
  ['relative laplace', { column: 'weight_kg', relative: 0.05, distribution: 'laplace' }],
  ['absolute decimals 1', { column: 'weight_kg', absolute: 2.5, decimals: 1 }],
  ['laplace decimals -1 clamp', { column: 'income', relative: 10, distribution: 'laplace', decimals: -1, min: 0, max: 1e6 }],
  ['int4 clamp', { column: 'score', absolute: 1000, decimals: 0, min: -2147483648, max: 2147483647 }],
];

const rowKeys: [string, string | null][] = [
  ['null', null],
  ['empty', ''],
  ['int', '42'],
  ['composite', '[1, "a"]'],
  ['unicode', 'Zoe\u0308 😀'],
  ['long', 'k'.repeat(3000)],
];

export const cases: VectorCase[] = [
  ...settings.flatMap(([sname, o]) => values.map((v): VectorCase => ({ name: `${sname} value ${String(v)}`, fn: 'noise', args: [f8(v), text('42'), key(KEY), opts(o)] }))),
  ...rowKeys.map(([rname, rk]): VectorCase => ({ name: `row key ${rname}`, fn: 'noise', args: [f8(72.4), text(rk), key(KEY), opts({ column: 'weight_kg', relative: 0.05 })] })),
  { name: 'other column', fn: 'noise', args: [f8(72.4), text('42'), key(KEY), opts({ column: 'height_cm', relative: 0.05 })] },
  { name: 'unicode column', fn: 'noise', args: [f8(72.4), text('42'), key(KEY), opts({ column: 'Gewicht_ä😀', relative: 0.05 })] },
  { name: 'null key', fn: 'noise', args: [f8(72.4), text('42'), key(null), opts({ column: 'weight_kg', relative: 0.05 })] },
  { name: 'null opts', fn: 'noise', args: [f8('NaN'), text('42'), key(KEY), opts(null)] },
  ...Array.from({ length: 40 }, (_, i): VectorCase => ({ name: `laplace row ${i}`, fn: 'noise', args: [f8(100), text(String(i)), key(KEY), opts({ column: 'x', absolute: 1, distribution: 'laplace' })] })),
];
