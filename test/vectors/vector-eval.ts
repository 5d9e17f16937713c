/**
 * Shared by the vector generator and the vector test: finds the plv8 signature a case
 * calls, converts case arguments the way PLV8 / the pg driver would, and formats results
 * as PostgreSQL's ::text output (session TimeZone UTC, DateStyle ISO).
 */
import type { TransformDefinition, Plv8Signature } from '../../src/transforms/transform.ts';
import type { TransformRegistry } from '../../src/transforms/registry.ts';
import { canonicalSqlType, isBoundaryType } from '../../plv8/sql-types.ts';
import { fromHex, toHex } from '../../src/transforms/js/utf8.ts';
import type { VectorArg, VectorCase } from './vector-case.ts';

/** Session settings the expected values assume (set by the vector test before SQL checks). */
export const VECTOR_SESSION = { TimeZone: 'UTC', DateStyle: 'ISO, MDY' } as const;

export interface ResolvedCase {
  readonly transform: TransformDefinition<any>;
  readonly signature: Plv8Signature;
  readonly argTypes: readonly string[];
  readonly returns: string;
}

/** The transform and plv8 signature serving `pgmask.<fn>(arg types…)`, or null when none is registered. */
export function resolveCase(registry: TransformRegistry, c: VectorCase): ResolvedCase | null {
  const wanted = c.args.map((a) => canonicalSqlType(a.type));
  for (const t of registry.all()) {
    for (const sig of t.plv8 ?? []) {
      if (sig.sqlName !== c.fn || sig.args.length !== wanted.length) continue;
      const argTypes = sig.args.map(([, type]) => canonicalSqlType(type));
      if (argTypes.every((type, i) => type === wanted[i])) return { transform: t, signature: sig, argTypes, returns: canonicalSqlType(sig.returns) };
    }
  }
  return null;
}

function float8(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  throw new Error(`float8 vector value must be a number or 'NaN'/'Infinity'/'-0', got ${JSON.stringify(value)}`);
}

/** What the JavaScript implementation receives for an argument (PLV8's conversion, non-boundary types as text). */
export function jsArgument(arg: VectorArg): unknown {
  if (arg.value === null) return null;
  if (!isBoundaryType(arg.type)) return String(arg.value);
  switch (arg.type) {
    case 'text':
      return String(arg.value);
    case 'int4':
    case 'float8':
      return float8(arg.value);
    case 'boolean':
      return Boolean(arg.value);
    case 'jsonb':
      return JSON.parse(JSON.stringify(arg.value));
    case 'bytea':
      return fromHex(String(arg.value));
    case 'float8[]':
      return (arg.value as unknown[]).map((e) => (e === null ? null : float8(e)));
    default:
      throw new Error(`unhandled boundary type ${arg.type}`);
  }
}

/** The text a pg query parameter carries for `$n::type`. */
export function sqlParameter(arg: VectorArg): string | null {
  if (arg.value === null) return null;
  switch (arg.type) {
    case 'jsonb':
      return JSON.stringify(arg.value);
    case 'bytea':
      return `\\x${String(arg.value)}`;
    case 'boolean':
      return arg.value ? 'true' : 'false';
    case 'float8': {
      const n = float8(arg.value);
      return Object.is(n, -0) ? '-0' : String(n);
    }
    case 'float8[]':
      return `{${(arg.value as unknown[]).map((e) => (e === null ? 'NULL' : pgFloat8Text(float8(e)))).join(',')}}`;
    default:
      return String(arg.value);
  }
}

/** PostgreSQL's float8 output (shortest round-trip digits; exponent form below 1e-4 or from 1e15). */
export function pgFloat8Text(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 15) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** PostgreSQL's jsonb output: keys sorted by length then bytes, ", " and ": " separators. */
export function pgJsonbText(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pgJsonbText).join(', ')}]`;
  const keys = Object.keys(v).sort((a, b) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${pgJsonbText((v as Record<string, unknown>)[k])}`).join(', ')}}`;
}

/** A JavaScript result (as PLV8 would hand it to PostgreSQL) as PostgreSQL's ::text output. */
export function resultText(result: unknown, returns: string): string | null {
  if (result === null || result === undefined) return null;
  if (!isBoundaryType(returns)) {
    if (typeof result !== 'string') throw new Error(`a ${returns} result crosses as text, but the implementation returned ${typeof result}`);
    return result;
  }
  switch (returns) {
    case 'text':
      return String(result);
    case 'int4':
      return String(result);
    case 'float8':
      return pgFloat8Text(result as number);
    case 'boolean':
      return result ? 'true' : 'false';
    case 'jsonb':
      return pgJsonbText(result);
    case 'bytea':
      return `\\x${toHex(result as Uint8Array)}`;
    case 'float8[]':
      return `{${(result as (number | null)[]).map((e) => (e === null ? 'NULL' : pgFloat8Text(e))).join(',')}}`;
    default:
      throw new Error(`unhandled boundary type ${returns}`);
  }
}

/** Runs the TypeScript reference for one case; STRICT like the SQL functions: any NULL argument gives NULL. */
export function evaluateTs(implementations: Record<string, (...args: any[]) => unknown>, resolved: ResolvedCase, c: VectorCase): string | null {
  if (c.args.some((a) => a.value === null)) return null;
  const impl = implementations[resolved.signature.js];
  if (impl === undefined) throw new Error(`no JavaScript implementation ${resolved.signature.js} for pgmask.${c.fn}`);
  return resultText(impl(...c.args.map(jsArgument)), resolved.returns);
}
