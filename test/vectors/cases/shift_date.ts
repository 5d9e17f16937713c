import type { VectorArg, VectorCase } from '../vector-case.ts';

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const text = (value: string | null): VectorArg => ({ type: 'text', value });
const key = (hex: string | null): VectorArg => ({ type: 'bytea', value: hex });
const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });

const subjects: [string, string | null][] = [
  ['null', null],
  ['empty', ''],
  ['integer id', '1'],
  ['integer id 2', '2'],
  ['negative id', '-9223372036854775808'],
  ['uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
  ['combining mark', 'Zoe\u0308'],
  ['astral', 'pt😀🏥'],
  ['very long', 'patient-'.repeat(500)],
];

export const cases: VectorCase[] = [
  ...subjects.map(([name, s]): VectorCase => ({ name: `subject ${name}`, fn: 'shift_date_days', args: [text(s), key(KEY), opts({ max_days: 30 })] })),
  ...subjects.map(([name, s]): VectorCase => ({ name: `weeks ${name}`, fn: 'shift_date_days', args: [text(s), key(KEY), opts({ max_days: 30, keep_weekday: true })] })),
  ...[1, 2, 6, 7, 13, 365, 3650].map((d): VectorCase => ({ name: `max_days ${d}`, fn: 'shift_date_days', args: [text('P-0001'), key(KEY), opts({ max_days: d })] })),
  ...[7, 13, 14, 3650].map((d): VectorCase => ({ name: `weeks max_days ${d}`, fn: 'shift_date_days', args: [text('P-0001'), key(KEY), opts({ max_days: d, keep_weekday: true })] })),
  { name: 'one-byte key', fn: 'shift_date_days', args: [text('P-0001'), key('7f'), opts({ max_days: 30 })] },
  { name: 'long key', fn: 'shift_date_days', args: [text('P-0001'), key('ab'.repeat(100)), opts({ max_days: 30 })] },
  { name: 'null key', fn: 'shift_date_days', args: [text('P-0001'), key(null), opts({ max_days: 30 })] },
];
