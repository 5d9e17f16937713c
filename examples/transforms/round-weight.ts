/**
 * A custom pgmask transform, as it would live in your own repository
 * (e.g. `transforms/round-weight.ts`, passed with `--transforms transforms/` or
 * `transforms: transforms/` in the policy). pgmask type-checks it against PLV8's globals,
 * bundles it into the PLV8 runtime and installs it as pgmask.custom_round_weight.
 *
 * Policy:   weight_kg: { round_weight: { step: 2 } }
 * View:     pgmask.custom_round_weight(src."weight_kg"::float8, '{"step":2}'::jsonb)  -- cast back to the column type
 */
import { defineCustomTransform } from 'pgmask';

const DEFAULT_STEP = 5;

export default defineCustomTransform({
  name: 'round_weight',
  description: 'Round a body weight to a multiple of `step` kilograms (default 5).',
  types: ['float', 'numeric', 'integer'],
  params: { step: { type: 'number', minimum: 0.5, maximum: 50, default: DEFAULT_STEP, description: 'kilograms' } },
  // numbers arrive as JavaScript numbers (through float8); the result is cast back to the column type
  fn: (value: number, params: { step?: number }) => {
    const step = params.step ?? DEFAULT_STEP;
    return Math.round(value / step) * step;
  },
});
