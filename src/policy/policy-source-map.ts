import type { ErrorDetail } from '../errors.ts';
import type { Policy, SourcePosition } from './policy.ts';
import { SourceText, type SourceLocation, type Span } from './source-text.ts';
import { pathKey, type NodeSpans, type PolicyPath } from './yaml-tree.ts';

/** Which part of a map entry a problem is about: the name (`mrn:`) or what follows it. */
export type NodePart = 'key' | 'value';

/**
 * Where every node of a parsed policy was written. Kept beside the frozen Policy
 * (not in it) so the Policy stays plain data, while validation against the
 * catalog still reports the exact line and column of the offending node.
 */
export class PolicySourceMap {
  readonly source: SourceText;
  readonly #spans: ReadonlyMap<string, NodeSpans>;

  constructor(source: SourceText, spans: ReadonlyMap<string, NodeSpans>) {
    this.source = source;
    this.#spans = spans;
  }

  has(path: PolicyPath): boolean {
    return this.#spans.has(pathKey(path));
  }

  /**
   * The span of a node, or of the nearest written ancestor when the node was not
   * written (a missing key is reported at the name of the map that lacks it).
   */
  span(path: PolicyPath, part: NodePart = 'key'): Span {
    const exact = this.#spans.get(pathKey(path));
    if (exact) {
      const span = part === 'key' ? (exact.key ?? exact.value) : (exact.value ?? exact.key);
      if (span) return span;
    }
    for (let n = path.length - 1; n >= 1; n--) {
      const ancestor = this.#spans.get(pathKey(path.slice(0, n)));
      const span = ancestor?.key ?? ancestor?.value;
      if (span) return span;
    }
    return this.source.wordAt(firstContentOffset(this.source.text));
  }

  locate(path: PolicyPath, part: NodePart = 'key'): SourceLocation {
    return this.source.locate(this.span(path, part));
  }

  /** A location from a recorded line and column (for a Policy built without a source map). */
  locateAt(position: SourcePosition): SourceLocation {
    return this.source.locate(this.source.wordAt(this.source.offsetOf(position.line, position.column)));
  }
}

const maps = new WeakMap<Policy, PolicySourceMap>();

export function attachSourceMap(policy: Policy, map: PolicySourceMap): void {
  maps.set(policy, map);
}

/** The source map recorded when the policy was parsed; a policy built by hand gets one without spans. */
export function policySourceMap(policy: Policy): PolicySourceMap {
  let map = maps.get(policy);
  if (!map) {
    map = new PolicySourceMap(new SourceText(policy.file, policy.text), new Map());
    maps.set(policy, map);
  }
  return map;
}

/**
 * `file:line:column` and excerpt of a node of a parsed policy, for errors found
 * after parsing (the planner uses it too).
 *
 * @example
 *   policyLocation(policy, ['tables', 'patients', 'columns', 'mrn'])
 *   // { file: 'pgmask.yaml', line: 14, column: 7, excerpt: '      mrn: …\n      ^^^' }
 */
export function policyLocation(policy: Policy, path: PolicyPath, part: NodePart = 'key'): SourceLocation {
  return policySourceMap(policy).locate(path, part);
}

/**
 * A path as users read it: `tables.patients.columns.mrn`; names that are not
 * plain words are quoted (`tables["my table"].columns["a.b"]`), list items indexed.
 */
export function formatPath(path: PolicyPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function firstContentOffset(text: string): number {
  const m = /[^\s]/.exec(text);
  return m ? m.index : 0;
}

/** Collects problems as ErrorDetail entries located in the policy file. */
export class ProblemList {
  readonly #map: PolicySourceMap;
  readonly #details: { detail: ErrorDetail; offset: number; seq: number }[] = [];

  constructor(map: PolicySourceMap) {
    this.#map = map;
  }

  get source(): SourceText {
    return this.#map.source;
  }

  span(path: PolicyPath, part: NodePart = 'key'): Span {
    return this.#map.span(path, part);
  }

  add(p: {
    code: string;
    message: string;
    hint?: string | undefined;
    path: PolicyPath;
    part?: NodePart;
    severity?: 'error' | 'warning';
    span?: Span;
    /** used when the path has no recorded span (a Policy built by hand) */
    position?: SourcePosition;
  }): void {
    let span = p.span;
    if (!span && p.position && !this.#map.has(p.path)) {
      span = this.#map.source.wordAt(this.#map.source.offsetOf(p.position.line, p.position.column));
    }
    span ??= this.#map.span(p.path, p.part ?? 'key');
    const detail: ErrorDetail = {
      code: p.code,
      severity: p.severity ?? 'error',
      message: p.message,
      ...(p.hint === undefined ? {} : { hint: p.hint }),
      ...(p.path.length === 0 ? {} : { path: formatPath(p.path) }),
      location: this.#map.source.locate(span),
    };
    this.#details.push({ detail, offset: span.start, seq: this.#details.length });
  }

  get size(): number {
    return this.#details.length;
  }

  /** every problem, in file order (stable for problems at the same place) */
  details(): ErrorDetail[] {
    return [...this.#details].sort((a, b) => a.offset - b.offset || a.seq - b.seq).map((d) => d.detail);
  }
}
