/**
 * The bench's result as data, and its markdown rendering for docs/performance.md: one row
 * per query shape × source with the median, the spread, and the ratios to the raw
 * tables and to the hand-written view; then the issue 6 targets, met or missed.
 */
export interface BenchCell {
  readonly shape: string;
  readonly source: string;
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** rows the query returned (the same in every run) */
  readonly rows: number;
  /** median ÷ the raw tables' median for this shape */
  readonly ratioToRaw: number | null;
  /** median ÷ the hand-written view's median for this shape */
  readonly ratioToHandWritten: number | null;
}

export interface BenchMachine {
  readonly date: string;
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** 1-minute load average when the timed rounds began: other work on the machine skews every source */
  readonly loadAverage: number;
  readonly postgres: string;
  readonly server: string;
  readonly settings: Readonly<Record<string, string>>;
}

export interface BenchTarget {
  readonly description: string;
  readonly value: string;
  readonly met: boolean;
}

export interface BenchResult {
  readonly scale: number;
  readonly seed: number;
  readonly runs: number;
  readonly warmups: number;
  readonly counts: { readonly patients: number; readonly encounters: number; readonly observations: number; readonly notes: number };
  /** the data set, when it is not the synthetic clinic (e.g. the people table of issue 12) */
  readonly dataLabel?: string;
  readonly loadMs: number;
  readonly machine: BenchMachine;
  /** a query faster than this in the warm-up is repeated back to back within each sample (0: never) */
  readonly minSampleMs: number;
  readonly shapes: readonly string[];
  /** sources that ran, in report order */
  readonly sources: readonly string[];
  readonly unavailable: readonly { readonly source: string; readonly reason: string }[];
  readonly cells: readonly BenchCell[];
  readonly targets: readonly BenchTarget[];
  readonly notes: readonly string[];
  readonly markdown: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ms(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratio(value: number | null): string {
  if (value === null) return '—';
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(2)}×`;
}

export function renderBenchMarkdown(result: Omit<BenchResult, 'markdown'>): string {
  const m = result.machine;
  const lines: string[] = [];
  lines.push(`### Masked queries at scale ${result.scale.toLocaleString('en-US')}`);
  lines.push('');
  lines.push(
    `${m.date} · ${m.nproc} CPUs (nproc), ${m.cpuModel}, ${m.memoryGiB} GiB RAM, load average ${m.loadAverage.toFixed(1)} · PostgreSQL ${m.postgres} (${m.server}) · ` +
      Object.entries(m.settings).map(([k, v]) => `${k}=${v}`).join(', '),
  );
  lines.push('');
  lines.push(
    `Data: ${result.dataLabel ?? `${result.counts.patients.toLocaleString('en-US')} patients, ${result.counts.encounters.toLocaleString('en-US')} encounters, ${result.counts.observations.toLocaleString('en-US')} observations, ${result.counts.notes.toLocaleString('en-US')} notes`} ` +
      `(seed ${result.seed}, loaded with COPY in ${(result.loadMs / 1000).toFixed(1)} s). ` +
      `Median of ${result.runs} runs after ${result.warmups} warm-up round${result.warmups === 1 ? '' : 's'}; the sources are interleaved in every round (rotating order) so drift hits them alike` +
      (result.minSampleMs > 0 ? `; a query under ${result.minSampleMs} ms is run back to back until a sample lasts ~${result.minSampleMs} ms (mean per call).` : '.'),
  );
  lines.push('');
  lines.push('| query shape | source | median ms | min–max ms | × raw | × hand-written | rows |');
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const shape of result.shapes) {
    for (const source of result.sources) {
      const cell = result.cells.find((c) => c.shape === shape && c.source === source);
      if (!cell) continue;
      lines.push(
        `| ${shape} | ${source} | ${ms(cell.medianMs)} | ${ms(cell.minMs)}–${ms(cell.maxMs)} | ${ratio(cell.ratioToRaw)} | ${ratio(cell.ratioToHandWritten)} | ${cell.rows.toLocaleString('en-US')} |`,
      );
    }
  }
  for (const u of result.unavailable) lines.push(`| all | ${u.source} | ${u.reason} | | | | |`);
  if (result.targets.length > 0) {
    lines.push('');
    lines.push(`Targets (issues 6 and 12; defined at 1M rows${result.scale === 1_000_000 ? '' : `, this run is at ${result.scale.toLocaleString('en-US')}`}):`);
    lines.push('');
    for (const t of result.targets) lines.push(`- ${t.met ? 'met' : '**missed**'}: ${t.description}: ${t.value}`);
  }
  if (result.notes.length > 0) {
    lines.push('');
    lines.push('Notes:');
    lines.push('');
    for (const n of result.notes) lines.push(`- ${n}`);
  }
  return `${lines.join('\n')}\n`;
}
