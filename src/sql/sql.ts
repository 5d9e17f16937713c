/**
 * The only place that builds SQL text. A `Sql` value can be made only by the
 * `sql` template, `ident()`, `literal()`, `dollarQuoted()` and `join()`; escaping
 * happens when the value is built, so a `Sql` is always safe to concatenate.
 *
 * @example
 *   sql`SELECT ${ident('we"ird')} FROM ${ident('public', 'patients')} WHERE id = ${literal(7)}`
 *   // SELECT "we""ird" FROM "public"."patients" WHERE id = 7
 */
const brand: unique symbol = Symbol('pgmask.Sql');

export interface Sql {
  readonly [brand]: true;
  readonly text: string;
}

function make(text: string): Sql {
  return Object.freeze({ [brand]: true as const, text });
}

export function isSql(value: unknown): value is Sql {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

export type SqlValue = Sql | readonly Sql[];

/**
 * Template tag. Interpolations must be `Sql` values (or arrays of them, joined
 * with ", "); a plain string throws, because it cannot be known whether it is an
 * identifier or a literal.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly SqlValue[]): Sql {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    if (Array.isArray(value)) {
      text += join(value as readonly Sql[]).text;
    } else if (isSql(value)) {
      text += value.text;
    } else {
      throw new TypeError(
        `sql\`…\`: interpolated a ${typeof value} (${JSON.stringify(value)}); wrap identifiers with ident() and values with literal()`,
      );
    }
    text += strings[i + 1] ?? '';
  });
  return make(text);
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
  return make(parts.map((p) => p.text).join(separator));
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
