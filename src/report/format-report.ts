import { reportMaskedSchemas, tableLabel, type Report } from './report.ts';

/** Failing classes printed per table in the terminal (the JSON and HTML carry up to FAILING_CLASSES_CAP). */
const PRINTED_FAILING_CLASSES = 20;

export const pct = (share: number | null, digits = 1): string => (share === null ? '—' : `${(100 * share).toFixed(digits)}%`);
export const fixed = (n: number | null, digits = 2): string => (n === null ? '—' : n.toFixed(digits));
export const count = (n: number): string => n.toLocaleString('en-US');

/** The error of a column in its own unit: "2.1%" relative, "14.9 d" for dates. */
export function errorText(value: number | null, unit: 'relative' | 'days'): string {
  if (value === null) return '—';
  return unit === 'relative' ? pct(value, 2) : `${value.toFixed(1)} d`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

/** The terminal summary: risk per table (failing classes first), fidelity per technique, Safe Harbor flags. */
export function formatReport(report: Report): string {
  const lines: string[] = [];
  lines.push(`pgmask report — ${report.database}, policy ${report.policy.file} (sha256 ${report.policy.hash.slice(0, 16)})`);
  lines.push('');
  lines.push(`Re-identification risk, measured on ${reportMaskedSchemas(report).map((m) => `${m}.*`).join(', ')} as ${report.risk.role} (${report.risk.impersonation}${report.risk.maskingRole ? `; a login member of ${report.risk.maskingRole}, which cannot reach the Citus workers itself` : ''}); at risk = class smaller than k=${report.riskThreshold}`);
  for (const t of report.risk.tables) {
    if (t.status === 'not declared') {
      lines.push(`  ${tableLabel(t)}: quasi_identifiers not declared`);
      continue;
    }
    const gate = t.meetsMinK === null ? '' : t.meetsMinK ? `  meets k≥${report.minK}` : `  FAILS k≥${report.minK}`;
    lines.push(`  ${tableLabel(t)} (${t.quasiIdentifiers.join(', ')}): k=${t.k}${gate}`);
    lines.push(
      `    ${count(t.records)} records in ${count(t.classes)} classes; at risk ${count(t.atRisk.records)} records (${t.atRisk.percent.toFixed(2)}%) in ${count(t.atRisk.classes)} classes; unique ${count(t.sampleUniqueness.records)} (${pct(t.sampleUniqueness.share, 2)})`,
    );
    lines.push(`    class sizes: ${t.histogram.map((b) => `${b.label}: ${count(b.classes)}`).join(' · ')}`);
    for (const l of t.lDiversity) lines.push(`    l-diversity of ${l.column}: distinct l=${l.distinctL}, entropy l=${l.entropyL.toFixed(2)}, ${count(l.classesWithOneValue)} classes with one value`);
    const cells = t.smallCells.filter((c) => c.smallCells > 0);
    lines.push(cells.length === 0 ? '    small cells (<11): none' : `    small cells (<11): ${cells.map((c) => `${c.column} ${count(c.smallCells)} values / ${count(c.records)} records`).join('; ')}`);
    if (t.meetsMinK === false) {
      lines.push(`    failing classes (size < ${report.minK}, masked values):`);
      for (const f of t.failingClasses.slice(0, PRINTED_FAILING_CLASSES)) {
        lines.push(`      size ${f.size}: ${Object.entries(f.values).map(([k, v]) => `${k}=${v === null ? 'NULL' : JSON.stringify(v)}`).join(', ')}`);
      }
      if (t.atRisk.classes > PRINTED_FAILING_CLASSES) lines.push(`      … and ${count(t.atRisk.classes - PRINTED_FAILING_CLASSES)} more (--json or --html lists them)`);
    }
  }
  lines.push('');
  lines.push(`Utility: masked vs raw (raw aggregated in SQL as ${report.utility.computedAs}; no raw value leaves the database)`);
  if (report.utility.columns.length === 0) {
    lines.push('  no perturbed or generalized column');
  } else {
    const rows: string[][] = [['technique', 'column', 'rule', 'mean err', 'median err', 'sd ratio', 'hist overlap', 'distinct raw→masked']];
    const ordered = [...report.utility.columns].sort((a, b) => a.technique.localeCompare(b.technique) || a.transform.localeCompare(b.transform));
    for (const c of ordered) {
      rows.push([
        `${c.technique}/${c.transform}`,
        `${tableLabel(c)}.${c.column}`,
        c.rule,
        c.error ? errorText(c.error.mean, c.error.unit) : '—',
        c.error ? errorText(c.error.median, c.error.unit) : '—',
        fixed(c.sdRatio, 3),
        pct(c.histogramOverlap),
        c.distinctRaw === null || c.distinctMasked === null ? '—' : `${count(c.distinctRaw)}→${count(c.distinctMasked)}`,
      ]);
    }
    lines.push(...table(rows).map((l) => `  ${l}`));
  }
  for (const c of report.utility.correlations) {
    lines.push(`  corr(${tableLabel(c)}.${c.a}, ${c.b}): raw ${fixed(c.raw, 3)} → masked ${fixed(c.masked, 3)}`);
  }
  lines.push('');
  lines.push(`${report.safeHarbor.preset === 'research-date-shift' ? 'Limited data set checklist (research-date-shift)' : 'Safe Harbor checklist'} (${report.safeHarbor.flagged} column(s) kept raw)`);
  for (const k of report.safeHarbor.kinds) {
    if (k.columns.length === 0) {
      lines.push(`  ${String(k.number).padStart(2)}. ${k.kind}: none found`);
      continue;
    }
    lines.push(`  ${String(k.number).padStart(2)}. ${k.kind}:`);
    for (const c of k.columns) {
      lines.push(`      ${c.flagged ? 'FLAG ' : c.meetsSafeHarbor ? 'ok   ' : 'review'} ${tableLabel(c)}.${c.column} — ${c.rule}: ${c.note}`);
    }
  }
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  lines.push('');
  if (report.minK === null) lines.push(`report: done in ${(report.elapsedMs / 1000).toFixed(1)} s (no --min-k gate)`);
  else if (report.ok) lines.push(`report: every declared table meets k≥${report.minK} (${(report.elapsedMs / 1000).toFixed(1)} s)`);
  else {
    const failing = report.risk.tables.filter((t) => t.status === 'measured' && t.meetsMinK === false).map(tableLabel);
    lines.push(`report: k below ${report.minK} in ${failing.join(', ')} (exit 7)`);
  }
  return lines.join('\n');
}
