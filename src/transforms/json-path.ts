/**
 * The JSON paths of a `json` rule: `$` followed by `.key`, `."quoted key"`, `['key']`, `[n]`
 * and `[*]` (every element of an array). A parsed path is a list of segments — a string is an
 * object key, a number an array index, null every element — which the masked view passes to
 * pgmask._json_locate (sql/structure.sql) as a jsonb array. `locate` is the same walk in
 * TypeScript, the reference the JSON path vectors check the SQL against.
 */
export type PathSegment = string | number | null;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class JsonPathError extends Error {}

/** a bare key: letters (any script), digits, _ and - ; anything else is written quoted */
const BARE = /^[\p{L}\p{N}_-]+/u;

export function parseJsonPath(text: string): PathSegment[] {
  if (!text.startsWith('$')) throw new JsonPathError(`a path starts with $ (the document), e.g. $.name[*].family`);
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < text.length) {
    const rest = text.slice(i);
    if (rest.startsWith('.')) {
      if (rest[1] === '"') {
        const m = /^\."((?:[^"\\]|\\.)*)"/.exec(rest);
        if (!m) throw new JsonPathError(`unterminated quoted key at position ${i + 1}`);
        segments.push(JSON.parse(`"${m[1]}"`) as string);
        i += m[0].length;
        continue;
      }
      if (rest[1] === '*') throw new JsonPathError(`.* (every key) is not supported at position ${i + 1}: list the keys, or use [*] for the elements of an array`);
      const m = BARE.exec(rest.slice(1));
      if (!m) throw new JsonPathError(`a key is expected after . at position ${i + 1} (quote keys with other characters: ."my key")`);
      segments.push(m[0]);
      i += 1 + m[0].length;
      continue;
    }
    if (rest.startsWith('[')) {
      const m = /^\[(\*|\d+|'((?:[^'\\]|\\.)*)')\]/.exec(rest);
      if (!m) throw new JsonPathError(`[*], [n] or ['key'] expected at position ${i + 1}`);
      if (m[1] === '*') segments.push(null);
      else if (m[2] !== undefined) segments.push(m[2].replace(/\\(.)/g, (_, c: string) => c));
      else {
        const n = Number(m[1]);
        if (!Number.isSafeInteger(n) || n > 2147483647) throw new JsonPathError(`index ${m[1]} is too large`);
        segments.push(n);
      }
      i += m[0].length;
      continue;
    }
    throw new JsonPathError(`unexpected ${JSON.stringify(rest[0])} at position ${i + 1}: a path is $ followed by .key, ."key", ['key'], [n] or [*]`);
  }
  if (segments.length === 0) throw new JsonPathError('$ alone is the whole document: mask the column with a rule of its own instead, or list the paths inside it');
  return segments;
}

/** whether two segments can reach the same place ([*] meets any index) */
function meet(a: PathSegment, b: PathSegment): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a === null || b === null || a === b;
}

/** true when one path leads into (or to) what the other reaches: their rules would both apply there */
export function pathsOverlap(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (!meet(a[i]!, b[i]!)) return false;
  return true;
}

export interface Location {
  readonly loc: readonly (string | number)[];
  /** the value reached, or undefined where the document is not the shape the path expects */
  readonly value: JsonValue | undefined;
  readonly fits: boolean;
}

function kind(v: JsonValue): 'object' | 'array' | 'other' {
  return Array.isArray(v) ? 'array' : v !== null && typeof v === 'object' ? 'object' : 'other';
}

/** Where a path leads in a document, in document order: pgmask._json_locate in TypeScript. */
export function locate(doc: JsonValue, path: readonly PathSegment[]): Location[] {
  const out: Location[] = [];
  const walk = (node: JsonValue, loc: (string | number)[], depth: number): void => {
    if (depth === path.length) {
      out.push({ loc, value: node, fits: true });
      return;
    }
    const seg = path[depth]!;
    const k = kind(node);
    if (typeof seg === 'string') {
      if (k !== 'object') return void out.push({ loc, value: undefined, fits: false });
      const o = node as Record<string, JsonValue>;
      if (Object.prototype.hasOwnProperty.call(o, seg)) walk(o[seg]!, [...loc, seg], depth + 1);
      return;
    }
    if (k !== 'array') return void out.push({ loc, value: undefined, fits: false });
    const a = node as JsonValue[];
    if (seg === null) a.forEach((e, i) => walk(e, [...loc, i], depth + 1));
    else if (seg < a.length) walk(a[seg]!, [...loc, seg], depth + 1);
  };
  walk(doc, [], 0);
  return out;
}

/** the segments as the jsonb array the SQL helpers take */
export function pathJson(path: readonly PathSegment[]): string {
  return JSON.stringify(path);
}

function put(node: JsonValue | undefined, loc: readonly (string | number)[], depth: number, v: JsonValue): JsonValue {
  if (depth >= loc.length) return v;
  const seg = loc[depth]!;
  if (typeof seg === 'string') {
    const o: Record<string, JsonValue> = node !== undefined && kind(node) === 'object' ? { ...(node as Record<string, JsonValue>) } : {};
    o[seg] = put(Object.prototype.hasOwnProperty.call(o, seg) ? o[seg] : undefined, loc, depth + 1, v);
    return o;
  }
  const a: JsonValue[] = node !== undefined && kind(node) === 'array' ? [...(node as JsonValue[])] : [];
  while (a.length < seg) a.push(null);
  a[seg] = put(seg < a.length ? a[seg] : undefined, loc, depth + 1, v);
  return a;
}

/**
 * pgmask._json_assemble in TypeScript: `masked[k][j]` is [value] or [] for the j-th value path k
 * reaches. The reference the JSON vectors check the SQL against.
 */
export function assemble(doc: JsonValue, paths: readonly (readonly PathSegment[])[], masked: readonly (readonly (readonly JsonValue[])[])[], keepUnlisted: boolean): JsonValue | undefined {
  let out: JsonValue;
  if (keepUnlisted) out = doc;
  else if (kind(doc) === 'object') out = {};
  else if (kind(doc) === 'array') out = [];
  else return undefined;
  paths.forEach((path, k) => {
    let j = 0;
    for (const l of locate(doc, path)) {
      const m = l.fits ? (masked[k]?.[j++] ?? []) : [];
      if (m.length === 1) out = put(out, l.loc, 0, m[0]!);
      else if (keepUnlisted) out = put(out, l.loc, 0, null);
    }
  });
  return out;
}
