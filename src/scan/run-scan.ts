import { createPool } from '../db/connection.ts';
import { databaseError } from '../errors.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import { draftPolicy, parseExisting, type DraftPolicy, type Preset } from './draft-policy.ts';
import { scanDatabase, type ScanResult } from './scan-database.ts';
import { query } from '../db/query.ts';
import { sql } from '../sql/index.ts';

export interface RunScanOptions {
  readonly databaseUrl: string;
  readonly schemas: readonly string[];
  readonly sampleRows?: number;
  readonly preset?: Preset | null;
  /** the text of an existing policy to merge into (reviewed rules are kept) */
  readonly existingPolicy?: string | null;
  readonly registry?: TransformRegistry;
  readonly onTable?: (done: number, total: number, table: string) => void;
}

export interface RunScanResult {
  readonly scan: ScanResult;
  readonly draft: DraftPolicy;
}

/** Connects, scans the schemas and drafts the policy: what `pgmask scan` does, without printing. */
export async function runScan(options: RunScanOptions): Promise<RunScanResult> {
  // a broken policy file should fail before the scan, not after it
  if (options.existingPolicy) parseExisting(options.existingPolicy);
  const pool = createPool(options.databaseUrl, 4);
  try {
    await query(pool, sql`SELECT 1`).catch((cause: unknown) => {
      throw databaseError(cause, 'cannot connect for the scan', 'check --database-url / DATABASE_URL and that the server is running');
    });
    const scan = await scanDatabase(pool, { schemas: options.schemas, sampleRows: options.sampleRows, onTable: options.onTable });
    const draft = draftPolicy(scan, { preset: options.preset ?? null, existing: options.existingPolicy ?? null, registry: options.registry });
    return { scan, draft };
  } finally {
    await pool.end();
  }
}

/** The scan as plain JSON: per table, per column, the category, confidence, reasons and drafted rule. */
export function scanReport(result: RunScanResult): unknown {
  const { scan, draft } = result;
  return {
    database: scan.database,
    schemas: scan.schemas,
    elapsedMs: Math.round(scan.elapsedMs),
    subject: scan.subject.subjectTable,
    subjectColumn: scan.subject.defaultColumn,
    tables: scan.tables.map((t) => ({
      schema: t.schema,
      name: t.name,
      sample: t.sample,
      subjectColumn: t.subjectColumn,
      columns: t.columns.map((c) => ({
        name: c.name,
        type: c.sqlType,
        category: c.classification.category,
        confidence: c.classification.confidence,
        reasons: c.classification.reasons,
        rule: draft.rules.find((r) => r.schema === t.schema && r.table === t.name && r.column === c.name)?.rule ?? null,
      })),
    })),
    policy: draft.yaml,
  };
}
