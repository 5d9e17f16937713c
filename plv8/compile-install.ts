import type { Plv8Signature } from '../src/transforms/transform.ts';
import { dollarQuoted, ident, join, sql, trustedSqlText, type Sql } from '../src/sql/index.ts';
import { BUNDLE_GLOBAL, type RuntimeBundle } from './bundle-runtime.ts';
import { canonicalSqlType, checkArgName, isBoundaryType } from './sql-types.ts';

/** Property of globalThis holding `{ version, impl }` in each PLV8 context. */
export const RUNTIME_GLOBAL = '__pgmask_runtime';
export const INIT_FUNCTION = 'pgmask._plv8_init()';

/**
 * The PLV8 install SQL: one `pgmask._plv8_init()` carrying the bundle, then one function
 * per signature. A signature whose types are all boundary types becomes a PLV8 function
 * under its own name; any other becomes a PLV8 function `pgmask._js_<js>` taking and
 * returning text where the real type is not a boundary type, plus a SQL wrapper under the
 * real name that casts (`value::text`, `…::int8`). The wrapper is STABLE when a cast reads
 * the session (date and timestamp text follows DateStyle, timestamptz text TimeZone): the
 * JavaScript then sees exactly the text the session would print (the vectors assume
 * DateStyle ISO and TimeZone UTC), and PostgreSQL can still inline the wrapper.
 *
 * Every transform function checks the version tag on globalThis and calls init (found with
 * plv8.find_function, so PLV8 compiles it in the calling role's context) when it is missing
 * or stale, i.e. once per role per session and again after a reinstall.
 *
 * Security: PLV8 runs a view's transform in the querying role's JavaScript context, with the
 * key as an argument. A role that can run its own PLV8 code (USAGE on the trusted language,
 * which CREATE EXTENSION plv8 grants to PUBLIC; a DO block suffices) could plant globals or
 * patch built-ins first and capture the key. Nothing in the same context can prevent that,
 * so the migration must REVOKE USAGE ON LANGUAGE plv8 FROM PUBLIC (and masking roles) and
 * verify must check it (test/plv8-runtime.test.ts shows the attack in the sandbox).
 *
 * Output format (the sandbox in test/support/plv8-sandbox.ts parses exactly this):
 *
 *   CREATE OR REPLACE FUNCTION "pgmask"."pseudonymize_int8"("value" int8, "key" bytea, "opts" jsonb)
 *     RETURNS int8
 *     LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
 *     RETURN "pgmask"."_js_pseudonymize_int8"("value"::text, "key", "opts")::int8;
 */
export function compilePlv8Install(bundle: RuntimeBundle, signatures: readonly Plv8Signature[]): string {
  const statements: Sql[] = [initFunction(bundle)];
  const seen = new Map<string, string>();
  for (const sig of signatures) {
    for (const stmt of signatureFunctions(sig, bundle.tag)) {
      // the same function text twice is fine (two transforms sharing a helper); different text under one name is a bug
      const name = stmt.text.slice(0, stmt.text.indexOf('\n'));
      const prev = seen.get(name);
      if (prev === undefined) {
        seen.set(name, stmt.text);
        statements.push(stmt);
      } else if (prev !== stmt.text) {
        throw new Error(`two plv8 signatures define ${name} differently`);
      }
    }
  }
  return `-- pgmask PLV8 runtime ${bundle.tag}\n${join(statements, '\n\n').text}\n`;
}

function initFunction(bundle: RuntimeBundle): Sql {
  const body = `${bundle.code}\nglobalThis.${RUNTIME_GLOBAL} = { version: ${JSON.stringify(bundle.tag)}, impl: ${BUNDLE_GLOBAL}.table };\n`;
  // VOLATILE: it has a side effect (the global). EXECUTE stays granted to PUBLIC (the
  // default) because every masking role runs it in its own JavaScript context.
  return sql`CREATE OR REPLACE FUNCTION ${ident('pgmask', '_plv8_init')}()
  RETURNS void
  LANGUAGE plv8 VOLATILE PARALLEL SAFE
AS ${dollarQuoted(body)};`;
}

function jsBody(sig: Plv8Signature, tag: string): string {
  const args = sig.args.map(([name]) => name).join(', ');
  return `
var rt = globalThis.${RUNTIME_GLOBAL};
if (rt === undefined || rt.version !== ${JSON.stringify(tag)}) {
  plv8.find_function(${JSON.stringify(INIT_FUNCTION)})();
  rt = globalThis.${RUNTIME_GLOBAL};
}
return rt.impl.${sig.js}(${args});
`;
}

/** Types whose text input/output functions are STABLE in PostgreSQL (they read DateStyle, TimeZone or IntervalStyle). */
const SESSION_DEPENDENT_IO: ReadonlySet<string> = new Set(['date', 'timestamp', 'timestamptz', 'interval']);

/**
 * The text JavaScript receives for a non-boundary value. Dates and timestamps are
 * spelled exactly as PostgreSQL's ISO output (DateStyle ISO, TimeZone UTC) whatever the
 * analyst's session says — `value::text` would follow the session's DateStyle, and a BI
 * tool with `DateStyle = 'SQL, DMY'` would then get other results than the sql runtime.
 * to_char is STABLE (locale), so these wrappers stay STABLE.
 */
export function textForJs(value: Sql, type: string): Sql {
  const era = (v: Sql) => sql`CASE WHEN to_char(${v}, 'BC') = 'BC' THEN ' BC' ELSE '' END`;
  const clock = (v: Sql) => sql`to_char(${v}, 'YYYY-MM-DD HH24:MI:SS') || rtrim(rtrim(to_char(${v}, '.US'), '0'), '.')`;
  switch (type) {
    case 'date': {
      // from extract(), not to_char: to_char takes a timestamp, and a date past 294276 AD (the
      // last one is 5874897-12-31) has none ("date out of range for timestamp" on real PLV8)
      const year = sql`abs(extract(year FROM ${value}))::int::text`;
      const part = (field: Sql) => sql`lpad(extract(${field} FROM ${value})::int::text, 2, '0')`;
      return sql`(CASE WHEN isfinite(${value}) THEN lpad(${year}, greatest(4, length(${year})), '0') || '-' || ${part(sql`month`)} || '-' || ${part(sql`day`)} || CASE WHEN extract(year FROM ${value}) < 0 THEN ' BC' ELSE '' END ELSE ${value}::text END)`;
    }
    case 'timestamp':
      return sql`(CASE WHEN isfinite(${value}) THEN ${clock(value)} || ${era(value)} ELSE ${value}::text END)`;
    case 'timestamptz': {
      const utc = sql`(${value} AT TIME ZONE 'UTC')`;
      return sql`(CASE WHEN isfinite(${value}) THEN ${clock(utc)} || '+00' || ${era(utc)} ELSE ${value}::text END)`;
    }
    default:
      return sql`${value}::text`;
  }
}

function signatureFunctions(sig: Plv8Signature, tag: string): Sql[] {
  if (!/^[a-z][a-z0-9_]*$/.test(sig.sqlName)) throw new Error(`plv8 signature name ${JSON.stringify(sig.sqlName)} must be snake_case`);
  if (!/^[a-z][a-z0-9_]*$/.test(sig.js)) throw new Error(`plv8 signature js ${JSON.stringify(sig.js)} must be snake_case`);
  for (const [name] of sig.args) checkArgName(name);
  const types = sig.args.map(([, type]) => canonicalSqlType(type));
  const returns = canonicalSqlType(sig.returns);
  const direct = types.every(isBoundaryType) && isBoundaryType(returns);
  const plv8Name = direct ? sig.sqlName : `_js_${sig.js}`;
  const plv8Args = sig.args.map(([name], i) => sql`${ident(name)} ${trustedSqlText(isBoundaryType(types[i]!) ? types[i]! : 'text')}`);
  const plv8Returns = isBoundaryType(returns) ? returns : 'text';
  const plv8Fn = sql`CREATE OR REPLACE FUNCTION ${ident('pgmask', plv8Name)}(${plv8Args})
  RETURNS ${trustedSqlText(plv8Returns)}
  LANGUAGE plv8 IMMUTABLE STRICT PARALLEL SAFE
AS ${dollarQuoted(jsBody(sig, tag))};`;
  if (direct) return [plv8Fn];
  const realArgs = sig.args.map(([name], i) => sql`${ident(name)} ${trustedSqlText(types[i]!)}`);
  const callArgs = sig.args.map(([name], i) => (isBoundaryType(types[i]!) ? ident(name) : textForJs(ident(name), types[i]!)));
  const call = sql`${ident('pgmask', plv8Name)}(${callArgs})`;
  const result = isBoundaryType(returns) ? call : sql`${call}::${trustedSqlText(returns)}`;
  // date/time text I/O depends on DateStyle/TimeZone (their casts are STABLE); a wrapper
  // declared IMMUTABLE around a STABLE cast would not be inlined, and would not be true
  const volatility = [...types, returns].some((t) => SESSION_DEPENDENT_IO.has(t)) ? 'STABLE' : 'IMMUTABLE';
  const wrapper = sql`CREATE OR REPLACE FUNCTION ${ident('pgmask', sig.sqlName)}(${realArgs})
  RETURNS ${trustedSqlText(returns)}
  LANGUAGE sql ${trustedSqlText(volatility)} STRICT PARALLEL SAFE
  RETURN ${result};`;
  return [plv8Fn, wrapper];
}
