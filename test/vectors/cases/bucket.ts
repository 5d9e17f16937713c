import type { VectorArg, VectorCase } from '../vector-case.ts';

const num = (value: string | null): VectorArg => ({ type: 'numeric', value });
const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });

const values: (string | null)[] = [null, '0', '37', '-37', '9.99', '10', '-10', '12.345', '-12.345', '0.0000001', '-0.5', '9223372036854775807', '-9223372036854775808', '123456789012345678901234567890.123456789', 'NaN', 'Infinity', '-Infinity'];

const widths: [string, unknown][] = [
  ['width 10', { width: 10 }],
  ['width 2.5 origin 1', { width: 2.5, origin: 1 }],
  ['width 0.1', { width: 0.1 }],
  ['width 1e-7 origin -0.25', { width: 1e-7, origin: -0.25 }],
  ['width 1e21', { width: 1e21 }],
];

const ranges = {
  ranges: [
    { lt: 18, label: 'minor' },
    { gte: 18, lt: 65, label: 'adult' },
    { gte: 65, lte: 89, label: 'senior' },
    { gt: 89, label: '90+ 😀' },
  ],
};
const bmi = { ranges: [{ lt: 18.5, label: 'under' }, { gte: 18.5, lt: 25, label: 'normal' }], default: 'over' };

export const cases: VectorCase[] = [
  ...widths.flatMap(([wname, o]) => values.map((v): VectorCase => ({ name: `${wname} value ${String(v)}`, fn: 'bucket', args: [num(v), opts(o)] }))),
  { name: 'null opts', fn: 'bucket', args: [num('NaN'), opts(null)] },
  ...['17.999999999999999999', '18', '64.99', '65', '89', '89.0000001', '-1', 'NaN', 'Infinity', '-Infinity', null].map((v): VectorCase => ({ name: `ranges ${String(v)}`, fn: 'bucket_label', args: [num(v), opts(ranges)] })),
  ...['18.4999', '18.5', '24.9', '25', '40'].map((v): VectorCase => ({ name: `bmi ${v}`, fn: 'bucket_label', args: [num(v), opts(bmi)] })),
  { name: 'no range and no default', fn: 'bucket_label', args: [num('5'), opts({ ranges: [{ gte: 10, label: 'ten+' }] })] },
];

cases.push(
  { name: 'int8 minimum clamps the bin', fn: 'bucket', args: [num('-9223372036854775808'), opts({ width: 10, min: '-9223372036854775808' })] },
  { name: 'min above the bin', fn: 'bucket', args: [num('-37'), opts({ width: 10, min: -35.5 })] },
  { name: 'min below the bin', fn: 'bucket', args: [num('-37'), opts({ width: 10, min: '-100' })] },
);
