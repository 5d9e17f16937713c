/**
 * The trusted, frozen form of a policy file. `parsePolicy()` (parse.ts) is the
 * only way to make one: untrusted YAML is parsed once into this type, every
 * problem collected, and nothing downstream re-checks the shape.
 */

export type RuntimeChoice = 'auto' | 'plv8' | 'sql';

/** Where something came from in the policy file (1-based line and column). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** One column rule: a transform name with its parsed parameters and key name. */
export interface Rule {
  /** registry name, e.g. `pseudonymize`, `shift_date` */
  readonly transform: string;
  /** parameters as validated by the transform's zod schema (without `key`) */
  readonly params: Readonly<Record<string, unknown>>;
  /** the key name this rule uses (the policy's first key unless the rule says `key:`) */
  readonly key: string;
  /** the rule exactly as written, for COMMENT ON COLUMN and reports, e.g. `{ pseudonymize: { prefix: "MRN-" } }` */
  readonly display: string;
}

export interface PolicyColumn {
  readonly name: string;
  readonly rule: Rule;
  readonly position: SourcePosition;
}

export interface PolicyTable {
  readonly name: string;
  /** schema of the raw table */
  readonly sourceSchema: string;
  /** schema of its masked view */
  readonly maskedSchema: string;
  /** where the table is written in the file: `['tables', name]` or `['schemas', source, 'tables', name]` */
  readonly path: readonly string[];
  /** SQL boolean expression over the source table's columns, or null */
  readonly filter: string | null;
  /** subject column for per-subject transforms in this table (overrides the policy's `subject`) */
  readonly subject: string | null;
  readonly columns: readonly PolicyColumn[];
  /** served from a materialized view (the table's own `materialize`, else the policy's) */
  readonly materialize: boolean;
  /** columns that together could identify a person, for `pgmask report` (k-anonymity) */
  readonly quasiIdentifiers: readonly string[];
  /** sensitive attributes, for `pgmask report` (l-diversity) */
  readonly sensitive: readonly string[];
  /**
   * `subject` (default): the filter removes a subject, and every masked row that
   * reaches a hidden row of this table through foreign keys is hidden too;
   * `rows`: it hides only this table's rows
   */
  readonly filterAppliesTo: 'subject' | 'rows';
  /**
   * the foreign key columns whose referenced rows' filters hide this table's rows:
   * null = every route the catalog offers (refused when two foreign keys reach the
   * same table), `none` = a reviewed decision that none does
   */
  readonly subjectVia: readonly string[] | 'none' | null;
  /** `keyed` (default): rows come in a keyed pseudorandom order; `storage`: storage order, a reviewed decision */
  readonly rowOrder: 'keyed' | 'storage';
  readonly position: SourcePosition;
}

export interface PolicyRole {
  readonly name: string;
  /** existing login roles that are granted this masking role */
  readonly members: readonly string[];
  readonly position: SourcePosition;
}

/** One source schema and the schema its masked views go to. */
export interface PolicySchema {
  readonly source: string;
  readonly masked: string;
  /** where the source schema is written: `['source_schema']` or `['schemas', source]` */
  readonly path: readonly string[];
}

export interface Policy {
  readonly version: 1;
  /**
   * The first (for a policy with top-level `tables`, the only) source schema.
   * Code that handles tables reads `table.sourceSchema`; code written for one
   * schema runs once per `policySections(policy)`.
   */
  readonly sourceSchema: string;
  /** the masked schema of `sourceSchema` */
  readonly maskedSchema: string;
  /** every source schema → masked schema pair, in file order (one for a policy with top-level `tables`) */
  readonly schemas: readonly PolicySchema[];
  readonly runtime: RuntimeChoice;
  readonly unlistedColumns: 'error' | 'redact';
  /** default subject column, or null */
  readonly subject: string | null;
  /** key names; the first is the default key */
  readonly keys: readonly string[];
  readonly roles: readonly PolicyRole[];
  /** roles allowed to reveal encrypt tokens (pgmask.reveal), shaped like masking roles */
  readonly brokers: readonly PolicyRole[];
  readonly tables: readonly PolicyTable[];
  /**
   * Citus mode (docs/scale.md): true or false as the policy declares it, null when it does
   * not (then on exactly when the citus extension is installed)
   */
  readonly citus: boolean | null;
  /** directory of custom TypeScript transforms (resolved against the policy file), or null */
  readonly transformsDir: string | null;
  /** sha256 hex of the policy file's bytes */
  readonly hash: string;
  /** the file name used in messages */
  readonly file: string;
  /** the policy file text (for error excerpts) */
  readonly text: string;
}
