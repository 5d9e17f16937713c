import type { VectorCase } from '../vector-case.ts';

const years: [string | null, string][] = [
  [null, '2025-01-01'],
  ['1935', '2025-01-01'],
  ['1936', '2025-01-01'],
  ['1934', '2025-01-01'],
  ['1850', '2025-06-30'],
  ['2020', '2025-12-31'],
  ['1934', '2024-02-29'],
  ['1935', '2024-02-29'],
  ['0', '2025-01-01'],
  ['-500', '2025-01-01'],
  ['9223372036854775807', '2025-01-01'],
  ['-9223372036854775808', '2025-01-01'],
  ['1900', '0050-06-30'],
  ['-41', '0050-06-30'],
  ['-45', '0044-03-15 BC'],
  ['-133', '0044-03-15 BC'],
];

export const cases: VectorCase[] = [
  ...years.map(([value, asOf], i): VectorCase => ({ name: `birth year ${String(value)} as of ${asOf} #${i}`, fn: 'birth_year', args: [{ type: 'int8', value }, { type: 'date', value: asOf }] })),
  { name: 'birth year null as_of', fn: 'birth_year', args: [{ type: 'int8', value: '1900' }, { type: 'date', value: null }] },
];
