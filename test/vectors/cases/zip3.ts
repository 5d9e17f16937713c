import type { VectorArg, VectorCase } from '../vector-case.ts';

const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });

const zips: (string | null)[] = [
  null,
  '',
  '02115',
  '02115-1234',
  '021151234',
  '02115 1234',
  '  02115  ',
  '03601',
  '89301-0001',
  '00501',
  '99950',
  '2115',
  '021',
  '021156',
  '02115-12',
  'ABCDE',
  '0211O',
  '０２１１５',
  '02115\t',
  '02115 😀',
  'Boston 02115',
  '9'.repeat(2000),
];

export const cases: VectorCase[] = [
  ...zips.map((value): VectorCase => ({ name: `zip ${JSON.stringify(value)?.slice(0, 30)}`, fn: 'zip3', args: [{ type: 'text', value }, opts({})] })),
  { name: 'custom list restricts 021', fn: 'zip3', args: [{ type: 'text', value: '02115' }, opts({ restricted: ['021'] })] },
  { name: 'custom list frees 036', fn: 'zip3', args: [{ type: 'text', value: '03601' }, opts({ restricted: ['021'] })] },
  { name: 'empty list', fn: 'zip3', args: [{ type: 'text', value: '03601' }, opts({ restricted: [] })] },
  { name: 'null opts', fn: 'zip3', args: [{ type: 'text', value: '03601' }, opts(null)] },
];
