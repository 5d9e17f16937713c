/**
 * SQL type names as the plv8 compiler sees them. Only boundary types cross into
 * JavaScript unchanged (ARCHITECTURE.md "PLV8 rules"); every other type crosses as text
 * through a casting SQL wrapper, so JavaScript never sees a time zone or a rounded int8.
 * float8[] crosses as a JavaScript Array of numbers (NULL elements as null): PLV8 maps arrays
 * of its built-in types when they have one dimension, so callers flatten a signal first.
 */
export const BOUNDARY_TYPES: ReadonlySet<string> = new Set(['text', 'float8', 'int4', 'boolean', 'jsonb', 'bytea', 'float8[]']);

const ALIASES: Readonly<Record<string, string>> = {
  integer: 'int4',
  int: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  'double precision': 'float8',
  real: 'float4',
  bool: 'boolean',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  decimal: 'numeric',
  'character varying': 'varchar',
};

/** Canonical short name of a type written in a Plv8Signature (`integer` → `int4`); throws on anything that is not a plain type name. */
export function canonicalSqlType(type: string): string {
  const t = type.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!/^[a-z][a-z0-9_ ]*(\[\])?$/.test(t)) throw new Error(`plv8 signature type ${JSON.stringify(type)} is not a plain SQL type name`);
  return ALIASES[t] ?? t;
}

export function isBoundaryType(type: string): boolean {
  return BOUNDARY_TYPES.has(canonicalSqlType(type));
}

/** JavaScript reserved words cannot be PLV8 argument names: PLV8 makes each SQL argument name a JS parameter. */
const JS_RESERVED = new Set(
  'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await arguments eval'.split(
    ' ',
  ),
);

export function checkArgName(name: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || JS_RESERVED.has(name)) {
    throw new Error(`plv8 argument name ${JSON.stringify(name)} must be a lowercase identifier that is not a JavaScript reserved word`);
  }
}
