/**
 * The only place that builds SQL text. A `Sql` value can be made only by the
 * `sql` template, `ident()`, `literal()`, `param()`, `typeName()`, `dollarQuoted()` and
 * `join()`; escaping happens when the value is built, so a `Sql` is always safe to
 * concatenate.
 *
 * @example
 *   sql`SELECT ${ident('we"ird')} FROM ${ident('public', 'patients')} WHERE id = ${literal(7)}`
 *   // SELECT "we""ird" FROM "public"."patients" WHERE id = 7
 *
 * A value can also be bound (sent apart from the text, pg-sql2's `sql.value`): such a
 * `Sql` has no `.text`; `compile()` numbers the placeholders.
 *
 * @example
 *   compile(sql`SELECT name FROM pg_roles WHERE rolname = ${param('analyst')} AND oid > ${param(10)}`)
 *   // { text: 'SELECT name FROM pg_roles WHERE rolname = $1 AND oid > $2', values: ['analyst', 10] }
 */
const brand: unique symbol = Symbol('pgmask.Sql');
const bound: unique symbol = Symbol('pgmask.Sql.bound');

/** Text pieces around bound values: `texts.length === values.length + 1`. */
interface BoundParts {
  readonly texts: readonly string[];
  readonly values: readonly unknown[];
}

export interface Sql {
  readonly [brand]: true;
  /** the SQL text; reading it from an Sql that holds bound values throws (compile() it) */
  readonly text: string;
  /** set only when the Sql holds bound values */
  readonly [bound]?: BoundParts;
}

function make(text: string): Sql {
  return Object.freeze({ [brand]: true as const, text });
}

function makeBound(parts: BoundParts): Sql {
  if (parts.values.length === 0) return make(parts.texts[0] ?? '');
  return Object.freeze({
    [brand]: true as const,
    [bound]: Object.freeze(parts),
    get text(): string {
      throw new TypeError('this Sql holds bound values: run it with the query helper of src/db, or compile() it to { text, values }');
    },
  });
}

export function isSql(value: unknown): value is Sql {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

export type SqlValue = Sql | readonly Sql[];

/** Appends an Sql to text pieces and values under construction. */
function append(texts: string[], values: unknown[], part: Sql): void {
  const parts = part[bound];
  if (parts === undefined) {
    texts[texts.length - 1] += part.text;
    return;
  }
  texts[texts.length - 1] += parts.texts[0]!;
  for (let i = 0; i < parts.values.length; i++) {
    values.push(parts.values[i]);
    texts.push(parts.texts[i + 1]!);
  }
}

/**
 * Template tag. Interpolations must be `Sql` values (or arrays of them, joined
 * with ", "); a plain string throws, because it cannot be known whether it is an
 * identifier or a literal.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly SqlValue[]): Sql {
  let text = strings[0] ?? '';
  let withValues: { texts: string[]; values: unknown[] } | undefined;
  values.forEach((value, i) => {
    const part = Array.isArray(value) ? join(value as readonly Sql[]) : value;
    if (!isSql(part)) {
      throw new TypeError(
        `sql\`…\`: interpolated a ${typeof value} (${JSON.stringify(value)}); wrap identifiers with ident() and values with literal() or param()`,
      );
    }
    if (withValues === undefined && part[bound] !== undefined) withValues = { texts: [text], values: [] };
    if (withValues === undefined) text += part.text;
    else append(withValues.texts, withValues.values, part);
    const next = strings[i + 1] ?? '';
    if (withValues === undefined) text += next;
    else withValues.texts[withValues.texts.length - 1] += next;
  });
  return withValues === undefined ? make(text) : makeBound(withValues);
}

/**
 * A value sent apart from the SQL text ($n when compiled): the way to pass data a
 * query compares against, e.g. a role name read from the catalog. pg converts it
 * (strings, numbers, booleans, null, Buffers, arrays, Dates).
 */
export function param(value: unknown): Sql {
  return makeBound({ texts: ['', ''], values: [value] });
}

/** `{ text, values }` for pg's `query()`: bound values become $1, $2, … in order. */
export function compile(query: Sql): { readonly text: string; readonly values: readonly unknown[] } {
  if (!isSql(query)) throw new TypeError('compile(): not an Sql value; build queries with sql`…`');
  const parts = query[bound];
  if (parts === undefined) return { text: query.text, values: [] };
  let text = parts.texts[0]!;
  for (let i = 0; i < parts.values.length; i++) text += `$${i + 1}${parts.texts[i + 1]!}`;
  return { text, values: parts.values };
}

function checkNoNul(s: string, what: string): void {
  if (s.includes('\u0000')) throw new TypeError(`${what} contains a NUL character, which PostgreSQL cannot store`);
}

/** A quoted identifier, or a dotted chain of them: ident('public', 'my table') → "public"."my table". */
export function ident(...parts: readonly string[]): Sql {
  if (parts.length === 0) throw new TypeError('ident() needs at least one name');
  return make(
    parts
      .map((p) => {
        if (typeof p !== 'string' || p.length === 0) throw new TypeError(`ident(): invalid identifier ${JSON.stringify(p)}`);
        checkNoNul(p, 'identifier');
        return `"${p.replaceAll('"', '""')}"`;
      })
      .join('.'),
  );
}

/**
 * A literal. Strings use standard quoting ('' for a quote); a string containing a
 * backslash uses the E'' form so its meaning does not depend on
 * standard_conforming_strings. Numbers must be finite; null gives NULL.
 */
export function literal(value: string | number | bigint | boolean | null): Sql {
  if (value === null) return make('NULL');
  if (typeof value === 'boolean') return make(value ? 'TRUE' : 'FALSE');
  if (typeof value === 'bigint') return make(value.toString());
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`literal(): ${value} is not a finite number`);
    const text = String(value);
    // negative numbers are parenthesized so `x - ${literal(-1)}` never becomes a comment (`--`)
    return make(value < 0 || Object.is(value, -0) ? `(${text})` : text);
  }
  if (typeof value !== 'string') throw new TypeError(`literal(): unsupported value ${String(value)}`);
  checkNoNul(value, 'string literal');
  const quoted = `'${value.replaceAll("'", "''")}'`;
  if (value.includes('\\')) return make(`E${quoted.replaceAll('\\', '\\\\')}`);
  return make(quoted);
}

/** A JSON value as a `jsonb` literal: jsonbLiteral({prefix: 'MRN-'}) → '{"prefix":"MRN-"}'::jsonb */
export function jsonbLiteral(value: unknown): Sql {
  return sql`${literal(stableJson(value))}::jsonb`;
}

/** A `bytea` literal from bytes: '\x0102'::bytea */
export function byteaLiteral(bytes: Uint8Array): Sql {
  return make(`'\\x${Buffer.from(bytes).toString('hex')}'::bytea`);
}

/** JSON with object keys sorted, so generated SQL is byte-for-byte deterministic. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** Dollar-quotes a body with a tag that does not occur in it: $pgmask$…$pgmask$ (or $pgmask1$…). */
export function dollarQuoted(body: string): Sql {
  checkNoNul(body, 'dollar-quoted body');
  let tag = 'pgmask';
  for (let i = 1; body.includes(`$${tag}$`); i++) tag = `pgmask${i}`;
  return make(`$${tag}$${body}$${tag}$`);
}

/** Joins Sql fragments with a separator (default ", "). */
export function join(parts: readonly Sql[], separator: string = ', '): Sql {
  for (const p of parts) if (!isSql(p)) throw new TypeError('join(): every part must be Sql');
  if (!parts.some((p) => p[bound] !== undefined)) return make(parts.map((p) => p.text).join(separator));
  const texts = [''];
  const values: unknown[] = [];
  parts.forEach((p, i) => {
    if (i > 0) texts[texts.length - 1] += separator;
    append(texts, values, p);
  });
  return makeBound({ texts, values });
}

// PostgreSQL's lexer takes every byte >= 0x80 as an identifier character, so format_type() leaves `müll` unquoted
const TYPE_IDENT = String.raw`(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*|"(?:[^"\u0000]|"")+")`;
const TYPE_MODIFIER = String.raw`(?:\(\d+(?:,\d+)*\))?`;
const INTERVAL_FIELDS = String.raw`(?: (?:year|month|day|hour|minute|second)(?: to (?:month|hour|minute|second))?)?`;
/** format_type() output: a (qualified) name with modifiers, or a multi-word built-in; `[]` for arrays. */
const TYPE_NAME = new RegExp(
  String.raw`^(?:(?:${TYPE_IDENT}\.)?${TYPE_IDENT}${TYPE_MODIFIER}|(?:double precision|character varying|bit varying|time|timestamp|interval${INTERVAL_FIELDS})${TYPE_MODIFIER}(?: with(?:out)? time zone)?)(?:\[\])*$`,
);

/**
 * A type name as PostgreSQL's format_type() writes it (`character varying(40)`,
 * `timestamp(3) with time zone`, `public."My Domain"`, `int4[]`), checked against that
 * grammar: catalog text cannot smuggle SQL into a cast.
 *
 * @example
 *   sql`CAST(x AS ${typeName('numeric(10,2)')})`   // CAST(x AS numeric(10,2))
 *   typeName('text); DROP TABLE t; --')            // throws TypeError
 */
export function typeName(name: string): Sql {
  if (typeof name !== 'string' || !TYPE_NAME.test(name)) {
    throw new TypeError(`typeName(): ${JSON.stringify(name)} is not a type name as format_type() writes it`);
  }
  return make(name);
}

/**
 * An operator name (`||`, `->>`, `<=`): only the characters PostgreSQL allows in one.
 *
 * @example
 *   sql`CREATE OPERATOR ${ident('s')}.${operatorName('||')} (…)`   // CREATE OPERATOR "s".|| (…)
 */
export function operatorName(name: string): Sql {
  if (typeof name !== 'string' || !/^[+\-*/<>=~!@#%^&|`?]{1,63}$/.test(name) || name.includes('--') || name.includes('/*')) {
    throw new TypeError(`operatorName(): ${JSON.stringify(name)} is not an operator name`);
  }
  return make(name);
}

/**
 * The text of an `Sql` fragment as a string literal: a command handed to a function that
 * runs it (Citus's `run_command_on_placements`), a qualified name handed to `::regclass`.
 *
 * @example
 *   sql`SELECT ${textLiteral(ident('public', 'patients'))}::regclass`   // SELECT '"public"."patients"'::regclass
 */
export function textLiteral(fragment: Sql): Sql {
  if (!isSql(fragment)) throw new TypeError('textLiteral(): not an Sql value');
  return literal(fragment.text);
}

/**
 * A definition PostgreSQL itself deparsed (`pg_get_viewdef`, `pg_get_functiondef`,
 * `pg_get_function_identity_arguments`): verify replays it the way an attacker would.
 * Never for a name or a value taken from the catalog (ident(), literal(), typeName()),
 * never inside a statement pgmask applies.
 */
export function serverDeparsedSql(text: string): Sql {
  if (typeof text !== 'string') throw new TypeError('serverDeparsedSql(): not a string');
  checkNoNul(text, 'deparsed SQL');
  return make(text);
}

/**
 * SQL text shipped with pgmask itself (files under `sql/`, `migrations/`, the
 * PLV8 bundle wrapper). Never call this with text that came from a policy, a
 * catalog or a user: those go through ident()/literal().
 */
export function trustedSqlText(text: string): Sql {
  checkNoNul(text, 'SQL text');
  return make(text);
}

export const emptySql: Sql = make('');
