import type { VectorArg, VectorCase } from '../vector-case.ts';

const opts = (value: unknown): VectorArg => ({ type: 'jsonb', value });

const texts: [string, string | null][] = [
  ['null', null],
  ['empty', ''],
  ['one', 'a'],
  ['ascii', '4111111111111111'],
  ['latin', 'Zoë Müller'],
  ['combining', 'Zoe\u0308 Mu\u0308ller'],
  ['astral', '😀🏥𝔘𝔫𝔦𝔠𝔬𝔡𝔢x'],
  ['cjk', '患者番号一二三'],
  ['long', 'abc😀'.repeat(1000)],
];

const settings: [string, unknown][] = [
  ['first 2 last 2', { first: 2, last: 2 }],
  ['last 4 mask #', { last: 4, mask: '#' }],
  ['first 1 astral mask', { first: 1, mask: '😀' }],
  ['defaults', {}],
  ['first 3 last 3', { first: 3, last: 3 }],
];

const emails: (string | null)[] = [null, '', 'john.doe@example.com', 'j@example.com', '@example.com', 'no-at-sign', 'a"b@c"@example.org', 'Zoë.Müller@exämple.de', '😀😀@x.io', 'a@b@c'];
const phones: (string | null)[] = [null, '', '+1 (555) 123-4567', '555-1234', '1234', '12345', '+44 20 7946 0958', 'ext. 12', '(٥٥٥) 123-4567', '0'.repeat(500)];

export const cases: VectorCase[] = [
  ...settings.flatMap(([sname, o]) => texts.map(([tname, t]): VectorCase => ({ name: `${sname} ${tname}`, fn: 'partial', args: [{ type: 'text', value: t }, opts(o)] }))),
  ...emails.map((e, i): VectorCase => ({ name: `email ${i} ${String(e)}`, fn: 'partial', args: [{ type: 'text', value: e }, opts({ preset: 'email' })] })),
  { name: 'email mask x', fn: 'partial', args: [{ type: 'text', value: 'john.doe@example.com' }, opts({ preset: 'email', mask: 'x' })] },
  ...phones.map((p, i): VectorCase => ({ name: `phone ${i} ${String(p).slice(0, 20)}`, fn: 'partial', args: [{ type: 'text', value: p }, opts({ preset: 'phone' })] })),
  { name: 'phone mask &', fn: 'partial', args: [{ type: 'text', value: '+1 (555) 123-4567' }, opts({ preset: 'phone', mask: '&' })] },
  { name: 'phone mask backslash', fn: 'partial', args: [{ type: 'text', value: '+1 (555) 123-4567' }, opts({ preset: 'phone', mask: '\\' })] },
  { name: 'null opts', fn: 'partial', args: [{ type: 'text', value: 'abc' }, opts(null)] },
];
