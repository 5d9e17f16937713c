import { count, errorText, fixed, pct } from './format-report.ts';
import { reportMaskedSchemas, tableLabel, type ColumnUtility, type DeclaredTableRisk, type Report } from './report.ts';
import { columnChart, errorBarChart, escapeXml as esc } from './svg-charts.ts';

/**
 * The page's Content-Security-Policy: nothing may load (no script, font, image
 * or connection), only the inline style runs. The page is one file a data
 * owner can attach to a release.
 */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const CSS = `
body { font-family: system-ui, sans-serif; margin: 24px 32px; color: #1d2430; max-width: 1100px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; } .meta { color: #556; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; } th, td { border: 1px solid #d5d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { display: inline-block; padding: 6px 12px; border-radius: 4px; font-weight: 600; margin: 8px 0; }
.pass { background: #e3f4e6; color: #1c6b2c; } .fail { background: #fbe3e3; color: #9b1c1c; } .info { background: #eef2f8; color: #2a4a7a; }
.flag { color: #9b1c1c; font-weight: 600; } summary { cursor: pointer; font-size: 13px; color: #9b1c1c; margin: 6px 0; } .ok { color: #1c6b2c; } .review { color: #8a5a00; }
.legend { font-size: 12px; color: #556; } .chart { display: block; margin: 6px 0 14px; }
`;

/** Bar colors of the class-size histogram (tests look for them in screenshots). */
export const CLASS_COLORS = { below: '#d64545', partly: '#e0a030', above: '#3f9b5a' } as const;

function classColor(min: number, max: number | null, threshold: number): string {
  if (max !== null && max < threshold) return CLASS_COLORS.below;
  if (min < threshold) return CLASS_COLORS.partly;
  return CLASS_COLORS.above;
}

function tableRisk(t: DeclaredTableRisk, report: Report, index: number): string {
  const verdict =
    t.meetsMinK === null
      ? `<span class="verdict info">k = ${t.k}</span>`
      : t.meetsMinK
        ? `<span class="verdict pass">k = ${t.k}: meets k ≥ ${report.minK}</span>`
        : `<span class="verdict fail">k = ${t.k}: below k ≥ ${report.minK}</span>`;
  const chart = columnChart({
    id: `class-sizes-${index}`,
    title: `${tableLabel(t)}: records by equivalence-class size`,
    xLabel: 'class size (records sharing the same quasi-identifier values); bar height: % of records',
    format: (v) => `${v.toFixed(v >= 10 ? 0 : 1)}%`,
    bars: t.histogram.map((b) => ({
      label: b.label,
      value: t.records === 0 ? 0 : (100 * b.records) / t.records,
      caption: `${t.records === 0 ? 0 : ((100 * b.records) / t.records).toFixed(1)}% · ${count(b.classes)} cl.`,
      color: classColor(b.min, b.max, report.riskThreshold),
    })),
  });
  const ldiv = t.lDiversity.length
    ? `<table><tr><th>sensitive column</th><th>distinct l</th><th>entropy l</th><th>classes with one value</th></tr>${t.lDiversity
        .map((l) => `<tr><td>${esc(l.column)}</td><td class="num">${l.distinctL}</td><td class="num">${l.entropyL.toFixed(2)}</td><td class="num">${count(l.classesWithOneValue)}</td></tr>`)
        .join('')}</table>`
    : '<p class="meta">No sensitive column declared (l-diversity not measured).</p>';
  const cells = `<table><tr><th>quasi-identifier alone</th><th>distinct values</th><th>small cells (&lt; 11)</th><th>records in them</th></tr>${t.smallCells
    .map((c) => `<tr><td>${esc(c.column)}</td><td class="num">${count(c.distinctValues)}</td><td class="num">${count(c.smallCells)}</td><td class="num">${count(c.records)}</td></tr>`)
    .join('')}</table>`;
  const failing =
    t.failingClasses.length === 0
      ? ''
      : `<details><summary>${count(t.atRisk.classes)} class(es) smaller than ${report.riskThreshold}: show their masked quasi-identifier values${t.failingClassesTruncated ? ` (first ${t.failingClasses.length})` : ''}</summary>
<table><tr><th>size</th>${t.quasiIdentifiers.map((q) => `<th>${esc(q)}</th>`).join('')}</tr>${t.failingClasses
          .map((f) => `<tr><td class="num">${f.size}</td>${t.quasiIdentifiers.map((q) => `<td>${f.values[q] === null ? '<i>NULL</i>' : esc(String(f.values[q]))}</td>`).join('')}</tr>`)
          .join('')}</table></details>`;
  return `<h3>${esc(tableLabel(t))} — quasi-identifiers: ${t.quasiIdentifiers.map(esc).join(', ')}</h3>
${verdict}
<table>
<tr><th>records</th><th>classes</th><th>k (smallest class)</th><th>at risk (class &lt; ${t.atRisk.threshold})</th><th>sample uniqueness</th></tr>
<tr><td class="num">${count(t.records)}</td><td class="num">${count(t.classes)}</td><td class="num">${t.k}</td>
<td class="num">${count(t.atRisk.records)} records (${t.atRisk.percent.toFixed(2)}%) in ${count(t.atRisk.classes)} classes</td>
<td class="num">${count(t.sampleUniqueness.records)} (${pct(t.sampleUniqueness.share, 2)})</td></tr>
</table>
${chart}
<p class="legend">Red: classes below k = ${report.riskThreshold} (every record in them is at risk); amber: partly below; green: at or above.</p>
${ldiv}
${cells}
${failing}`;
}

function errorCharts(columns: readonly ColumnUtility[]): string {
  const label = (c: ColumnUtility) => `${tableLabel(c)}.${c.column} (${c.transform})`;
  const relative = columns.filter((c) => c.error?.unit === 'relative' && c.error.mean !== null);
  const days = columns.filter((c) => c.error?.unit === 'days' && c.error.mean !== null);
  const parts: string[] = [];
  if (relative.length > 0) {
    parts.push(
      errorBarChart({
        id: 'error-relative',
        title: 'Relative error of numeric columns (bar: mean, tick: median)',
        axisLabel: '|masked − raw| / |raw|',
        format: (v) => pct(v, 1),
        rows: relative.map((c) => ({ label: label(c), mean: c.error!.mean!, median: c.error!.median, caption: `mean ${errorText(c.error!.mean, 'relative')}, median ${errorText(c.error!.median, 'relative')}` })),
      }),
    );
  }
  if (days.length > 0) {
    parts.push(
      errorBarChart({
        id: 'error-days',
        title: 'Error of dates, in days (bar: mean, tick: median)',
        axisLabel: '|masked − raw| in days',
        format: (v) => v.toFixed(1),
        rows: days.map((c) => ({ label: label(c), mean: c.error!.mean!, median: c.error!.median, caption: `mean ${errorText(c.error!.mean, 'days')}, median ${errorText(c.error!.median, 'days')}` })),
      }),
    );
  }
  return parts.join('\n');
}

/** The report as one self-contained HTML page: inline CSS and SVG, no script, no URL, a CSP that forbids loading anything. */
export function renderReportHtml(report: Report): string {
  const declared = report.risk.tables.filter((t): t is DeclaredTableRisk => t.status === 'measured');
  const undeclared = report.risk.tables.filter((t) => t.status === 'not declared').map(tableLabel);
  const overall =
    report.minK === null
      ? `<div class="verdict info">No k threshold given (at-risk figures use k = ${report.riskThreshold})</div>`
      : report.ok
        ? `<div class="verdict pass">Every declared table meets k ≥ ${report.minK}</div>`
        : `<div class="verdict fail">k below ${report.minK} in ${declared.filter((t) => t.meetsMinK === false).map((t) => esc(tableLabel(t))).join(', ')}</div>`;
  const utilityRows = [...report.utility.columns]
    .sort((a, b) => a.technique.localeCompare(b.technique) || a.transform.localeCompare(b.transform))
    .map(
      (c) => `<tr><td>${c.technique}</td><td>${esc(c.transform)}</td><td>${esc(`${tableLabel(c)}.${c.column}`)}</td><td><code>${esc(c.rule)}</code></td>
<td class="num">${c.error ? errorText(c.error.mean, c.error.unit) : '—'}</td><td class="num">${c.error ? errorText(c.error.median, c.error.unit) : '—'}</td>
<td class="num">${fixed(c.sdRatio, 3)}</td><td class="num">${pct(c.histogramOverlap)}</td><td class="num">${c.distinctRaw === null || c.distinctMasked === null ? '—' : `${count(c.distinctRaw)} → ${count(c.distinctMasked)}`}</td><td class="num">${c.informationLoss === null ? '—' : pct(c.informationLoss)}</td></tr>`,
    )
    .join('');
  const correlations = report.utility.correlations.length
    ? `<table><tr><th>table</th><th>columns</th><th>corr raw</th><th>corr masked</th><th>difference</th></tr>${report.utility.correlations
        .map((c) => `<tr><td>${esc(tableLabel(c))}</td><td>${esc(c.a)} × ${esc(c.b)}</td><td class="num">${fixed(c.raw, 3)}</td><td class="num">${fixed(c.masked, 3)}</td><td class="num">${fixed(c.difference, 3)}</td></tr>`)
        .join('')}</table>`
    : '<p class="meta">No pair of numeric or date columns with a masked side.</p>';
  const signals = report.utility.signals.length
    ? `<h3>Signals</h3><table><tr><th>column</th><th>rule</th><th>signals</th><th>SNR dB (mean, min–max)</th><th>correlation (mean, min)</th>${report.utility.signals[0]!.bandPowerError.map((b) => `<th>band power error ${esc(b.band)}</th>`).join('')}</tr>${report.utility.signals
        .map(
          (g) =>
            `<tr><td>${esc(`${tableLabel(g)}.${g.column}`)}</td><td><code>${esc(g.rule)}</code></td><td class="num">${count(g.signals)}</td><td class="num">${fixed(g.snrDb.mean, 2)} (${fixed(g.snrDb.min, 2)}–${fixed(g.snrDb.max, 2)})</td><td class="num">${fixed(g.correlation.mean, 4)} (${fixed(g.correlation.min, 4)})</td>${g.bandPowerError.map((b) => `<td class="num">${pct(b.meanRelativeError)}</td>`).join('')}</tr>`,
        )
        .join('')}</table>`
    : '';
  const harbor = report.safeHarbor.kinds
    .map((k) => {
      if (k.columns.length === 0) return `<tr><td class="num">${k.number}</td><td>${esc(k.kind)}</td><td colspan="3" class="meta">none found</td></tr>`;
      return k.columns
        .map(
          (c, i) =>
            `<tr>${i === 0 ? `<td class="num" rowspan="${k.columns.length}">${k.number}</td><td rowspan="${k.columns.length}">${esc(k.kind)}</td>` : ''}<td>${esc(`${tableLabel(c)}.${c.column}`)}</td><td><code>${esc(c.rule)}</code></td><td class="${c.flagged ? 'flag' : c.meetsSafeHarbor ? 'ok' : 'review'}">${c.flagged ? 'FLAGGED: ' : c.meetsSafeHarbor ? '' : 'review: '}${esc(c.note)}</td></tr>`,
        )
        .join('');
    })
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pgmask report — ${esc(report.database)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Re-identification risk and utility report</h1>
<p class="meta">Database <b>${esc(report.database)}</b> · policy ${esc(report.policy.file)} (sha256 ${esc(report.policy.hash.slice(0, 16))}) · masked schema${reportMaskedSchemas(report).length > 1 ? 's' : ''} ${esc(reportMaskedSchemas(report).join(', '))} · generated ${esc(report.generatedAt)}</p>
${overall}
${report.warnings.map((w) => `<p class="review">Warning: ${esc(w)}</p>`).join('\n')}
<h2>1. Re-identification risk</h2>
<p class="meta">Measured on the masked views as <b>${esc(report.risk.role)}</b> (${esc(report.risk.impersonation)}${report.risk.maskingRole ? `; a login member of ${esc(report.risk.maskingRole)}, which cannot reach the Citus workers itself` : ''}): exactly what analysts see. An equivalence class is a set of records with the same quasi-identifier values; k is the size of the smallest class.</p>
${declared.map((t, i) => tableRisk(t, report, i)).join('\n')}
${undeclared.length ? `<p class="meta">Quasi-identifiers not declared (not measured): ${undeclared.map(esc).join(', ')}.</p>` : ''}
<h2>2. Utility: masked compared with raw</h2>
<p class="meta">Computed in the database as ${esc(report.utility.computedAs)}: each masked value next to its raw value, aggregated in SQL. No raw value appears in this report.</p>
${errorCharts(report.utility.columns)}
<table><tr><th>technique</th><th>transform</th><th>column</th><th>rule</th><th>mean error</th><th>median error</th><th>sd ratio</th><th>histogram overlap</th><th>distinct raw → masked</th><th>information lost</th></tr>${utilityRows || '<tr><td colspan="10" class="meta">no perturbed or generalized column</td></tr>'}</table>
<p class="legend">Mean / median error: how far a masked value is from the true one (numbers: relative to the value; dates: in days). SD ratio: spread of the masked values ÷ spread of the true ones (1 = kept). Histogram overlap: share of the distribution that is the same in 20 equal bins (100% = identical). Distinct raw → masked and information lost: how many distinct values a generalization merged.</p>
<h3>Correlations between numeric columns</h3>
${correlations}
${signals}
<h2>3. HIPAA Safe Harbor checklist</h2>
<p class="meta">${esc(report.safeHarbor.classifier)}. ${report.safeHarbor.flagged} column(s) kept raw.</p>
<table><tr><th>#</th><th>identifier kind</th><th>column</th><th>rule</th><th>handling</th></tr>${harbor}</table>
</body>
</html>
`;
}
