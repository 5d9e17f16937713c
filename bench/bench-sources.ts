import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import { trustedSqlText } from '../src/sql/index.ts';
import { query } from '../src/db/query.ts';
import { benchPolicy } from './bench-policy.ts';

/**
 * A place the bench's queries run against: the raw tables, hand-written views, or
 * pgmask views. `setup` prepares it and returns the URL of the database to query
 * (sources that need their own database, such as the plv8 runtime whose functions
 * would replace the sql runtime's, get a copy of the loaded data), or throws
 * `SourceUnavailable` with the reason the report prints.
 */
export interface BenchSource {
  readonly name: string;
  readonly schema: string;
  /** set up before the others, because it copies the loaded database while nothing has changed it yet */
  readonly ownDatabase?: boolean;
  setup(ctx: BenchContext): Promise<string>;
}

/** What the pgmask sources need from src/cli/pipeline.ts (imported at run time: the bench reports its absence). */
export interface PipelineApi {
  applyPolicy(url: string, policyYamlText: string, opts?: { file?: string }): Promise<unknown>;
  loadPolicyText(text: string, file: string): Promise<unknown>;
}

export interface BenchContext {
  /** superuser connection to the database holding the loaded data */
  readonly client: pg.ClientBase;
  readonly url: string;
  readonly plv8Available: boolean;
  readonly pipeline: PipelineApi | null;
  readonly pipelineProblem: string | null;
  /** transform names in the registry */
  readonly transforms: ReadonlySet<string>;
  /** a cluster-wide role name unique to this run, for the policies' masking role */
  readonly role: string;
  /** a copy of the loaded database, made before any source changed it (only from an `ownDatabase` source); returns its URL */
  cloneDatabase(purpose: string): Promise<string>;
  /** collects notes for the report (e.g. rules that fell back to keep) */
  note(line: string): void;
}

export class SourceUnavailable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SourceUnavailable';
  }
}

export const rawSource: BenchSource = {
  name: 'raw tables',
  schema: 'public',
  setup: async (ctx) => ctx.url,
};

export const handWrittenSource: BenchSource = {
  name: 'hand-written pgcrypto view',
  schema: 'hand_masked',
  async setup(ctx) {
    const text = await readFile(new URL('./hand-written-views.sql', import.meta.url), 'utf8');
    await query(ctx.client, trustedSqlText(text));
    return ctx.url;
  },
};

function requirePipeline(ctx: BenchContext): PipelineApi {
  if (!ctx.pipeline) throw new SourceUnavailable(`pipeline not available (${ctx.pipelineProblem ?? 'src/cli/pipeline.ts has no applyPolicy'})`);
  return ctx.pipeline;
}

function noteFallbacks(ctx: BenchContext, source: string, fallbacks: readonly string[]): void {
  if (fallbacks.length > 0) ctx.note(`${source}: not yet in the registry, so kept raw (less work than the hand-written view): ${fallbacks.join('; ')}`);
}

export const pgmaskSqlSource: BenchSource = {
  name: 'pgmask sql runtime',
  schema: 'pgmask_sql',
  async setup(ctx) {
    const pipeline = requirePipeline(ctx);
    const policy = benchPolicy({ maskedSchema: 'pgmask_sql', runtime: 'sql', role: ctx.role, available: ctx.transforms });
    noteFallbacks(ctx, this.name, policy.fallbacks);
    await pipeline.applyPolicy(ctx.url, policy.yaml, { file: 'bench-sql.yaml' });
    return ctx.url;
  },
};

export const pgmaskPlv8Source: BenchSource = {
  name: 'pgmask plv8 runtime',
  schema: 'pgmask_plv8',
  ownDatabase: true,
  async setup(ctx) {
    if (!ctx.plv8Available) throw new SourceUnavailable('PLV8 absent');
    const pipeline = requirePipeline(ctx);
    const policy = benchPolicy({ maskedSchema: 'pgmask_plv8', runtime: 'plv8', role: ctx.role, available: ctx.transforms });
    noteFallbacks(ctx, this.name, policy.fallbacks);
    const url = await ctx.cloneDatabase('plv8');
    await pipeline.applyPolicy(url, policy.yaml, { file: 'bench-plv8.yaml' });
    return url;
  },
};

export const pgmaskMaterializedSource: BenchSource = {
  name: 'pgmask materialized',
  schema: 'pgmask_mat',
  ownDatabase: true,
  async setup(ctx) {
    const pipeline = requirePipeline(ctx);
    const policy = benchPolicy({ maskedSchema: 'pgmask_mat', runtime: 'sql', role: ctx.role, available: ctx.transforms, materialize: true });
    try {
      await pipeline.loadPolicyText(policy.yaml, 'bench-materialized.yaml');
    } catch {
      throw new SourceUnavailable('not built (the policy has no `materialize` option yet)');
    }
    noteFallbacks(ctx, this.name, policy.fallbacks);
    const url = await ctx.cloneDatabase('mat');
    await pipeline.applyPolicy(url, policy.yaml, { file: 'bench-materialized.yaml' });
    return url;
  },
};

/** In report order; raw and hand-written come first because the ratios are taken against them. */
export const benchSources: readonly BenchSource[] = [rawSource, handWrittenSource, pgmaskSqlSource, pgmaskPlv8Source, pgmaskMaterializedSource];
