import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Span } from './source-text.ts';

/** A path into the policy document: map keys and list indexes, e.g. `['tables', 'patients', 'columns', 'mrn']`. */
export type PolicyPath = readonly (string | number)[];

/** Where one node of the document was written: the span of its key (in a map) and of its value. */
export interface NodeSpans {
  readonly key?: Span;
  readonly value?: Span;
}

export interface YamlProblem {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly path: PolicyPath;
  readonly span: Span;
}

export interface YamlTree {
  /** the document as plain data (maps are null-prototype objects with string keys) */
  readonly value: unknown;
  readonly spans: ReadonlyMap<string, NodeSpans>;
  readonly problems: readonly YamlProblem[];
  /** true when the YAML could not be read at all (syntax errors): nothing else is checked */
  readonly syntaxError: boolean;
}

/** Key order as written, for maps read by readYamlTree (JavaScript puts integer-like keys such as `2024` first). */
const keyOrder = new WeakMap<object, readonly string[]>();

/** The keys of a map from the policy in the order they were written. */
export function keysInOrder(map: Record<string, unknown>): string[] {
  return [...(keyOrder.get(map) ?? Object.keys(map))];
}

/** `[key, value]` pairs of a map from the policy in the order they were written. */
export function entriesInOrder(map: Record<string, unknown>): [string, unknown][] {
  return keysInOrder(map).map((k) => [k, map[k]]);
}

export function pathKey(path: PolicyPath): string {
  return JSON.stringify(path);
}

// bounds alias expansion ("billion laughs") far above any real policy
const MAX_NODES = 100_000;
// a policy is a few levels deep; this keeps recursion far from the stack limit
const MAX_DEPTH = 64;

/**
 * Reads YAML into plain data while recording, for every path, where its key and
 * value were written, so that a problem found later (by zod, by a transform, or
 * against the live catalog) is reported at the exact line and column.
 *
 * Written by hand over the `yaml` AST rather than `doc.toJS()` because toJS loses
 * positions and turns any map key (a number, a list) into a string silently.
 */
export function readYamlTree(text: string): YamlTree {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false });
  const problems: YamlProblem[] = [];
  const spans = new Map<string, NodeSpans>();

  for (const e of [...doc.errors, ...doc.warnings]) {
    const hint = e.code === 'DUPLICATE_KEY' ? 'remove or rename one of the two entries' : 'check the indentation and quoting of this line';
    problems.push({ code: 'POLICY_YAML_SYNTAX', message: yamlMessage(e.message), hint, path: [], span: { start: e.pos[0], end: e.pos[1] } });
  }
  if (problems.length > 0) return { value: undefined, spans, problems, syntaxError: true };

  let nodes = 0;
  const active = new Set<Node>();

  const convert = (node: unknown, path: PolicyPath, doc: Document.Parsed): unknown => {
    if (++nodes > MAX_NODES || path.length > MAX_DEPTH) throw new TooLarge(path, spanOf(node));
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) {
        problems.push({ code: 'POLICY_YAML_SYNTAX', message: `unknown alias *${node.source}`, path, span: spanOf(node) });
        return undefined;
      }
      if (active.has(target)) {
        problems.push({ code: 'POLICY_YAML_SYNTAX', message: `alias *${node.source} refers to a node that contains it`, path, span: spanOf(node) });
        return undefined;
      }
      return convert(target, path, doc);
    }
    if (isScalar(node)) return node.value;
    if (isSeq(node)) {
      active.add(node);
      const out = node.items.map((item, i) => {
        const itemPath = [...path, i];
        spans.set(pathKey(itemPath), { value: spanOf(item) });
        return convert(item, itemPath, doc);
      });
      active.delete(node);
      return out;
    }
    if (isMap(node)) {
      active.add(node);
      const out: Record<string, unknown> = Object.create(null);
      const order: string[] = [];
      keyOrder.set(out, order);
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const name = keyName(keyNode);
        const keySpan = spanOf(keyNode ?? pair.value);
        if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.value === '<<') {
          problems.push({
            code: 'POLICY_BAD_KEY',
            message: 'YAML merge keys (`<<`) are not supported',
            hint: 'write the entries out, or reuse a whole rule with an anchor and alias (`&name` … `*name`)',
            path,
            span: keySpan,
          });
          continue;
        }
        if (name === null) {
          problems.push({
            code: 'POLICY_BAD_KEY',
            message: isScalar(keyNode) ? 'a map key here must be a name, not null or empty' : 'a map key must be a plain name, not a list or map',
            hint: 'write the name as a plain or quoted string',
            path,
            span: keySpan,
          });
          continue;
        }
        const childPath = [...path, name];
        order.push(name);
        spans.set(pathKey(childPath), { key: keySpan, value: spanOf(pair.value ?? keyNode) });
        out[name] = pair.value === null ? null : convert(pair.value, childPath, doc);
      }
      active.delete(node);
      return out;
    }
    return node === null || node === undefined ? null : undefined;
  };

  let value: unknown;
  try {
    value = doc.contents === null ? null : convert(doc.contents, [], doc);
  } catch (e) {
    if (!(e instanceof TooLarge)) throw e;
    problems.push({
      code: 'POLICY_TOO_LARGE',
      message: e.path.length > MAX_DEPTH ? `the policy nests more than ${MAX_DEPTH} levels deep` : `the policy expands to more than ${MAX_NODES} nodes (through aliases)`,
      hint: 'a policy is a few levels deep: tables, columns, rules and their parameters',
      path: e.path.slice(0, MAX_DEPTH),
      span: e.span,
    });
    value = undefined;
  }
  if (doc.contents !== null) spans.set(pathKey([]), { value: spanOf(doc.contents) });
  return { value, spans, problems, syntaxError: false };
}

class TooLarge extends Error {
  constructor(
    readonly path: PolicyPath,
    readonly span: Span,
  ) {
    super('too large');
  }
}

/**
 * A map key as a name. Scalars that YAML reads as numbers or booleans (`007:`,
 * `true:`) keep their text as written, because a table called `007` is a valid
 * PostgreSQL identifier; null, empty and non-scalar keys are refused.
 */
function keyName(node: Node | null): string | null {
  if (!isScalar(node)) return null;
  if (typeof node.value === 'string') return node.value === '' ? null : node.value;
  if (typeof node.value === 'number' || typeof node.value === 'boolean' || typeof node.value === 'bigint') {
    return node.source ?? String(node.value);
  }
  return null;
}

function spanOf(node: unknown): Span {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? { start: range[0], end: range[1] } : { start: 0, end: 0 };
}

// yaml's messages end with a position and source excerpt when prettyErrors is on; we render our own
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return `YAML: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}
