import { z } from 'zod';

/** PostgreSQL truncates longer names (NAMEDATALEN - 1 bytes), which would silently name another object. */
export const MAX_IDENTIFIER_BYTES = 63;

export const KEY_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

/** Problems with a name used as a PostgreSQL identifier; any other character is fine, as every name is quoted. */
export function identifierProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.includes('\u0000')) return 'must not contain a NUL character';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) return `is ${bytes} bytes long; PostgreSQL names are at most ${MAX_IDENTIFIER_BYTES} bytes`;
  return null;
}

export const identifier = z
  .string()
  .min(1, { error: 'must not be empty' })
  .superRefine((value, ctx) => {
    const problem = value.length === 0 ? null : identifierProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** `row_order` values: keyed pseudorandom order (default), or storage order accepted as a reviewed risk. */
export const ROW_ORDERS = ['keyed', 'storage'] as const;
/** `filter_applies_to` values: a filter that removes a subject (cascades through foreign keys, default), or only rows. */
export const FILTER_SCOPES = ['subject', 'rows'] as const;
/** `subject_via: none`: the reviewed decision that no foreign key of the table hides its rows. */
export const SUBJECT_VIA_NONE = 'none';

export const keyName = z
  .string()
  .regex(KEY_NAME_PATTERN, { error: 'must be lowercase letters, digits and _, starting with a letter' })
  .describe('name of a key in pgmask_private.keys (one pseudonym domain)');

export const tableSchema = <R extends z.ZodType>(rule: R) =>
  z
    .strictObject({
      filter: z
        .string()
        .min(1, { error: 'must not be empty' })
        .optional()
        .describe('SQL boolean expression over the source table\'s columns; rows where it is not true are hidden (consent, opt-out)'),
      subject: identifier.nullish().describe('subject column of this table for per-subject transforms (overrides the top-level `subject`)'),
      columns: z.record(z.string(), rule).describe('one rule per source column: a transform name, or `{ transform: { params } }`'),
      materialize: z
        .boolean()
        .optional()
        .describe('serve this table from a materialized view (refreshed by `pgmask refresh`) instead of a dynamic view; overrides the top-level `materialize`'),
      quasi_identifiers: z
        .array(identifier)
        .optional()
        .describe('columns that together could single a person out (age, sex, ZIP3 …): `pgmask report` measures k-anonymity over them'),
      sensitive: z
        .array(identifier)
        .optional()
        .describe('sensitive attributes (diagnosis, result …): `pgmask report` measures l-diversity of them within each quasi-identifier class'),
      filter_applies_to: z
        .enum(FILTER_SCOPES, { error: `must be one of ${FILTER_SCOPES.join(', ')}` })
        .optional()
        .describe('`subject` (default): the filter removes a subject, so every masked row that reaches a hidden row through foreign keys is hidden too; `rows`: it hides only this table\'s rows'),
      subject_via: z
        .union([identifier, z.array(identifier).min(1, { error: 'must list at least one column (or write `none`)' })])
        .optional()
        .describe('which foreign key column(s) lead to the subject whose row filter hides this table\'s rows, when more than one does; `none` (a reviewed decision) hides nothing through foreign keys'),
      row_order: z
        .enum(ROW_ORDERS, { error: `must be one of ${ROW_ORDERS.join(', ')}` })
        .optional()
        .describe('`keyed` (default): the masked view returns rows in a keyed pseudorandom order, so position reveals nothing; `storage`: a reviewed decision to accept storage order (faster scans, but position can reveal raw keys and dates)'),
    })
    .describe('how one source table is masked');

const roleObject = z.strictObject({
  members: z.array(identifier).nullish().describe('existing login roles granted this masking role'),
});

/** One source schema of a multi-schema policy (`schemas:`), masked into a schema of its own. */
export const schemaSectionSchema = <R extends z.ZodType>(rule: R) =>
  z
    .strictObject({
      masked_schema: identifier.describe('schema where the masked views of this source schema are created (one per source schema)'),
      tables: z.record(z.string(), tableSchema(rule)).describe('tables of this source schema to mask, by name'),
    })
    .describe('the tables of one source schema and the schema their masked views go to');

export const roleSchema = roleObject.nullable().describe('a masking role (NOLOGIN), created if missing');

const brokerObject = z.strictObject({
  members: z.array(identifier).nullish().describe('existing login roles granted this broker role'),
});

export const brokerSchema = brokerObject.nullable().describe('a broker role (NOLOGIN), created if missing: may call pgmask.reveal and read pgmask.reveal_log');

/**
 * The shape of a version 1 policy file. `rule` is the schema of one column rule:
 * the parser passes `z.unknown()` and parses rules itself (to report positions
 * and look transforms up); the JSON Schema generator passes a union built from
 * the registry. One definition, so the two never disagree.
 */
export function policyInputSchema<R extends z.ZodType>(rule: R) {
  return z
    .strictObject({
      version: z.literal(1, { error: 'must be 1: this pgmask reads policy format version 1' }).describe('policy format version; must be 1'),
      source_schema: identifier.default('public').describe('schema of the raw tables (with top-level `tables`)'),
      masked_schema: identifier.default('masked').describe('schema where the masked views are created (with top-level `tables`)'),
      runtime: z
        .enum(['auto', 'plv8', 'sql'], { error: 'must be one of auto, plv8, sql' })
        .default('auto')
        .describe('transform runtime: plv8 when available (auto), or the portable sql runtime'),
      unlisted_columns: z
        .enum(['error', 'redact'], { error: 'must be error or redact' })
        .default('error')
        .describe('what happens to a source column without a rule: a plan error (privacy by default) or NULL in the view'),
      subject: identifier.nullish().describe('default subject column (the patient) for per-subject transforms'),
      keys: z
        .array(keyName)
        .min(1, { error: 'must list at least one key name' })
        .default(['default'])
        .describe('key names; the first one is the default key'),
      roles: z.record(z.string(), roleSchema).optional().describe('masking roles, by name'),
      brokers: z.record(z.string(), brokerSchema).optional().describe('honest-broker roles that may reveal encrypt tokens, by name (never a masking role)'),
      tables: z
        .record(z.string(), tableSchema(rule))
        .optional()
        .describe('source tables (of source_schema) to mask, by name; a table not listed gets no masked view. Use either `tables` or `schemas`'),
      schemas: z
        .record(z.string(), schemaSectionSchema(rule))
        .optional()
        .describe('several source schemas in one policy, by source schema name, each with its own masked_schema and tables. Use either `tables` or `schemas`'),
      materialize: z
        .boolean()
        .default(false)
        .describe('serve every table from a materialized view (fast BI queries; refreshed by `pgmask refresh`); a table can override it'),
      transforms: z.string().min(1, { error: 'must not be empty' }).optional().describe('directory of custom TypeScript transforms, relative to the policy file'),
      citus: z
        .boolean()
        .optional()
        .describe('Citus mode: every masked relation is a distributed (or reference) table filled by INSERT … SELECT and refreshed by `pgmask refresh` (docs/scale.md). Absent: on when the citus extension is installed; true on a server without it is refused'),
    })
    .describe('pgmask policy (version 1)');
}

export type PolicyInput = z.output<ReturnType<typeof policyInputSchema<z.ZodUnknown>>>;

/** The keys a strict map at `path` accepts (for "did you mean" on a misspelt key). */
export function allowedKeys(path: readonly (string | number)[]): string[] {
  if (path.length === 0) return Object.keys(policyInputSchema(z.unknown()).shape);
  if (path.length === 2 && path[0] === 'tables') return Object.keys(tableSchema(z.unknown()).shape);
  if (path.length === 2 && path[0] === 'schemas') return Object.keys(schemaSectionSchema(z.unknown()).shape);
  if (path.length === 4 && path[0] === 'schemas' && path[2] === 'tables') return Object.keys(tableSchema(z.unknown()).shape);
  if (path.length === 2 && path[0] === 'roles') return Object.keys(roleObject.shape);
  if (path.length === 2 && path[0] === 'brokers') return Object.keys(brokerObject.shape);
  return [];
}
