/**
 * JavaScript implementation of pgmask.signal_noise (plv8 runtime and TypeScript reference);
 * bit-identical to sql/signal.sql. Only exact integer arithmetic, float8 + − × ÷ and sqrt
 * (correctly rounded in IEEE-754, in V8 and in C alike), summed in index order: the two
 * runtimes compute the same doubles. The target ratio 10^(−snr/20) is computed once, when the
 * migration is generated, and reaches both runtimes as the same float8 constant.
 *
 * A signal's noise is keyed by the subject and by the signal itself: the seed is
 * HMAC-SHA256(key, "signal_noise" NUL column NUL identity NUL SHA-256(samples)), the samples
 * being the 8 big-endian IEEE bytes of every non-NULL element in order. The same recording
 * always shows the same noise (repeating queries or averaging copies gains nothing); two
 * different recordings get independent noise. AES-128-CBC under the seed's first 16 bytes,
 * IV its last 16, over zero bytes gives 8 bytes per sample: four big-endian uint16 whose sum,
 * centred and divided by 65536, is the sample's raw noise (Irwin–Hall, nearly Gaussian).
 * The raw noise is then scaled so that its RMS over the noisy samples is exactly
 * ratio × the signal's RMS: achieved SNR = snr_db up to the float4/float8 rounding of the output.
 */
import { cbc } from '@noble/ciphers/aes.js';
import { hmacSha256, sha256 } from './hmac.ts';
import { utf8Encode } from './utf8.ts';

export interface SignalNoiseOpts {
  readonly column: string;
  /** 10^(−snr_db/20): noise RMS over signal RMS */
  readonly ratio: number;
}

/** Samples at or beyond this magnitude (their square would leave float8) are returned unchanged. */
export const SIGNAL_MAX_MAGNITUDE = 1e150;
/** Samples below this magnitude add nothing to the signal's energy (their square would underflow; PostgreSQL raises an error on that). */
export const SIGNAL_MIN_MAGNITUDE = 1e-150;
/** A signal whose energy is below this is returned unchanged (no RMS to scale noise to). */
export const SIGNAL_MIN_ENERGY = 1e-280;

const LABEL = utf8Encode('signal_noise\u0000');

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** SHA-256 of the 8 big-endian IEEE bytes of every non-NULL sample, in order (float8send in SQL). */
export function signalDigest(value: readonly (number | null)[]): Uint8Array {
  let count = 0;
  for (const v of value) if (v !== null && v !== undefined) count++;
  const bytes = new Uint8Array(count * 8);
  const view = new DataView(bytes.buffer);
  let o = 0;
  for (const v of value) {
    if (v === null || v === undefined) continue;
    view.setFloat64(o, v, false);
    o += 8;
  }
  return sha256(bytes);
}

/** The raw noise of every index: (a + b + c + d − 131070) / 65536 from the keystream's 8 bytes of that sample. */
export function rawSignalNoise(seed: Uint8Array, length: number): Float64Array {
  const blocks = Math.ceil(length / 2);
  const stream = cbc(seed.subarray(0, 16), seed.subarray(16, 32), { disablePadding: true }).encrypt(new Uint8Array(blocks * 16));
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const o = i * 8;
    const sum = ((stream[o]! << 8) | stream[o + 1]!) + ((stream[o + 2]! << 8) | stream[o + 3]!) + ((stream[o + 4]! << 8) | stream[o + 5]!) + ((stream[o + 6]! << 8) | stream[o + 7]!);
    out[i] = (sum - 131070) / 65536;
  }
  return out;
}

function noisy(x: number | null | undefined): x is number {
  return x !== null && x !== undefined && Number.isFinite(x) && Math.abs(x) < SIGNAL_MAX_MAGNITUDE;
}

export function signalNoise(value: readonly (number | null)[], identity: string, key: Uint8Array, opts: SignalNoiseOpts): (number | null)[] {
  const seed = hmacSha256(key, concat([LABEL, utf8Encode(opts.column), new Uint8Array(1), utf8Encode(identity), new Uint8Array(1), signalDigest(value)]));
  const n = rawSignalNoise(seed, value.length);
  let energy = 0;
  let noiseEnergy = 0;
  for (let i = 0; i < value.length; i++) {
    const x = value[i];
    if (!noisy(x)) continue;
    if (Math.abs(x) >= SIGNAL_MIN_MAGNITUDE) energy = energy + x * x;
    noiseEnergy = noiseEnergy + n[i]! * n[i]!;
  }
  const out = value.map((x) => (x === undefined ? null : x));
  if (energy < SIGNAL_MIN_ENERGY || noiseEnergy === 0) return out;
  const scale = opts.ratio * Math.sqrt(energy / noiseEnergy);
  for (let i = 0; i < value.length; i++) {
    const x = value[i];
    if (noisy(x)) out[i] = x + scale * n[i]!;
  }
  return out;
}
