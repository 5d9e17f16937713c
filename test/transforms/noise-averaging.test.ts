/**
 * Issue 10, leak 4: a height repeated on every encounter of a patient. Keyed by the row, each
 * encounter showed independent noise and the patient's average converged on the true
 * height; keyed by (subject, column, raw value), as the views now build the noise identity
 * (src/transforms/noise.ts), every encounter shows the same value and averaging gains nothing.
 * Measured with the reference implementation (bit-identical to sql/noise.sql, see the vectors).
 */
import { describe, expect, it } from 'vitest';
import { noise } from '../../src/transforms/js/noise.ts';

const KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
const PATIENTS = 200;
const ENCOUNTERS = 8;
const OPTS = { column: 'height_cm', absolute: 8.75 };

/** mean over patients of |average of the masked heights − true height| */
function meanErrorOfAverages(identity: (patient: number, encounter: number, height: number) => string): { single: number; averaged: number } {
  let single = 0;
  let averaged = 0;
  for (let p = 0; p < PATIENTS; p++) {
    const height = 150 + ((p * 37) % 45);
    const masked = Array.from({ length: ENCOUNTERS }, (_, e) => Math.floor(noise(height, identity(p, e, height), KEY, OPTS) + 0.5));
    single += Math.abs(masked[0]! - height);
    averaged += Math.abs(masked.reduce((a, b) => a + b, 0) / ENCOUNTERS - height);
  }
  return { single: single / PATIENTS, averaged: averaged / PATIENTS };
}

describe('noise: averaging a subject’s repeated rows', () => {
  it('converges on the true value when keyed by row (0.1), and gains nothing keyed by subject and value', () => {
    const byRow = meanErrorOfAverages((p, e) => String(p * ENCOUNTERS + e)); // 0.1: the encounter's primary key
    const bySubject = meanErrorOfAverages((p, _e, h) => `${h}:P${p}`); // now: raw value ':' subject
    process.stdout.write(
      `[noise averaging] ${PATIENTS} patients × ${ENCOUNTERS} encounters, scale 8.75 cm: keyed by row ${byRow.single.toFixed(2)} cm → ${byRow.averaged.toFixed(2)} cm averaged; ` +
        `keyed by subject and value ${bySubject.single.toFixed(2)} cm → ${bySubject.averaged.toFixed(2)} cm averaged\n`,
    );
    expect(byRow.averaged).toBeLessThan(byRow.single * 0.5);
    expect(bySubject.averaged).toBe(bySubject.single);
    expect(bySubject.single).toBeGreaterThan(6);
  });
});
