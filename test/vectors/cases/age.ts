import type { VectorCase } from '../vector-case.ts';

const ages: (string | null)[] = [null, '0', '17', '89', '89.0', '89.00000000000000000001', '89.9', '90', '91', '120', '-5', '-90', '1000', 'NaN', 'Infinity', '-Infinity', '9223372036854775807', '123456789012345678901234567890.5'];

const births: [string | null, string][] = [
  [null, '2025-01-01'],
  ['1935-01-01', '2025-01-01'],
  ['1935-01-02', '2025-01-01'],
  ['1934-12-31', '2025-01-01'],
  ['1900-06-15', '2025-01-01'],
  ['1934-02-28', '2024-02-29'],
  ['1934-03-01', '2024-02-29'],
  ['1932-02-29', '2022-02-28'],
  ['1932-02-29', '2022-03-01'],
  ['2020-05-05', '2025-01-01'],
  ['0044-03-15 BC', '2025-01-01'],
  ['infinity', '2025-01-01'],
  ['-infinity', '2025-01-01'],
  ['1990-01-01', '0050-06-30'],
  ['1935-01-01', '2025-01-01'],
];

const birthTimestamps: [string | null, string][] = [
  ['1935-01-01 23:59:59', '2025-01-01'],
  ['1935-01-02 00:00:00', '2025-01-01'],
  ['1920-07-04 12:30:00.25', '2025-01-01'],
  ['1934-02-28 06:00:00', '2024-02-29'],
  ['infinity', '2025-01-01'],
  ['-infinity', '2025-01-01'],
  ['2000-01-01 00:00:00', '2025-01-01'],
];

export const cases: VectorCase[] = [
  ...ages.map((value): VectorCase => ({ name: `age ${String(value)}`, fn: 'age', args: [{ type: 'numeric', value }] })),
  ...births.map(([value, asOf], i): VectorCase => ({ name: `birth date ${String(value)} as of ${asOf} #${i}`, fn: 'age', args: [{ type: 'date', value }, { type: 'date', value: asOf }] })),
  { name: 'birth date null as_of', fn: 'age', args: [{ type: 'date', value: '1900-01-01' }, { type: 'date', value: null }] },
  ...birthTimestamps.map(([value, asOf]): VectorCase => ({ name: `birth timestamp ${String(value)} as of ${asOf}`, fn: 'age', args: [{ type: 'timestamp', value }, { type: 'date', value: asOf }] })),
];
