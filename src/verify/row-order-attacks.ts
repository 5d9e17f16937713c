import type pg from 'pg';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findTable } from '../catalog/catalog-snapshot.ts';
import type { CreateMaskedView } from '../plan/nodes.ts';
import type { Policy } from '../policy/policy.ts';
import { policyLocation } from '../policy/policy-source-map.ts';
import { ident, join, literal, param, sql, type Sql } from '../sql/index.ts';
import { visibleRowCondition } from '../plan/render.ts';
import { query } from '../db/query.ts';
import { held, leaked, listSome, skipped, type Attack } from './attack-session.ts';

/**
 * Masked relations reveal nothing through row order. A view that returns rows in
 * storage order gives away insertion order: position ≈ raw id ≈ raw admission
 * date, which undoes pseudonyms and date shifts (the median of a row's neighbours
 * estimates its true date). The attack reads each masked relation as the analyst,
 * in the order it returns rows, and compares each row's position with its raw
 * primary key and raw dates, matching rows by the masked key (admin side: which
 * masked key each sampled raw row gets). A Spearman rank correlation beyond chance
 * is a leak, unless the policy accepts storage order for the table
 * (`row_order: storage`, a reviewed decision).
 */

/** Raw rows sampled per table as admin: the first ones in storage order and a keyed spread over the table. */
const SAMPLE_ROWS = 2000;
/** Rows of each masked relation read as the analyst (positions beyond are not compared). */
const READ_ROWS = 50_000;
/** Below this many matched rows a correlation says nothing. */
const MIN_MATCHED = 10;

export interface RowOrderSample {
  readonly table: string;
  /** the masked key as text (what `v.key::text` shows the analyst) → raw ranks */
  readonly rows: ReadonlyMap<string, { readonly key: number; readonly dates: readonly (number | null)[] }>;
  /** masked primary key columns */
  readonly keyColumns: readonly string[];
  /** date and timestamp columns whose rule is not `keep`, in `dates` order */
  readonly dateColumns: readonly string[];
}

export interface RowOrderFacts {
  readonly samples: readonly RowOrderSample[];
  /** tables the attack cannot measure, and why */
  readonly unmeasured: ReadonlyMap<string, string>;
}

const DATE_FAMILIES = new Set(['date', 'timestamp', 'timestamptz']);

/**
 * As admin (inside verify's rolled-back transaction): for a sample of raw rows of
 * each policy table, the masked key the planned view gives them, the rank of the
 * raw primary key and the raw dates (epoch seconds). `run` runs a query with the
 * source schema on the search_path, or returns null when it cannot run.
 */
export async function gatherRowOrderFacts(
  policy: Policy,
  snapshot: CatalogSnapshot,
  views: readonly CreateMaskedView[] | null,
  run: <R extends pg.QueryResultRow>(query: Sql) => Promise<R[] | null>,
): Promise<RowOrderFacts> {
  const samples: RowOrderSample[] = [];
  const unmeasured = new Map<string, string>();
  for (const view of views ?? []) {
    const table = findTable(snapshot, view.sourceSchema, view.sourceTable);
    const ptable = policy.tables.find((t) => t.name === view.sourceTable);
    if (!table || !ptable) continue;
    const pk = table.primaryKey ?? [];
    const rule = (c: string) => ptable.columns.find((pc) => pc.name === c)?.rule.transform ?? 'redact';
    if (pk.length === 0) {
      unmeasured.set(table.name, 'no primary key to match masked rows with raw rows');
      continue;
    }
    if (pk.every((c) => rule(c) === 'keep')) {
      unmeasured.set(table.name, 'its primary key is shown as is, so position adds nothing the analyst cannot sort by');
      continue;
    }
    if (!pk.every((c) => rule(c) === 'keep' || rule(c) === 'pseudonymize')) {
      unmeasured.set(table.name, `its primary key is masked by ${pk.map(rule).join(', ')}, so masked rows cannot be matched with raw rows`);
      continue;
    }
    const at = (c: string) => view.columns.find((vc) => vc.name === c)!.expression;
    const maskedKey = pk.length === 1 ? sql`(${at(pk[0]!)})::text` : sql`pg_catalog.jsonb_build_array(${join(pk.map(at))})::text`;
    const rawKey = join(pk.map((c) => sql`src.${ident(c)}`));
    const dateColumns = table.columns.filter((c) => DATE_FAMILIES.has(c.family) && rule(c.name) !== 'keep').map((c) => c.name);
    const dates = dateColumns.map((c) => sql`pg_catalog.date_part('epoch', src.${ident(c)})::float8`);
    const where = visibleRowCondition(view);
    const spread = sql`pg_catalog.hashtextextended((ROW(${rawKey}))::text, 0)`;
    const rows = await run<{ masked: string; key: string; dates: (number | null)[] }>(
      sql`WITH sample AS (
            (SELECT src.* FROM ${ident(table.schema, table.name)} AS src WHERE ${where} LIMIT ${literal(SAMPLE_ROWS)})
            UNION
            (SELECT src.* FROM ${ident(table.schema, table.name)} AS src WHERE ${where} ORDER BY ${spread} LIMIT ${literal(SAMPLE_ROWS)}))
          SELECT ${maskedKey} AS masked, pg_catalog.rank() OVER (ORDER BY ${rawKey})::text AS key,
                 ARRAY[${join(dates)}]::float8[] AS dates
            FROM sample AS src`,
    );
    if (rows === null) {
      unmeasured.set(table.name, "the policy's key expressions do not run here (is pgmask migrated?)");
      continue;
    }
    samples.push({
      table: table.name,
      keyColumns: pk,
      dateColumns,
      rows: new Map(rows.map((r) => [r.masked, { key: Number(r.key), dates: dateColumns.length ? r.dates : [] }])),
    });
  }
  return { samples, unmeasured };
}

/** Spearman's rank correlation (average ranks for ties). */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  const rx = ranks(xs);
  const ry = ranks(ys);
  const n = xs.length;
  const mean = (n + 1) / 2;
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    num += (rx[i]! - mean) * (ry[i]! - mean);
    dx += (rx[i]! - mean) ** 2;
    dy += (ry[i]! - mean) ** 2;
  }
  return dx === 0 || dy === 0 ? 0 : num / Math.sqrt(dx * dy);
}

function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** A correlation this far from 0 is not chance: 4 standard deviations of ρ under independence, and at least 0.1. */
export function rowOrderThreshold(matched: number): number {
  return Math.max(0.1, 4 / Math.sqrt(Math.max(1, matched - 1)));
}

const rowOrder: Attack = {
  id: 'row-order',
  title: 'read each masked relation in the order it returns rows and correlate position with the raw primary key and raw dates (rows matched by masked key)',
  async run(s) {
    const { policy } = s.facts;
    const facts = s.facts.rowOrder;
    const found: string[] = [];
    const notes: string[] = [];
    const failures: string[] = [];
    for (const sample of facts.samples) {
      const ptable = policy.tables.find((t) => t.name === sample.table)!;
      const view = ident(policy.maskedSchema, sample.table);
      const key = sample.keyColumns.length === 1 ? sql`v.${ident(sample.keyColumns[0]!)}::text` : sql`pg_catalog.jsonb_build_array(${join(sample.keyColumns.map((c) => sql`v.${ident(c)}`))})::text`;
      await query(s.client, sql`SET LOCAL synchronize_seqscans = off`);
      const r = await s.attempt<{ k: string }>(sql`SELECT ${key} AS k FROM ${view} AS v LIMIT ${literal(READ_ROWS)}`);
      if (!r.ok) {
        failures.push(`${sample.table}: ${r.error}`);
        continue;
      }
      const positions: number[] = [];
      const matched: { key: number; dates: readonly (number | null)[] }[] = [];
      r.rows.forEach((row, i) => {
        const raw = sample.rows.get(row.k);
        if (!raw) return;
        positions.push(i);
        matched.push(raw);
      });
      if (matched.length < MIN_MATCHED) {
        notes.push(`${sample.table}: only ${matched.length} sampled rows among the first ${r.rows.length}, too few to measure`);
        continue;
      }
      // each comparison is judged against chance for its own number of pairs: a date column that is mostly
      // NULL (a death date) pairs only a few rows, whose ρ varies far more than the key's over every row
      const compare = (label: string, xs: readonly number[], ys: readonly number[]) => ({ label, rho: spearman(xs, ys), n: xs.length, threshold: rowOrderThreshold(xs.length) });
      const against = [compare(`raw ${sample.keyColumns.join(', ')}`, positions, matched.map((m) => m.key))];
      sample.dateColumns.forEach((column, d) => {
        const pairs = matched.flatMap((m, i) => (m.dates[d] === null || m.dates[d] === undefined ? [] : [[positions[i]!, m.dates[d]!] as const]));
        if (pairs.length >= MIN_MATCHED) against.push(compare(`raw ${column}`, pairs.map((p) => p[0]), pairs.map((p) => p[1])));
      });
      const worst = against.reduce((a, b) => (Math.abs(b.rho) / b.threshold > Math.abs(a.rho) / a.threshold ? b : a));
      const threshold = worst.threshold;
      const measured = `ρ(position, ${worst.label}) = ${worst.rho.toFixed(3)} over ${worst.n} rows (chance ≤ ${threshold.toFixed(3)})`;
      if (Math.abs(worst.rho) <= threshold) {
        notes.push(`${sample.table}: ${measured}`);
      } else if (ptable.rowOrder === 'storage') {
        const where = policyLocation(policy, ['tables', ptable.name, 'row_order']);
        notes.push(`${sample.table}: ${measured}, accepted by the policy (row_order: storage at ${where.file}:${where.line}:${where.column})`);
      } else {
        found.push(`${policy.maskedSchema}.${sample.table}: ${measured}`);
      }
    }
    for (const [table, why] of facts.unmeasured) {
      // what cannot be measured is judged by the definition: a keyed table's relation must sort
      const ptable = policy.tables.find((t) => t.name === table);
      const def = await s.attempt<{ d: string | null }>(
        sql`SELECT pg_catalog.pg_get_viewdef(pg_catalog.to_regclass(pg_catalog.format('%I.%I', ${param(policy.maskedSchema)}::text, ${param(table)}::text))) AS d`,
      );
      const unsorted = def.ok && def.rows[0]?.d != null && !/\bORDER BY\b/i.test(def.rows[0].d);
      if (unsorted && ptable?.rowOrder === 'keyed' && !why.startsWith('its primary key is shown')) found.push(`${policy.maskedSchema}.${table}: its definition has no ORDER BY (not measured: ${why})`);
      else notes.push(`${table}: not measured (${why})`);
    }
    if (found.length > 0) {
      return leaked(`row position reveals raw keys or dates (neither a keyed order nor row_order: storage in the policy): ${listSome(found, 4)}`, found);
    }
    if (notes.length === 0 && failures.length > 0) return skipped(`no masked relation could be read: ${listSome(failures, 4)}`);
    if (notes.length === 0) return held('the policy masks no table');
    return held(listSome([...notes, ...failures], 8));
  },
};

export const rowOrderAttacks: readonly Attack[] = [rowOrder];
