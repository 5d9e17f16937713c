import { z } from 'zod';
import type { NestedParser, TransformDefinition } from '../transforms/transform.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import { closestName, didYouMean } from './closest-name.ts';
import { displayRule } from './display-rule.ts';
import type { ProblemList } from './policy-source-map.ts';
import type { Rule } from './policy.ts';
import { entriesInOrder, keysInOrder, type PolicyPath } from './yaml-tree.ts';
import { describeValue, issueText } from './zod-issue-text.ts';

export interface RuleContext {
  readonly registry: TransformRegistry;
  /** key names declared in `keys:` (the first is the default) */
  readonly keys: readonly string[];
  readonly problems: ProblemList;
}

const RULE_HINT = 'write a transform name (e.g. `keep`, `redact`, `pseudonymize`) or a one-key map such as `{ pseudonymize: { prefix: "MRN-" } }`';

/**
 * Parses one column rule, `name` or `{ name: { params } }`, reporting every
 * problem at the node that causes it. `key:` is taken out of the parameters (it
 * is the policy's business, not the transform's) and must name a declared key;
 * the remaining parameters are validated by the transform's own zod schema.
 * Returns null when the rule has errors.
 */
export function parseRule(raw: unknown, path: PolicyPath, ctx: RuleContext): Rule | null {
  const written = ruleAsWritten(raw, path, ctx);
  if (written === null) return null;
  const { name, transform } = written;
  const key = ruleKey(written, ctx);
  const params = ruleParams(written, path, ctx);
  if (key === null || params === null) return null;
  const nested = transform.parseNested ? parseNestedRules(written, params, ctx) : params;
  if (nested === null) return null;
  return { transform: name, params: nested, key, display: displayRule(name, written.params) };
}

/** A rule's transform, its written parameters (key included) and where its name is written. */
interface WrittenRule {
  readonly name: string;
  readonly transform: TransformDefinition<any>;
  readonly params: Record<string, unknown>;
  readonly namePath: PolicyPath;
}

/** Phase 1: the rule's shape (a name, or a one-key map of parameters) and a transform of that name. */
function ruleAsWritten(raw: unknown, path: PolicyPath, ctx: RuleContext): WrittenRule | null {
  const { problems } = ctx;
  let name: string;
  let writtenParams: unknown;
  let namePath: PolicyPath;
  if (typeof raw === 'string') {
    name = raw;
    writtenParams = undefined;
    namePath = path;
  } else if (isPlainMap(raw)) {
    const names = keysInOrder(raw);
    if (names.length !== 1) {
      problems.add({
        code: 'POLICY_INVALID_RULE',
        message:
          names.length === 0
            ? 'an empty map is not a rule'
            : `a rule map has exactly one key, the transform name; this one has ${names.length} (${names.join(', ')})`,
        hint: RULE_HINT,
        path,
        part: 'value',
      });
      return null;
    }
    name = names[0]!;
    writtenParams = raw[name];
    namePath = [...path, name];
  } else {
    problems.add({
      code: raw === null || raw === undefined ? 'POLICY_MISSING_RULE' : 'POLICY_INVALID_RULE',
      message:
        raw === null || raw === undefined
          ? `column \`${String(path[path.length - 1])}\` has no rule`
          : `a rule must be a transform name or a one-key map, not ${describeValue(raw)}`,
      hint: RULE_HINT,
      path,
      part: raw === null || raw === undefined ? 'key' : 'value',
    });
    return null;
  }

  const transform = ctx.registry.get(name);
  if (!transform) {
    problems.add({
      code: 'POLICY_UNKNOWN_TRANSFORM',
      message: `unknown transform \`${name}\``,
      hint: didYouMean(name, ctx.registry.names()) ?? `the transforms are: ${ctx.registry.names().join(', ')}`,
      path: namePath,
      part: namePath === path ? 'value' : 'key',
    });
    return null;
  }

  if (writtenParams !== undefined && writtenParams !== null && !isPlainMap(writtenParams)) {
    problems.add({
      code: 'POLICY_INVALID_PARAMS',
      message: `the parameters of \`${name}\` must be a map, not ${describeValue(writtenParams)}`,
      hint: `write \`{ ${name}: { parameter: value } }\`${paramNames(transform).length ? ` (parameters: ${paramNames(transform).join(', ')})` : ''}`,
      path: namePath,
      part: 'value',
    });
    return null;
  }
  return { name, transform, params: isPlainMap(writtenParams) ? writtenParams : {}, namePath };
}

/** Phase 2: the key the rule uses, `key:` if written (a declared key, on a transform that takes one), else the default; null after a problem. */
function ruleKey(rule: WrittenRule, ctx: RuleContext): string | null {
  const { name, transform, params: written, namePath } = rule;
  if (!('key' in written)) return ctx.keys[0] ?? 'default';
  const keyValue = written.key;
  const keyPath = [...namePath, 'key'];
  if (!transform.usesKey) {
    ctx.problems.add({ code: 'POLICY_KEY_NOT_ALLOWED', message: `\`${name}\` takes no key`, hint: 'remove `key:` from this rule', path: keyPath, part: 'key' });
  } else if (typeof keyValue !== 'string') {
    ctx.problems.add({ code: 'POLICY_INVALID_PARAMS', message: `\`key\` must be a key name, not ${describeValue(keyValue)}`, hint: `declared keys: ${ctx.keys.join(', ')}`, path: keyPath, part: 'value' });
  } else if (!ctx.keys.includes(keyValue)) {
    ctx.problems.add({
      code: 'POLICY_UNDECLARED_KEY',
      message: `key \`${keyValue}\` is not declared in \`keys\``,
      hint: didYouMean(keyValue, ctx.keys) ?? `add it to \`keys: [${[...ctx.keys, keyValue].join(', ')}]\``,
      path: keyPath,
      part: 'value',
    });
  } else {
    return keyValue;
  }
  return null;
}

/** Phase 3: the parameters but `key`, through the transform's zod schema; null after a problem. */
function ruleParams(rule: WrittenRule, path: PolicyPath, ctx: RuleContext): Record<string, unknown> | null {
  const { name, transform, namePath } = rule;
  // null prototype: a parameter named `__proto__` stays a parameter (and is refused as unknown)
  const params: Record<string, unknown> = Object.create(null);
  for (const [k, v] of entriesInOrder(rule.params)) if (k !== 'key') params[k] = v;
  let parsed: ReturnType<typeof transform.params.safeParse>;
  try {
    parsed = transform.params.safeParse(params, { error: issueText });
  } catch (e) {
    // a custom transform's refinement may throw instead of reporting an issue
    ctx.problems.add({
      code: 'POLICY_INVALID_PARAMS',
      message: `checking the parameters of \`${name}\` failed: ${e instanceof Error ? e.message : String(e)}`,
      hint: 'fix the parameters, or the params schema of the transform',
      path: namePath,
      part: namePath === path ? 'value' : 'key',
    });
    return null;
  }
  if (parsed.success) return parsed.data as Record<string, unknown>;
  // `{ max_dayz: 3 }` is one mistake: report the misspelt name, not also the missing `max_days`
  const suggested = new Set(
    parsed.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => closestName(k, paramNames(transform))) : [])),
  );
  for (const issue of parsed.error.issues) {
    const missing = issue.path.length === 1 && valueAt(params, [segment(issue.path[0]!)]) === undefined;
    if (missing && suggested.has(String(issue.path[0]))) continue;
    reportParamIssue(issue, transform, namePath, namePath === path ? 'value' : 'key', params, ctx);
  }
  return null;
}

/** Phase 4: rules inside the parameters (json paths), each parsed and reported where it is written. */
function parseNestedRules(rule: WrittenRule, params: Record<string, unknown>, ctx: RuleContext): Record<string, unknown> | null {
  const { namePath } = rule;
  const parser: NestedParser = {
    rule: (raw, at) => {
      const r = parseRule(raw, [...namePath, ...at], ctx);
      return r === null ? null : { transform: r.transform, params: r.params, key: r.key };
    },
    problem: (p) => ctx.problems.add({ code: p.code, message: p.message, hint: p.hint, path: [...namePath, ...p.at], part: p.part }),
    transform: (n) => ctx.registry.get(n),
  };
  return rule.transform.parseNested!(params, parser);
}

function reportParamIssue(
  issue: z.core.$ZodIssue,
  transform: TransformDefinition<any>,
  namePath: PolicyPath,
  namePart: 'key' | 'value',
  params: Record<string, unknown>,
  ctx: RuleContext,
): void {
  const name = transform.name;
  if (issue.code === 'unrecognized_keys') {
    const known = paramNames(transform);
    for (const param of issue.keys) {
      ctx.problems.add({
        code: 'POLICY_UNKNOWN_PARAM',
        message: `\`${name}\` has no parameter \`${param}\``,
        hint: didYouMean(param, known) ?? (known.length ? `its parameters are: ${known.join(', ')}` : `\`${name}\` takes no parameters`),
        path: [...namePath, ...issue.path.map(segment), param],
        part: 'key',
      });
    }
    return;
  }
  const paramPath = issue.path.map(segment);
  if (paramPath.length === 0) {
    ctx.problems.add({ code: 'POLICY_INVALID_PARAMS', message: `\`${name}\` parameters: ${issue.message}`, path: namePath, part: 'value' });
    return;
  }
  const missing = valueAt(params, paramPath) === undefined;
  ctx.problems.add({
    code: missing ? 'POLICY_MISSING_PARAM' : 'POLICY_INVALID_PARAMS',
    message: missing ? `\`${name}\` needs parameter \`${paramPath.join('.')}\`` : `\`${name}\` parameter \`${paramPath.join('.')}\` ${issue.message}`,
    hint: missing ? paramDescription(transform, String(paramPath[0])) : undefined,
    path: missing ? namePath : [...namePath, ...paramPath],
    part: missing ? namePart : 'value',
  });
}

/** Top-level parameter names of a transform (from its zod object schema), plus `key` when it takes one. */
export function paramNames(transform: TransformDefinition<any>): string[] {
  const names = transform.params instanceof z.ZodObject ? Object.keys(transform.params.shape) : [];
  return transform.usesKey ? [...names, 'key'] : names;
}

function paramDescription(transform: TransformDefinition<any>, param: string): string | undefined {
  if (!(transform.params instanceof z.ZodObject)) return undefined;
  const schema = (transform.params.shape as Record<string, z.ZodType>)[param];
  const description = schema?.description;
  return description ? `\`${param}\`: ${description}` : undefined;
}

function segment(s: PropertyKey): string | number {
  return typeof s === 'number' ? s : String(s);
}

/** The value at a path inside parsed YAML, or undefined. */
export function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const s of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

export function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}
