/**
 * What a custom transform file imports as `pgmask`. It is bundled into the PLV8 runtime,
 * so it imports nothing and uses no Node API.
 *
 * @example
 *   // transforms/round-weight.ts, in the user's repository
 *   import { defineCustomTransform } from 'pgmask';
 *   export default defineCustomTransform({
 *     name: 'round_weight',
 *     description: 'Round a weight to the nearest `step` kilograms.',
 *     types: ['float', 'numeric'],
 *     params: { step: { type: 'number', minimum: 0.1, default: 5 } },
 *     fn: (value: number, params: { step?: number }) => Math.round(value / (params.step ?? 5)) * (params.step ?? 5),
 *   });
 *   // policy:  weight_kg: { round_weight: { step: 2 } }
 *   // view:    pgmask.custom_round_weight(src."weight_kg"::float8, '{"step":2}'::jsonb)::numeric(5,1)
 */

/**
 * Column families a custom transform can take, and what its `fn` sees:
 * text → string; integer, numeric, float → number (through float8: integers beyond
 * ±2^53 lose precision); boolean → boolean; json → parsed value; bytea → Uint8Array;
 * date, timestamp, timestamptz → string in PostgreSQL's output format (e.g.
 * '2020-02-29', '2020-02-29 13:00:00'). `fn` returns the same kind; null gives NULL.
 */
export type CustomValueFamily = 'text' | 'integer' | 'numeric' | 'float' | 'boolean' | 'json' | 'bytea' | 'date' | 'timestamp' | 'timestamptz';

/** One parameter, JSON-Schema style. */
export interface CustomParamSpec {
  readonly type: 'string' | 'number' | 'integer' | 'boolean';
  readonly description?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly (string | number)[];
  /** a parameter with a default is optional; `fn` sees the default when the policy omits it */
  readonly default?: string | number | boolean;
  readonly optional?: boolean;
}

/** A zod schema (anything with safeParse) is accepted as well. */
export interface ZodLikeSchema {
  safeParse(input: unknown): { success: boolean; data?: unknown; error?: unknown };
}

export interface CustomTransformSpec<P = any> {
  /** snake_case policy name; the SQL function is pgmask.custom_<name> */
  readonly name: string;
  readonly description: string;
  readonly types: readonly CustomValueFamily[];
  readonly params?: Readonly<Record<string, CustomParamSpec>> | ZodLikeSchema;
  /** pure and deterministic: it runs as an IMMUTABLE function, once per value */
  readonly fn: (value: any, params: P) => unknown;
}

export interface CustomTransform<P = any> extends CustomTransformSpec<P> {
  /** marks the value for the loader and the PLV8 bundle (a string key survives separate bundles) */
  readonly pgmaskCustomTransform: 1;
}

export function defineCustomTransform<P = Record<string, unknown>>(spec: CustomTransformSpec<P>): CustomTransform<P> {
  return Object.freeze({ ...spec, pgmaskCustomTransform: 1 as const });
}
