/**
 * What `pgmask report` measures, as plain data: the `--json` output is exactly
 * this object (docs/report.md documents it; test/report pins its shape). Only
 * aggregates and masked values appear here: raw values never leave the database.
 */
import type { Policy } from '../policy/policy.ts';

/** Bumped when a field changes meaning or disappears (adding fields keeps it). */
export const REPORT_FORMAT_VERSION = 1;

/** Cells smaller than this are "small cells" (the common publication threshold). */
export const SMALL_CELL_THRESHOLD = 11;

/** The risk threshold used for "at risk" figures when --min-k is not given. */
export const DEFAULT_RISK_THRESHOLD = 5;

/** Equivalence-class size buckets of the histogram: [min, max] (max null: no upper bound). */
export const CLASS_SIZE_BUCKETS: readonly { readonly label: string; readonly min: number; readonly max: number | null }[] = [
  { label: '1', min: 1, max: 1 },
  { label: '2', min: 2, max: 2 },
  { label: '3-4', min: 3, max: 4 },
  { label: '5-9', min: 5, max: 9 },
  { label: '10-19', min: 10, max: 19 },
  { label: '20+', min: 20, max: null },
];

export interface Report {
  readonly reportFormat: typeof REPORT_FORMAT_VERSION;
  /** false only when --min-k was given and some table's k is below it */
  readonly ok: boolean;
  readonly generatedAt: string;
  readonly database: string;
  /**
   * sourceSchema and maskedSchema: the policy's first (one schema: its only) pair; `schemas`, only
   * when the policy has several (`schemas:`), every pair in file order
   */
  readonly policy: { readonly file: string; readonly hash: string; readonly sourceSchema: string; readonly maskedSchema: string; readonly schemas?: readonly ReportSchema[] };
  /** --min-k, or null when not given (then nothing gates) */
  readonly minK: number | null;
  /** the k below which records count as "at risk": --min-k, else DEFAULT_RISK_THRESHOLD */
  readonly riskThreshold: number;
  readonly risk: RiskSection;
  readonly utility: UtilitySection;
  readonly safeHarbor: SafeHarborSection;
  /** things the reader should know (views applied from another policy, capped lists) */
  readonly warnings: readonly string[];
  readonly elapsedMs: number;
}

/** One source schema of the policy and the masked schema its views are in. */
export interface ReportSchema {
  readonly source: string;
  readonly masked: string;
}

/**
 * A table's entry (risk, utility, Safe Harbor) in a policy with several source schemas carries
 * the masked schema of its view: two schemas may hold a table of the same name. Absent with one.
 */
export interface InMaskedSchema {
  readonly maskedSchema?: string;
}

/**
 * A table's entry with the masked schema of its view, right after its name, when the policy has
 * several source schemas (two may hold one table name); as it is with one (the output stays as it was).
 */
export function inMaskedSchema<T extends { readonly table: string }>(policy: Pick<Policy, 'schemas'>, maskedSchema: string, entry: T): T {
  if (policy.schemas.length === 1) return entry;
  const { table, ...rest } = entry;
  return { table, maskedSchema, ...rest } as unknown as T;
}

/** Every masked schema the report measured on, in policy order. */
export function reportMaskedSchemas(report: Pick<Report, 'policy'>): string[] {
  return report.policy.schemas?.map((s) => s.masked) ?? [report.policy.maskedSchema];
}

/** A table as the reader sees it: `patients`, or `hosp_masked.patients` when the policy has several schemas. */
export function tableLabel(entry: { readonly table: string } & InMaskedSchema): string {
  return entry.maskedSchema === undefined ? entry.table : `${entry.maskedSchema}.${entry.table}`;
}

export interface RiskSection {
  /** the role the masked views were read as (with --login-url: that login's user) */
  readonly role: string;
  /** how the report became that role: a superuser's SET SESSION AUTHORIZATION, a member's SET ROLE, or a real login */
  readonly impersonation: 'session authorization' | 'set role' | 'login';
  /** Citus mode only: the NOLOGIN masking role measured, read through its login member `role` (Citus reaches the workers as the current role) */
  readonly maskingRole?: string;
  readonly tables: readonly TableRisk[];
}

export type TableRisk = DeclaredTableRisk | UndeclaredTableRisk;

export interface UndeclaredTableRisk extends InMaskedSchema {
  readonly table: string;
  readonly status: 'not declared';
}

export interface DeclaredTableRisk extends InMaskedSchema {
  readonly table: string;
  readonly status: 'measured';
  readonly quasiIdentifiers: readonly string[];
  readonly sensitive: readonly string[];
  /** rows of the masked view */
  readonly records: number;
  /** equivalence classes: distinct combinations of the quasi-identifiers (NULL is a value) */
  readonly classes: number;
  /** size of the smallest class (0 for an empty view) */
  readonly k: number;
  readonly histogram: readonly ClassSizeBucket[];
  /** classes smaller than the risk threshold, and the records in them */
  readonly atRisk: { readonly threshold: number; readonly classes: number; readonly records: number; readonly percent: number };
  /** records alone in their class, and their share of all records */
  readonly sampleUniqueness: { readonly records: number; readonly share: number };
  readonly lDiversity: readonly LDiversity[];
  readonly smallCells: readonly SmallCells[];
  /** true/false when --min-k was given, else null */
  readonly meetsMinK: boolean | null;
  /** the classes below the threshold, smallest first, with their (masked) quasi-identifier values as text */
  readonly failingClasses: readonly FailingClass[];
  /** true when failingClasses was cut at FAILING_CLASSES_CAP (atRisk.classes has the full count) */
  readonly failingClassesTruncated: boolean;
}

export interface ClassSizeBucket {
  readonly label: string;
  readonly min: number;
  readonly max: number | null;
  readonly classes: number;
  readonly records: number;
}

export interface LDiversity {
  readonly column: string;
  /** distinct l: the fewest distinct sensitive values in any class (NULL counts as a value) */
  readonly distinctL: number;
  /** entropy l: exp of the lowest Shannon entropy (natural log) of the sensitive values in any class */
  readonly entropyL: number;
  /** classes whose records all share one sensitive value (attribute disclosure) */
  readonly classesWithOneValue: number;
}

export interface SmallCells {
  readonly column: string;
  readonly distinctValues: number;
  /** values held by fewer than SMALL_CELL_THRESHOLD records */
  readonly smallCells: number;
  readonly records: number;
}

export interface FailingClass {
  /** quasi-identifier → masked value as text (null for NULL) */
  readonly values: Readonly<Record<string, string | null>>;
  readonly size: number;
}

export const FAILING_CLASSES_CAP = 1000;

export type Technique = 'perturbed' | 'generalized';

export interface UtilitySection {
  /** the database role the raw side was computed as (the admin connection) */
  readonly computedAs: string;
  readonly columns: readonly ColumnUtility[];
  readonly correlations: readonly CorrelationPair[];
  /** signal_noise and resample columns: fidelity on a bounded sample of signals */
  readonly signals: readonly SignalFidelity[];
}

/**
 * Fidelity of one signal column on up to 20 signals (src/report/signal-fidelity.ts): the achieved
 * SNR in dB, the correlation of masked with raw samples, and the mean relative error of the
 * power in octave bands of the Nyquist frequency.
 */
export interface SignalFidelity extends InMaskedSchema {
  readonly table: string;
  readonly column: string;
  readonly transform: string;
  readonly rule: string;
  /** signals compared */
  readonly signals: number;
  readonly snrDb: { readonly mean: number | null; readonly min: number | null; readonly max: number | null };
  readonly correlation: { readonly mean: number | null; readonly min: number | null };
  readonly bandPowerError: readonly { readonly band: string; readonly meanRelativeError: number | null }[];
}

export interface ColumnUtility extends InMaskedSchema {
  readonly table: string;
  readonly column: string;
  readonly transform: string;
  /** the rule as written in the policy */
  readonly rule: string;
  readonly technique: Technique;
  /** type family of the source column */
  readonly family: string;
  readonly rows: number;
  /** distinct values before and after masking: generalized columns only (null for perturbed ones) */
  readonly distinctRaw: number | null;
  readonly distinctMasked: number | null;
  /** generalized columns: 1 − distinctMasked / distinctRaw (the share of distinct values merged away); null for perturbed ones */
  readonly informationLoss: number | null;
  /** share of rows whose masked value equals the raw value */
  readonly unchangedShare: number;
  /** null when the masked value is not comparable as a number (text output) */
  readonly error: ColumnError | null;
  /** stddev(masked) / stddev(raw), null when not numeric or raw has no spread */
  readonly sdRatio: number | null;
  /** Σ min(raw share, masked share) over 20 equal-width bins of the raw range; null when not numeric */
  readonly histogramOverlap: number | null;
}

export interface ColumnError {
  /** relative: |masked − raw| / |raw| (rows with raw 0 or NULL excluded); days: |masked − raw| in days for dates */
  readonly unit: 'relative' | 'days';
  readonly mean: number | null;
  readonly median: number | null;
}

export interface CorrelationPair extends InMaskedSchema {
  readonly table: string;
  readonly a: string;
  readonly b: string;
  readonly raw: number | null;
  readonly masked: number | null;
  /** |masked − raw| */
  readonly difference: number | null;
}

/** The 18 HIPAA Safe Harbor identifier kinds, 45 CFR 164.514(b)(2)(i)(A)–(R). */
export interface SafeHarborSection {
  /** the standard judged against: hipaa-safe-harbor, or research-date-shift (a limited data set) */
  readonly preset: string;
  /** where the column categories came from */
  readonly classifier: string;
  readonly kinds: readonly SafeHarborKind[];
  /** columns kept raw that carry an identifier kind */
  readonly flagged: number;
}

export interface SafeHarborKind {
  readonly number: number;
  readonly kind: string;
  readonly columns: readonly SafeHarborColumn[];
}

export type Handling = 'kept raw' | 'removed' | 'pseudonymized' | 'replaced' | 'generalized' | 'perturbed' | 'transformed';

export interface SafeHarborColumn extends InMaskedSchema {
  readonly table: string;
  readonly column: string;
  readonly category: string;
  readonly rule: string;
  readonly handling: Handling;
  /** the rule meets Safe Harbor for this kind as written (removal or the generalization the rule names) */
  readonly meetsSafeHarbor: boolean;
  /** kept raw: the reviewer must act */
  readonly flagged: boolean;
  readonly note: string;
}
