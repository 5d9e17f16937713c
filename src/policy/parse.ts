import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { policyError } from '../errors.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import { checkRowFilter, type RowFilterProblem } from '../sql/row-filter.ts';
import { didYouMean } from './closest-name.ts';
import { deepFreeze } from '../deep-freeze.ts';
import { sha256Hex } from '../sha256.ts';
import { isPlainMap, parseRule, valueAt } from './parse-rule.ts';
import { attachSourceMap, formatPath, PolicySourceMap, ProblemList } from './policy-source-map.ts';
import { allowedKeys, identifierProblem, KEY_NAME_PATTERN, policyInputSchema, SUBJECT_VIA_NONE } from './policy-input-schema.ts';
import type { Policy, PolicyColumn, PolicyRole, PolicyTable, Rule, SourcePosition } from './policy.ts';
import { SourceText, type Span } from './source-text.ts';
import { entriesInOrder, keysInOrder, readYamlTree, type PolicyPath, type YamlTree } from './yaml-tree.ts';
import { issueText } from './zod-issue-text.ts';

const inputSchema = policyInputSchema(z.unknown());

/** Schemas pgmask itself owns; a policy can neither mask into nor out of them. */
const PGMASK_SCHEMAS = ['pgmask', 'pgmask_private'];
/**
 * Role names refused for masking roles and members (compared case-insensitively).
 * PostgreSQL reserves `public` and `none`; quoted `"PUBLIC"` or `"current_user"`
 * would be distinct roles, but read as the keywords in any hand-written GRANT.
 */
const RESERVED_ROLES = ['public', 'none', 'current_user', 'current_role', 'session_user'];

/**
 * Parses a policy file (ARCHITECTURE.md "Policy format (version 1)") into a frozen
 * Policy. Untrusted text is parsed once: every problem is collected (YAML syntax,
 * unknown or misspelt keys, wrong types, unknown transforms, bad parameters, a
 * row filter that could escape its `WHERE (…)`), each with its dotted path and
 * `file:line:column` with a caret excerpt, then thrown together as one
 * POLICY_INVALID error (exit code 3).
 *
 * @example
 *   const policy = parsePolicy(readFileSync('pgmask.yaml', 'utf8'), 'pgmask.yaml', registry);
 *   policy.tables[0].columns[1].rule.display // '{ pseudonymize: { prefix: "MRN-" } }'
 */
export function parsePolicy(text: string, file: string, registry: TransformRegistry): Policy {
  return parsePolicyDocument(readPolicyDocument(text, file), registry);
}

/** A policy file's YAML, read once: the shell looks up its `transforms:` directory (which decides the registry) before parsing it. */
export interface PolicyDocument {
  readonly file: string;
  readonly text: string;
  readonly tree: YamlTree;
}

export function readPolicyDocument(text: string, file: string): PolicyDocument {
  return { file, text, tree: readYamlTree(text) };
}

/** The `transforms:` directory the policy names (a string as written), or null; a document that does not read names none. */
export function declaredTransformsDir(document: PolicyDocument): string | null {
  const raw = document.tree.value;
  return isPlainMap(raw) && typeof raw['transforms'] === 'string' ? raw['transforms'] : null;
}

export function parsePolicyDocument(document: PolicyDocument, registry: TransformRegistry): Policy {
  const { file, text, tree } = document;
  const source = new SourceText(file, text);
  const sourceMap = new PolicySourceMap(source, tree.spans);
  const problems = new ProblemList(sourceMap);
  for (const p of tree.problems) problems.add(p);
  if (tree.syntaxError) throw invalid(file, problems);

  const raw = tree.value;
  if (!isPlainMap(raw)) {
    if (problems.size === 0) {
      problems.add({
        code: raw === null || raw === undefined ? 'POLICY_EMPTY' : 'POLICY_INVALID_VALUE',
        message: raw === null || raw === undefined ? 'the policy file is empty' : 'a policy is a map of keys (version, tables, …), not a single value or a list',
        hint: 'start from the example in the README, or let `pgmask scan` draft one',
        path: [],
      });
    }
    throw invalid(file, problems);
  }

  const result = inputSchema.safeParse(raw, { error: issueText });
  if (!result.success) {
    for (const issue of result.error.issues) reportShapeIssue(issue, raw, problems);
  }

  const keys = declaredKeys(raw, problems);
  const sections = rawSections(raw, problems);
  checkSchemas(sections, problems);
  checkRoles(raw, 'roles', problems);
  checkRoles(raw, 'brokers', problems);
  const rules = new Map<string, Rule>();
  for (const section of sections) checkTables(section, rules, { registry, keys, problems });

  if (problems.size > 0 || !result.success) throw invalid(file, problems);

  const data = result.data;
  const position = (path: PolicyPath): SourcePosition => {
    const { line, column } = sourceMap.locate(path, 'key');
    return { line, column };
  };
  const rolesOf = (section: 'roles' | 'brokers'): PolicyRole[] => {
    const rawRoles = isPlainMap(raw[section]) ? raw[section] : {};
    return keysInOrder(rawRoles).map((name) => {
      const role = rawRoles[name];
      const members = isPlainMap(role) && Array.isArray(role.members) ? (role.members as string[]) : [];
      return { name, members: [...members], position: position([section, name]) };
    });
  };
  const roles = rolesOf('roles');
  const brokers = rolesOf('brokers');
  const tables: PolicyTable[] = sections.flatMap((section) => {
    const rawTables = section.tables as Record<string, Record<string, unknown>>;
    return keysInOrder(rawTables).map((name) => {
      const table = rawTables[name]!;
      const path = [...section.prefix, 'tables', name];
      const rawColumns = table.columns as Record<string, unknown>;
      const columns: PolicyColumn[] = keysInOrder(rawColumns).map((column) => ({
        name: column,
        rule: rules.get(ruleId(path, column))!,
        position: position([...path, 'columns', column]),
      }));
      return {
        name,
        sourceSchema: section.source!,
        maskedSchema: section.masked!,
        path,
        filter: typeof table.filter === 'string' ? table.filter : null,
        subject: typeof table.subject === 'string' ? table.subject : null,
        materialize: typeof table.materialize === 'boolean' ? table.materialize : data.materialize,
        quasiIdentifiers: Array.isArray(table.quasi_identifiers) ? [...(table.quasi_identifiers as string[])] : [],
        sensitive: Array.isArray(table.sensitive) ? [...(table.sensitive as string[])] : [],
        filterAppliesTo: table.filter_applies_to === 'rows' ? 'rows' : 'subject',
        subjectVia: subjectVia(table.subject_via),
        rowOrder: table.row_order === 'storage' ? 'storage' : 'keyed',
        columns,
        position: position(path),
      };
    });
  });
  const schemas = sections.map((s) => ({ source: s.source!, masked: s.masked!, path: s.schemaPath }));

  const policy: Policy = deepFreeze({
    version: 1 as const,
    sourceSchema: schemas[0]!.source,
    maskedSchema: schemas[0]!.masked,
    schemas,
    runtime: data.runtime,
    unlistedColumns: data.unlisted_columns,
    subject: data.subject ?? null,
    keys: [...data.keys],
    roles,
    brokers,
    tables,
    citus: data.citus ?? null,
    transformsDir: data.transforms === undefined ? null : resolve(dirname(file), data.transforms),
    hash: sha256Hex(text),
    file,
    text,
  });
  attachSourceMap(policy, sourceMap);
  return policy;
}

function subjectVia(value: unknown): readonly string[] | 'none' | null {
  if (value === SUBJECT_VIA_NONE) return 'none';
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? [...(value as string[])] : null;
}

function invalid(file: string, problems: ProblemList) {
  const details = problems.details();
  const first = details[0];
  const message =
    details.length === 1 && first
      ? `invalid policy ${file}: ${first.message}`
      : `invalid policy ${file}: ${details.length} problems`;
  return policyError(message, details);
}

function reportShapeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>, problems: ProblemList): void {
  const path = issue.path.map((s) => (typeof s === 'number' ? s : String(s)));
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(path);
    for (const key of issue.keys) {
      problems.add({
        code: 'POLICY_UNKNOWN_KEY',
        message: `unknown key \`${key}\`${path.length ? ` in \`${formatPath(path)}\`` : ''}`,
        hint: didYouMean(key, allowed) ?? `allowed here: ${allowed.join(', ')}`,
        path: [...path, key],
        part: 'key',
      });
    }
    return;
  }
  const last = path[path.length - 1];
  if (valueAt(raw, path) === undefined && typeof last === 'string') {
    const parent = path.slice(0, -1);
    problems.add({
      code: 'POLICY_MISSING_KEY',
      message: parent.length ? `\`${formatPath(parent)}\` needs \`${last}\`` : `missing required key \`${last}\``,
      hint: MISSING_HINTS[last] ?? `add \`${last}:\``,
      path,
    });
    return;
  }
  const value = valueAt(raw, path);
  // a misspelt keyword (`row_order: keyd`) gets the closest allowed one
  const hint = issue.code === 'invalid_value' && typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : undefined;
  problems.add({ code: 'POLICY_INVALID_VALUE', message: `\`${formatPath(path)}\` ${issue.message}`, hint, path, part: 'value' });
}

const MISSING_HINTS: Record<string, string> = {
  version: 'add `version: 1` as the first line',
  tables: 'add `tables:` with the source tables to mask',
  columns: 'add `columns:` with one rule per column of the table',
};

/** The key names rules may use (only the well-formed ones); also reports a name listed twice. */
function declaredKeys(raw: Record<string, unknown>, problems: ProblemList): string[] {
  if (raw.keys === undefined) return ['default'];
  if (!Array.isArray(raw.keys)) return [];
  const seen = new Set<string>();
  raw.keys.forEach((k: unknown, i: number) => {
    if (typeof k !== 'string' || !KEY_NAME_PATTERN.test(k)) return;
    if (seen.has(k)) {
      problems.add({ code: 'POLICY_DUPLICATE_NAME', message: `key \`${k}\` is listed twice in \`keys\``, hint: 'list each key name once', path: ['keys', i], part: 'value' });
    }
    seen.add(k);
  });
  return [...seen];
}

/** One source schema of the file with its tables: the top-level `tables`, or one entry of `schemas`. */
interface RawSection {
  /** null when it is not a string (reported by the shape check) */
  readonly source: string | null;
  readonly masked: string | null;
  /** the path of the map holding `tables`: `[]` or `['schemas', source]` */
  readonly prefix: readonly string[];
  readonly schemaPath: readonly string[];
  readonly maskedPath: readonly string[];
  readonly tables: unknown;
}

/** The file's source schemas: top-level `source_schema`/`masked_schema`/`tables`, or `schemas:` (one or the other). */
function rawSections(raw: Record<string, unknown>, problems: ProblemList): RawSection[] {
  if (raw.schemas === undefined) {
    if (raw.tables === undefined) {
      problems.add({ code: 'POLICY_MISSING_KEY', message: 'missing required key `tables`', hint: 'add `tables:` with the source tables to mask (or `schemas:` for several source schemas)', path: ['tables'] });
    }
    return [
      {
        source: typeof raw.source_schema === 'string' ? raw.source_schema : raw.source_schema === undefined ? 'public' : null,
        masked: typeof raw.masked_schema === 'string' ? raw.masked_schema : raw.masked_schema === undefined ? 'masked' : null,
        prefix: [],
        schemaPath: ['source_schema'],
        maskedPath: raw.masked_schema === undefined ? ['source_schema'] : ['masked_schema'],
        tables: raw.tables,
      },
    ];
  }
  for (const key of ['tables', 'source_schema', 'masked_schema'] as const) {
    if (raw[key] === undefined) continue;
    problems.add({
      code: 'POLICY_CONFLICTING_KEYS',
      message: `\`${key}\` and \`schemas\` cannot both be given: with \`schemas\`, each source schema lists its own masked_schema and tables`,
      hint: `move \`${key}\` into an entry of \`schemas\` (schemas: { <source schema>: { masked_schema: …, tables: … } })`,
      path: [key],
    });
  }
  if (!isPlainMap(raw.schemas)) return [];
  if (Object.keys(raw.schemas).length === 0) {
    problems.add({ code: 'POLICY_NO_TABLES', message: '`schemas` lists no schema, so nothing would be masked', hint: 'add a source schema with its masked_schema and tables', path: ['schemas'] });
  }
  return entriesInOrder(raw.schemas).map(([source, section]) => {
    const s = isPlainMap(section) ? section : {};
    return {
      source,
      masked: typeof s.masked_schema === 'string' ? s.masked_schema : null,
      prefix: ['schemas', source],
      schemaPath: ['schemas', source],
      maskedPath: ['schemas', source, 'masked_schema'],
      tables: s.tables,
    };
  });
}

function checkSchemas(sections: readonly RawSection[], problems: ProblemList): void {
  const sources = new Set(sections.flatMap((s) => (s.source === null ? [] : [s.source])));
  const maskedSeen = new Map<string, string>();
  for (const section of sections) {
    const { source, masked } = section;
    if (source !== null && section.prefix.length > 0) {
      const problem = identifierProblem(source);
      if (problem) problems.add({ code: 'POLICY_BAD_NAME', message: `schema name \`${source}\` ${problem}`, path: section.schemaPath });
    }
    if (source !== null && PGMASK_SCHEMAS.includes(source)) {
      problems.add({ code: 'POLICY_RESERVED_NAME', message: `schema \`${source}\` belongs to pgmask and cannot be a source schema`, hint: 'name the schema of your raw tables', path: section.schemaPath, part: section.prefix.length > 0 ? 'key' : 'value' });
    }
    if (masked === null) continue;
    if (PGMASK_SCHEMAS.includes(masked) || masked === 'information_schema' || masked.startsWith('pg_')) {
      problems.add({
        code: 'POLICY_RESERVED_NAME',
        message: PGMASK_SCHEMAS.includes(masked) ? `schema \`${masked}\` belongs to pgmask and cannot hold masked views` : `schema name \`${masked}\` is reserved by PostgreSQL`,
        hint: 'choose another masked_schema, e.g. `masked`',
        path: section.maskedPath,
        part: 'value',
      });
    } else if (sources.has(masked)) {
      problems.add({
        code: 'POLICY_SAME_SCHEMA',
        message: masked === source ? `masked_schema and source_schema are both \`${masked}\`: masked views need a schema of their own` : `masked_schema \`${masked}\` is also a source schema of this policy: masked views need a schema of their own`,
        hint: 'set masked_schema to another schema, e.g. `masked`',
        path: section.maskedPath,
        part: 'value',
      });
    } else if (maskedSeen.has(masked)) {
      problems.add({
        code: 'POLICY_DUPLICATE_NAME',
        message: `source schemas \`${maskedSeen.get(masked)}\` and \`${source}\` are both masked into \`${masked}\``,
        hint: 'give each source schema a masked_schema of its own (table names may repeat across source schemas)',
        path: section.maskedPath,
        part: 'value',
      });
    }
    maskedSeen.set(masked, source ?? '');
  }
}

function roleNameProblem(name: string): string | null {
  const lower = name.toLowerCase();
  if (lower === 'pgmask_owner') return 'is the role that owns the masked views';
  if (name === 'public' || name === 'none') return 'is reserved by PostgreSQL';
  if (RESERVED_ROLES.includes(lower)) return `reads as the SQL keyword ${lower.toUpperCase()} in GRANT statements`;
  if (name.startsWith('pg_')) return 'starts with pg_, which PostgreSQL reserves';
  return identifierProblem(name);
}

function checkRoles(raw: Record<string, unknown>, section: 'roles' | 'brokers', problems: ProblemList): void {
  const section_ = raw[section];
  if (!isPlainMap(section_)) return;
  for (const [name, role] of entriesInOrder(section_)) {
    const problem = roleNameProblem(name);
    if (problem) problems.add({ code: 'POLICY_RESERVED_NAME', message: `role name \`${name}\` ${problem}`, hint: section === 'roles' ? 'name the masking role after its audience, e.g. `analyst`' : 'name the broker role after its task, e.g. `honest_broker`', path: [section, name] });
    if (section === 'brokers' && isPlainMap(raw.roles) && Object.hasOwn(raw.roles, name)) {
      problems.add({ code: 'POLICY_BROKER_IS_MASKING_ROLE', message: `\`${name}\` is both a masking role and a broker: every analyst in it could reveal tokens`, hint: 'give the broker a role of its own, e.g. `honest_broker`', path: [section, name] });
    }
    if (!isPlainMap(role) || !Array.isArray(role.members)) continue;
    const seen = new Set<string>();
    role.members.forEach((member: unknown, i: number) => {
      if (typeof member !== 'string' || member === '') return;
      const path = [section, name, 'members', i];
      const memberProblem = roleNameProblem(member);
      if (memberProblem && identifierProblem(member) === null) {
        problems.add({ code: 'POLICY_RESERVED_NAME', message: `member \`${member}\` ${memberProblem}`, hint: 'list existing login roles (the analysts or BI service accounts)', path, part: 'value' });
      } else if (member === name) {
        problems.add({ code: 'POLICY_INVALID_VALUE', message: `role \`${name}\` cannot be a member of itself`, path, part: 'value' });
      } else if (seen.has(member)) {
        problems.add({ code: 'POLICY_DUPLICATE_NAME', message: `member \`${member}\` is listed twice`, hint: 'list each member once', path, part: 'value' });
      }
      seen.add(member);
    });
  }
}

function ruleId(tablePath: readonly string[], column: string): string {
  return JSON.stringify([...tablePath, column]);
}

/** Checks table and column names, row filters and every rule of one source schema; adds the rules that parsed to `rules`. */
function checkTables(section: RawSection, rules: Map<string, Rule>, ctx: Parameters<typeof parseRule>[2]): void {
  const { problems } = ctx;
  if (!isPlainMap(section.tables)) return;
  if (Object.keys(section.tables).length === 0) {
    problems.add({ code: 'POLICY_NO_TABLES', message: `\`${formatPath([...section.prefix, 'tables'])}\` lists no table, so nothing would be masked`, hint: 'add the source tables to mask under `tables:`', path: [...section.prefix, 'tables'] });
  }
  for (const [name, table] of entriesInOrder(section.tables)) {
    const tablePath = [...section.prefix, 'tables', name];
    const nameProblem = identifierProblem(name);
    if (nameProblem) problems.add({ code: 'POLICY_BAD_NAME', message: `table name \`${name}\` ${nameProblem}`, path: tablePath });
    if (!isPlainMap(table)) continue;
    if (typeof table.filter === 'string' && table.filter !== '') {
      const problem = checkRowFilter(table.filter);
      if (problem) {
        const filterPath = [...tablePath, 'filter'];
        problems.add({
          code: 'POLICY_BAD_FILTER',
          message: `the row filter of \`${name}\` ${problem.message} (at character ${problem.offset + 1})`,
          hint: 'a filter is one SQL boolean expression over the table\'s columns, e.g. "NOT research_opt_out"',
          path: filterPath,
          part: 'value',
          span: filterSpan(ctx.problems.source, ctx.problems.span(filterPath, 'value'), table.filter, problem),
        });
      }
    }
    if (!isPlainMap(table.columns)) continue;
    for (const [column, rule] of entriesInOrder(table.columns)) {
      const columnPath = [...tablePath, 'columns', column];
      const columnProblem = identifierProblem(column);
      if (columnProblem) problems.add({ code: 'POLICY_BAD_NAME', message: `column name \`${column}\` ${columnProblem}`, path: columnPath });
      const parsed = parseRule(rule, columnPath, ctx);
      if (parsed) rules.set(ruleId(tablePath, column), parsed);
    }
  }
}

/**
 * The span of the offending characters inside a filter when the YAML scalar
 * holds the filter verbatim (plain, or quoted without escapes); otherwise the
 * whole scalar.
 */
function filterSpan(source: SourceText, value: Span, filter: string, problem: RowFilterProblem): Span {
  const written = source.text.slice(value.start, value.end);
  const quoted = /^["']/.test(written) && written.slice(1, -1) === filter;
  if (written !== filter && !quoted) return value;
  const start = value.start + (quoted ? 1 : 0) + problem.offset;
  return { start, end: start + problem.length };
}
