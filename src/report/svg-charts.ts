/**
 * Inline SVG charts for the HTML report, drawn by hand: the page must make no
 * request, so no chart library is loaded, and two chart kinds do not justify
 * bundling one. Every text is XML-escaped; no `xmlns` (inline SVG in HTML does
 * not need it, and the page carries no URL at all).
 */

export function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** Fill of the error bars (tests look for it in screenshots). */
export const ERROR_BAR_COLOR = '#4a7bb7';

const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

export interface ColumnBar {
  readonly label: string;
  readonly value: number;
  /** shown above the bar */
  readonly caption: string;
  readonly color: string;
}

/**
 * Vertical bars (the equivalence-class size histogram): x = bucket, height =
 * value, on a 0..max scale with four grid lines.
 */
export function columnChart(opts: { readonly title: string; readonly xLabel: string; readonly bars: readonly ColumnBar[]; readonly format: (v: number) => string; readonly width?: number; readonly height?: number; readonly id: string }): string {
  const width = opts.width ?? 560;
  const height = opts.height ?? 280;
  const left = 56;
  const right = 12;
  // room for the caption above the tallest bar, under the title
  const top = 48;
  const bottom = 44;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = niceCeiling(Math.max(1e-12, ...opts.bars.map((b) => b.value)));
  const slot = plotW / Math.max(1, opts.bars.length);
  const parts: string[] = [];
  parts.push(`<text x="${left}" y="18" ${FONT} font-weight="600">${escapeXml(opts.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" ${FONT} text-anchor="end" fill="#555">${escapeXml(opts.format((max * i) / 4))}</text>`);
  }
  opts.bars.forEach((b, i) => {
    const h = (plotH * b.value) / max;
    const x = left + i * slot + slot * 0.15;
    const y = top + plotH - h;
    parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${Math.max(h, 0).toFixed(1)}" fill="${b.color}"><title>${escapeXml(`${b.label}: ${b.caption}`)}</title></rect>`);
    parts.push(`<text x="${(x + slot * 0.35).toFixed(1)}" y="${(y - 4).toFixed(1)}" ${FONT} text-anchor="middle" fill="#333">${escapeXml(b.caption)}</text>`);
    parts.push(`<text x="${(x + slot * 0.35).toFixed(1)}" y="${top + plotH + 16}" ${FONT} text-anchor="middle">${escapeXml(b.label)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push(`<text x="${left + plotW / 2}" y="${height - 6}" ${FONT} text-anchor="middle" fill="#555">${escapeXml(opts.xLabel)}</text>`);
  return `<svg id="${escapeXml(opts.id)}" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(opts.title)}">${parts.join('')}</svg>`;
}

export interface ErrorBar {
  readonly label: string;
  readonly mean: number;
  readonly median: number | null;
  readonly caption: string;
}

/**
 * Horizontal error bars, one row per column: the bar is the mean error, the
 * black tick the median, on one shared axis starting at 0.
 */
export function errorBarChart(opts: { readonly title: string; readonly axisLabel: string; readonly rows: readonly ErrorBar[]; readonly format: (v: number) => string; readonly width?: number; readonly id: string }): string {
  const width = opts.width ?? 1000;
  const rowH = 26;
  const left = 300;
  const right = 230;
  const top = 34;
  const bottom = 36;
  const height = top + bottom + rowH * Math.max(1, opts.rows.length);
  const plotW = width - left - right;
  const max = niceCeiling(Math.max(1e-12, ...opts.rows.flatMap((r) => [r.mean, r.median ?? 0])));
  const x = (v: number) => left + (plotW * v) / max;
  const parts: string[] = [];
  parts.push(`<text x="8" y="18" ${FONT} font-weight="600">${escapeXml(opts.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const gx = x((max * i) / 4);
    parts.push(`<line x1="${gx.toFixed(1)}" x2="${gx.toFixed(1)}" y1="${top - 4}" y2="${height - bottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${gx.toFixed(1)}" y="${height - bottom + 14}" ${FONT} text-anchor="middle" fill="#555">${escapeXml(opts.format((max * i) / 4))}</text>`);
  }
  opts.rows.forEach((r, i) => {
    const y = top + i * rowH;
    // a long table.column is cut to fit the label column; the full name is in the tooltip
    const shown = r.label.length > 46 ? `${r.label.slice(0, 45)}…` : r.label;
    parts.push(`<text x="${left - 8}" y="${y + rowH / 2 + 4}" ${FONT} text-anchor="end">${escapeXml(shown)}<title>${escapeXml(r.label)}</title></text>`);
    const w = Math.max(x(r.mean) - left, 1);
    parts.push(`<rect class="bar" x="${left}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${ERROR_BAR_COLOR}"><title>${escapeXml(`${r.label}: ${r.caption}`)}</title></rect>`);
    if (r.median !== null) {
      const mx = x(r.median);
      parts.push(`<line class="median" x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${y + 2}" y2="${y + rowH - 2}" stroke="#111" stroke-width="2"/>`);
    }
    parts.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + rowH / 2 + 4}" ${FONT} fill="#333">${escapeXml(r.caption)}</text>`);
  });
  parts.push(`<text x="${left + plotW / 2}" y="${height - 6}" ${FONT} text-anchor="middle" fill="#555">${escapeXml(opts.axisLabel)}</text>`);
  return `<svg id="${escapeXml(opts.id)}" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(opts.title)}">${parts.join('')}</svg>`;
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above v: round grid lines. */
export function niceCeiling(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= v - 1e-12 * power) return step * power;
  return 10 * power;
}
