/**
 * One conformance vector: a call of a `pgmask.<fn>` SQL function with typed arguments.
 * `test/vectors/cases/<transform>.ts` exports `cases: VectorCase[]`; `generate.ts` runs the
 * TypeScript reference on them and writes `test/vectors/<transform>.json` with `expected`.
 */
export type VectorArgType =
  | 'text'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float8'
  | 'numeric'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'uuid'
  | 'boolean'
  | 'jsonb'
  | 'bytea'
  /** an array of numbers, NULLs as null, NaN/Infinity as strings */
  | 'float8[]';

export interface VectorArg {
  readonly type: VectorArgType;
  /**
   * The SQL value: null for NULL; bytea as a hex string without `\x`; int8/numeric/date/
   * timestamp/timestamptz/uuid as PostgreSQL text input (strings); jsonb as a JSON value;
   * text as a string; int2/int4/float8 as numbers; boolean as a boolean.
   */
  readonly value: unknown;
}

export interface VectorCase {
  /** unique within its file, says what the case exercises */
  readonly name: string;
  /** SQL function name inside schema pgmask, e.g. `pseudonymize` */
  readonly fn: string;
  readonly args: readonly VectorArg[];
}

/** A generated vector: the case plus the result as PostgreSQL's ::text output (null for NULL). */
export interface Vector extends VectorCase {
  readonly expected: string | null;
}

export interface VectorFile {
  readonly transform: string;
  /** session settings the expected text assumes: { TimeZone: 'UTC', DateStyle: 'ISO, MDY' } */
  readonly session: Readonly<Record<string, string>>;
  readonly vectors: readonly Vector[];
}
