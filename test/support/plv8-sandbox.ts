/**
 * Runs the compiled PLV8 install SQL without PLV8: each `LANGUAGE plv8` function body is
 * compiled in a bare `vm` context that mimics PLV8's globals (ARCHITECTURE.md "PLV8 rules": only
 * ECMAScript built-ins incl. BigInt, Intl, WebAssembly; no TextEncoder, Buffer, crypto,
 * console, setTimeout, structuredClone, atob…), with a `plv8` object (find_function, elog),
 * one context per role, STRICT handling and PLV8's boundary conversions. The `LANGUAGE sql`
 * wrappers that plv8/ generates (`RETURN pgmask._js_x("value"::text, …)::type`) are
 * interpreted: non-boundary arguments are passed as text, the result is returned as the
 * text the JavaScript produced (callers cast through PostgreSQL when they need its output).
 *
 * It parses the exact format plv8/compile-install.ts writes; anything else is an error, so
 * a change of that format cannot silently skip functions. The sandbox never replaces a
 * real PLV8 run: it catches bundling mistakes (Node APIs, globals, missing table entries).
 */
import vm from 'node:vm';

interface SandboxFunction {
  readonly schema: string;
  readonly name: string;
  readonly args: readonly { name: string; type: string }[];
  readonly returns: string;
  readonly language: 'plv8' | 'sql';
  readonly strict: boolean;
  /** plv8: the JavaScript body */
  readonly body?: string;
  /** sql: the wrapped plv8 function, how each argument is passed, and the result cast */
  readonly wrapper?: { target: string; argCasts: readonly { arg: string; toText: boolean }[]; resultCast: string | null };
}

export interface SandboxCallOptions {
  /** the PostgreSQL role whose JavaScript context runs the call (PLV8 keeps one per role) */
  readonly role?: string;
  /** argument types to choose among overloads (canonical names: int4, text, …) */
  readonly types?: readonly string[];
}

interface RoleContext {
  readonly context: vm.Context;
  readonly compiled: Map<SandboxFunction, (...args: unknown[]) => unknown>;
  initRuns: number;
}

/** PLV8's elog level constants, as globals in every context. */
const ELOG_LEVELS: Readonly<Record<string, number>> = { DEBUG5: 10, DEBUG4: 11, DEBUG3: 12, DEBUG2: 13, DEBUG1: 14, LOG: 15, INFO: 17, NOTICE: 18, WARNING: 19, ERROR: 21 };

/** Names that a bare V8 context in Node has but PLV8 does not (V8 installs console in every context). */
const NOT_IN_PLV8 = ['console'];

export class Plv8Sandbox {
  readonly #functions: SandboxFunction[] = [];
  readonly #roles = new Map<string, RoleContext>();
  readonly notices: { role: string; level: number; message: string }[] = [];

  constructor(fullInstallSql: string) {
    // the shared SQL helpers after the marker (src/runtime/runtime-install.ts) are plain SQL, not PLV8
    const marker = fullInstallSql.indexOf('\n-- pgmask shared SQL helpers');
    const installSql = marker < 0 ? fullInstallSql : fullInstallSql.slice(0, marker);
    const re =
      /CREATE OR REPLACE FUNCTION "([^"]+)"\."([^"]+)"\(([^)]*)\)\n {2}RETURNS (\w+(?:\[\])?)\n {2}LANGUAGE (plv8|sql) ([A-Z ]+?)\n(?:AS \$(\w*)\$([\s\S]*?)\$\7\$;| {2}RETURN ([^\n]*);)/g;
    let count = 0;
    for (const m of installSql.matchAll(re)) {
      count++;
      const [, schema, name, argText, returns, language, attrs, , body, ret] = m;
      const args = argText!.trim() === '' ? [] : argText!.split(', ').map((a) => parseArg(a));
      const fn: SandboxFunction = {
        schema: schema!,
        name: name!,
        args,
        returns: returns!,
        language: language as 'plv8' | 'sql',
        strict: / STRICT\b/.test(` ${attrs}`),
        ...(language === 'plv8' ? { body: body! } : { wrapper: parseWrapper(ret!) }),
      };
      this.#functions.push(fn);
    }
    const statements = (installSql.match(/CREATE OR REPLACE FUNCTION/g) ?? []).length;
    if (count !== statements) throw new Error(`plv8 sandbox: parsed ${count} of ${statements} CREATE FUNCTION statements; the install SQL format changed`);
    if (count === 0) throw new Error('plv8 sandbox: the install SQL defines no function');
  }

  /** schema-qualified names of every function defined, e.g. `pgmask.pseudonymize(text,bytea,jsonb)` */
  functions(): string[] {
    return this.#functions.map((f) => `${f.schema}.${f.name}(${f.args.map((a) => a.type).join(',')})`);
  }

  /** Evaluates JavaScript in a role's context (tests use it to inspect or disturb globals). */
  evaluate(code: string, role = 'postgres'): unknown {
    return vm.runInContext(code, this.#role(role).context);
  }

  /** how often `pgmask._plv8_init()` ran in a role's context */
  initRuns(role = 'postgres'): number {
    return this.#roles.get(role)?.initRuns ?? 0;
  }

  /**
   * Calls a function as SQL would: `call('pgmask.pseudonymize', ['A1', key, { prefix: 'X' }])`.
   * Arguments as the pg driver would hand them over: text → string, int4/float8 → number,
   * boolean, jsonb → a JSON value, bytea → Uint8Array, any other type → its PostgreSQL text
   * form (a string); null is SQL NULL. Returns the value PLV8 would hand back to PostgreSQL:
   * string, number, boolean, Uint8Array, a JSON value, or null — for a non-boundary result
   * type the text the JavaScript returned.
   */
  call(qualifiedName: string, args: readonly unknown[], opts: SandboxCallOptions = {}): unknown {
    const fn = this.#resolve(qualifiedName, args.length, opts.types);
    return this.#invoke(fn, args, this.#role(opts.role ?? 'postgres'));
  }

  #resolve(qualifiedName: string, argCount: number, types?: readonly string[]): SandboxFunction {
    const [schema, name] = qualifiedName.includes('.') ? qualifiedName.split('.', 2) : ['pgmask', qualifiedName];
    let candidates = this.#functions.filter((f) => f.schema === schema && f.name === name && f.args.length === argCount);
    if (types) candidates = candidates.filter((f) => f.args.every((a, i) => a.type === types[i]));
    if (candidates.length !== 1) {
      throw new Error(`plv8 sandbox: ${candidates.length === 0 ? 'no' : 'more than one'} function ${qualifiedName} with ${argCount} arguments${types ? ` (${types.join(', ')})` : ''}`);
    }
    return candidates[0]!;
  }

  #role(role: string): RoleContext {
    let rc = this.#roles.get(role);
    if (rc === undefined) {
      const plv8 = {
        version: 'sandbox',
        find_function: (signature: string) => this.#findFunction(signature, role),
        elog: (level: number, ...parts: unknown[]) => {
          const message = parts.map(String).join(' ');
          if (level >= ELOG_LEVELS.ERROR!) throw new Error(message);
          this.notices.push({ role, level, message });
        },
        execute: () => {
          throw new Error('plv8 sandbox: a transform must not run SQL (plv8.execute)');
        },
      };
      const context = vm.createContext({ plv8, ...ELOG_LEVELS });
      vm.runInContext(NOT_IN_PLV8.map((n) => `delete globalThis.${n};`).join(''), context);
      rc = { context, compiled: new Map(), initRuns: 0 };
      this.#roles.set(role, rc);
    }
    return rc;
  }

  /** plv8.find_function('schema.name(types)') or ('schema.name'): the compiled JavaScript function itself, like PLV8. */
  #findFunction(signature: string, role: string): (...args: unknown[]) => unknown {
    const m = /^\s*([\w.]+)\s*(?:\(([^)]*)\))?\s*$/.exec(signature);
    if (!m) throw new Error(`plv8 sandbox: find_function(${JSON.stringify(signature)}): not a function signature`);
    const types = m[2] === undefined ? undefined : m[2].trim() === '' ? [] : m[2].split(',').map((t) => t.trim());
    const qualified = m[1]!.includes('.') ? m[1]! : `pgmask.${m[1]}`;
    const [schema, name] = qualified.split('.', 2);
    const candidates = this.#functions.filter((f) => f.schema === schema && f.name === name && (types === undefined || (f.args.length === types.length && f.args.every((a, i) => a.type === types[i]))));
    if (candidates.length !== 1) throw new Error(`plv8 sandbox: find_function(${JSON.stringify(signature)}) found ${candidates.length} functions`);
    const fn = candidates[0]!;
    if (fn.language !== 'plv8') throw new Error(`plv8 sandbox: find_function(${JSON.stringify(signature)}): not a plv8 function`);
    return this.#compiled(fn, this.#role(role));
  }

  #compiled(fn: SandboxFunction, rc: RoleContext): (...args: unknown[]) => unknown {
    let compiled = rc.compiled.get(fn);
    if (compiled === undefined) {
      // PLV8 compiles a body as `(function (arg names) { body })` in the role's context
      const source = `(function (${fn.args.map((a) => a.name).join(', ')}) {${fn.body}\n})`;
      const js = vm.runInContext(source, rc.context, { filename: `${fn.schema}.${fn.name}` }) as (...args: unknown[]) => unknown;
      compiled =
        fn.name === '_plv8_init'
          ? (...args: unknown[]) => {
              rc.initRuns++;
              return js(...args);
            }
          : js;
      rc.compiled.set(fn, compiled);
    }
    return compiled;
  }

  #invoke(fn: SandboxFunction, args: readonly unknown[], rc: RoleContext): unknown {
    if (fn.strict && args.some((a) => a === null || a === undefined)) return null;
    if (fn.language === 'sql') {
      const w = fn.wrapper!;
      const inner = w.argCasts.map(({ arg, toText }) => {
        const i = fn.args.findIndex((a) => a.name === arg);
        if (i < 0) throw new Error(`plv8 sandbox: wrapper ${fn.name} passes unknown argument ${arg}`);
        const v = args[i];
        return toText && v !== null && v !== undefined ? textOf(v, fn.args[i]!.type) : v;
      });
      const target = this.#resolve(w.target, inner.length, w.argCasts.map(({ arg, toText }) => (toText ? 'text' : fn.args.find((a) => a.name === arg)!.type)));
      return this.#invoke(target, inner, rc);
    }
    const converted = fn.args.map((a, i) => toJs(args[i], a.type, rc.context, `${fn.name}(${a.name})`));
    const result = this.#compiled(fn, rc)(...converted);
    return fromJs(result, fn.returns, `${fn.name} result`);
  }
}

export function createPlv8Sandbox(installSql: string): Plv8Sandbox {
  return new Plv8Sandbox(installSql);
}

function parseArg(text: string): { name: string; type: string } {
  const m = /^"([^"]+)" (\w+(?:\[\])?)$/.exec(text.trim());
  if (!m) throw new Error(`plv8 sandbox: cannot parse argument ${JSON.stringify(text)}`);
  return { name: m[1]!, type: m[2]! };
}

/**
 * `"pgmask"."_js_x"("value"::text, "key", "opts")::int8`; a date/timestamp argument is
 * spelled `(CASE WHEN isfinite("value") THEN to_char(…) … END)` (ISO text whatever the
 * session's DateStyle) — the sandbox is handed that ISO text already.
 */
function parseWrapper(ret: string): NonNullable<SandboxFunction['wrapper']> {
  const m = /^"([^"]+)"\."([^"]+)"\((.*)\)(?:::(\w+))?$/s.exec(ret.trim());
  if (!m) throw new Error(`plv8 sandbox: cannot parse wrapper body ${JSON.stringify(ret)}`);
  const argCasts = splitTopLevel(m[3]!).map((a) => {
    const am = /^"([^"]+)"(::text)?$/.exec(a) ?? /^\(CASE WHEN isfinite\("([^"]+)"\)()/.exec(a);
    if (!am) throw new Error(`plv8 sandbox: cannot parse wrapper argument ${JSON.stringify(a)}`);
    return { arg: am[1]!, toText: am[2] !== undefined };
  });
  return { target: `${m[1]}.${m[2]}`, argCasts, resultCast: m[4] ?? null };
}

/** splits a SQL argument list at the commas outside parentheses and quotes */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(list.slice(start).trim());
  return parts;
}

/** The text PostgreSQL would give for a non-boundary argument passed as a JS value. */
function textOf(v: unknown, type: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  throw new Error(`plv8 sandbox: pass ${type} arguments as their PostgreSQL text form, got ${typeof v}`);
}

/** PLV8's argument conversion (ARCHITECTURE.md): values are created in the role's realm. */
function toJs(v: unknown, type: string, context: vm.Context, where: string): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'text':
      if (typeof v !== 'string') throw new Error(`plv8 sandbox: ${where}: text argument must be a string`);
      return v;
    case 'int4':
    case 'int2':
    case 'float8':
      if (typeof v !== 'number') throw new Error(`plv8 sandbox: ${where}: ${type} argument must be a number`);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw new Error(`plv8 sandbox: ${where}: boolean argument must be a boolean`);
      return v;
    case 'jsonb':
      return (vm.runInContext('JSON', context) as JSON).parse(JSON.stringify(v));
    case 'float8[]': {
      // PLV8 converts a one-dimensional array to a JavaScript Array (NULL elements as null)
      if (!Array.isArray(v) || v.some((e) => e !== null && typeof e !== 'number')) throw new Error(`plv8 sandbox: ${where}: float8[] argument must be an array of numbers and nulls`);
      const A = vm.runInContext('Array', context) as ArrayConstructor;
      return A.from(v as (number | null)[]);
    }
    case 'bytea': {
      if (!(v instanceof Uint8Array)) throw new Error(`plv8 sandbox: ${where}: bytea argument must be a Uint8Array`);
      const U8 = vm.runInContext('Uint8Array', context) as Uint8ArrayConstructor;
      return new U8(v);
    }
    default:
      throw new Error(`plv8 sandbox: ${where}: ${type} is not a boundary type; plv8/ should have passed it as text`);
  }
}

/** PLV8's result conversion, strict: a result of the wrong kind is an error here, not a silent cast. */
function fromJs(v: unknown, type: string, where: string): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'void':
      return null;
    case 'text':
      if (typeof v !== 'string') throw new Error(`plv8 sandbox: ${where}: returned ${typeof v} for text`);
      return v;
    case 'int4':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`plv8 sandbox: ${where}: ${String(v)} is not an int4`);
      return v;
    case 'float8':
      if (typeof v !== 'number') throw new Error(`plv8 sandbox: ${where}: returned ${typeof v} for float8`);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw new Error(`plv8 sandbox: ${where}: returned ${typeof v} for boolean`);
      return v;
    case 'jsonb':
      return JSON.parse(JSON.stringify(v)) as unknown;
    case 'float8[]':
      if (!Array.isArray(v) || v.some((e) => e !== null && typeof e !== 'number')) throw new Error(`plv8 sandbox: ${where}: returned something other than an array of numbers and nulls for float8[]`);
      return [...(v as (number | null)[])];
    case 'bytea':
      if (!ArrayBuffer.isView(v) || (v as Uint8Array).BYTES_PER_ELEMENT !== 1) throw new Error(`plv8 sandbox: ${where}: returned ${typeof v} for bytea`);
      return new Uint8Array((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).byteLength).slice();
    default:
      throw new Error(`plv8 sandbox: ${where}: ${type} is not a boundary type`);
  }
}
