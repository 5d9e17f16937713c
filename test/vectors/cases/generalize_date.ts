import type { VectorArg, VectorCase } from '../vector-case.ts';

const opts = (to: string): VectorArg => ({ type: 'jsonb', value: { to } });

const dates: (string | null)[] = [
  null,
  '2024-02-29',
  '2023-12-31',
  '2024-01-01',
  '2024-03-31',
  '2024-04-01',
  '2024-09-30',
  '2024-10-01',
  '2000-02-29',
  '1900-03-01',
  '0001-01-01',
  '0044-03-15 BC',
  '0001-12-31 BC',
  '4713-11-24 BC',
  '5874897-12-31',
  'infinity',
  '-infinity',
];

const timestamps: (string | null)[] = [
  null,
  '2024-02-29 23:59:59.999999',
  '2023-12-31 23:59:59',
  '2024-01-01 00:00:00',
  '2024-03-10 02:30:00',
  '2024-11-03 01:30:00.5',
  '0044-03-15 12:00:00 BC',
  '294276-12-31 23:59:59.999999',
  'infinity',
  '-infinity',
];

export const cases: VectorCase[] = ['year', 'quarter', 'month'].flatMap((to) => [
  ...dates.map((value): VectorCase => ({ name: `date ${String(value)} to ${to}`, fn: 'generalize_date', args: [{ type: 'date', value }, opts(to)] })),
  ...timestamps.map((value): VectorCase => ({ name: `timestamp ${String(value)} to ${to}`, fn: 'generalize_date', args: [{ type: 'timestamp', value }, opts(to)] })),
]);
