import type { VectorArg, VectorCase } from '../vector-case.ts';
import { snrRatio } from '../../../src/transforms/signal.ts';

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const signal = (value: readonly (number | string | null)[] | null): VectorArg => ({ type: 'float8[]', value });
const text = (value: string | null): VectorArg => ({ type: 'text', value });
const key = (hex: string | null): VectorArg => ({ type: 'bytea', value: hex });
const opts = (snr: number, column = 'lead_ii'): VectorArg => ({ type: 'jsonb', value: { column, ratio: snrRatio(snr) } });

/** a small ECG-like beat: a deterministic sum of sines (Math.sin only builds the input) */
const beat = (n: number, offset = 0): number[] => Array.from({ length: n }, (_, i) => Math.round((Math.sin((i + offset) / 3) + 0.3 * Math.sin((i + offset) / 0.7)) * 1e4) / 1e4);

const signals: [string, (number | string | null)[]][] = [
  ['empty', []],
  ['one sample', [0.5]],
  ['odd length', beat(7)],
  ['beat 64', beat(64)],
  ['beat 1001', beat(1001)],
  ['shifted beat', beat(64, 1)],
  ['nulls kept', [1, null, -2, null, 3.5]],
  ['all null', [null, null]],
  ['all zero', [0, 0, 0, '-0']],
  ['non-finite kept', [1, 'NaN', 2, 'Infinity', '-Infinity', -1]],
  ['huge kept', [1e150, 2, -3, 1.5e200]],
  ['tiny samples', [1e-200, 1, -1e-160, 2]],
  ['only tiny', [1e-200, -1e-200]],
  ['float4 values', [0.1, 0.2, 0.30000001192092896, -1.5]],
  ['large values', [1e100, -2e100, 3e100]],
];

export const cases: VectorCase[] = [
  ...signals.map(([name, v]): VectorCase => ({ name: `signal ${name}`, fn: 'signal_noise', args: [signal(v), text('P1'), key(KEY), opts(30)] })),
  ...[0, 6, 20, 45.5, 60].map((snr): VectorCase => ({ name: `snr ${snr} dB`, fn: 'signal_noise', args: [signal(beat(64)), text('P1'), key(KEY), opts(snr)] })),
  { name: 'other subject', fn: 'signal_noise', args: [signal(beat(64)), text('P2'), key(KEY), opts(30)] },
  { name: 'no subject', fn: 'signal_noise', args: [signal(beat(64)), text(''), key(KEY), opts(30)] },
  { name: 'unicode subject', fn: 'signal_noise', args: [signal(beat(16)), text('Zoe\u0308 😀'), key(KEY), opts(30)] },
  { name: 'other column', fn: 'signal_noise', args: [signal(beat(64)), text('P1'), key(KEY), opts(30, 'lead_v1')] },
  { name: 'other key', fn: 'signal_noise', args: [signal(beat(64)), text('P1'), key('ff'.repeat(32)), opts(30)] },
  { name: 'null signal', fn: 'signal_noise', args: [signal(null), text('P1'), key(KEY), opts(30)] },
  { name: 'null key', fn: 'signal_noise', args: [signal(beat(8)), text('P1'), key(null), opts(30)] },
];
